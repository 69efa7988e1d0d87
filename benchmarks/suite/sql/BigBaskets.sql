-- notEquals is false on null; avg uses the non-null amounts and is null
-- over none, which fails the comparison.
WITH a AS (
  SELECT CustomerId, avg(Amount) AS v
  FROM "Order"
  WHERE Channel <> 'store'
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN a ON a.CustomerId = c.CustomerId
WHERE coalesce(a.v >= 80, false)
