-- countDistinct counts distinct non-null values; 0 over no rows.
WITH d AS (
  SELECT CustomerId, count(DISTINCT Channel) AS v
  FROM "Order"
  WHERE OrderDate BETWEEN {{asof}} - 365 AND {{asof}}
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN d ON d.CustomerId = c.CustomerId
WHERE coalesce(d.v, 0) >= 3
