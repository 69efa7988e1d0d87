-- max over no non-null dates is null, and any comparison with it false.
WITH m AS (
  SELECT CustomerId, max(OrderDate) AS v
  FROM "Order"
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN m ON m.CustomerId = c.CustomerId
WHERE coalesce(m.v BETWEEN {{asof}} - 30 AND {{asof}}, false)
