-- count over no rows is 0.
WITH n AS (
  SELECT CustomerId, count(*) AS v
  FROM "Order"
  WHERE OrderDate BETWEEN {{asof}} - 365 AND {{asof}}
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN n ON n.CustomerId = c.CustomerId
WHERE coalesce(n.v, 0) >= 8
