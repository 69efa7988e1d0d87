-- sum over no rows (or only null amounts) is 0: LEFT JOIN and coalesce.
-- inLastDays 90 on a date: D-90 <= d <= D.
WITH spend AS (
  SELECT CustomerId, sum(Amount) AS v
  FROM "Order"
  WHERE OrderDate BETWEEN {{asof}} - 90 AND {{asof}}
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN spend s ON s.CustomerId = c.CustomerId
WHERE coalesce(s.v, 0) >= 500
  AND EXISTS (SELECT 1 FROM SupportCase k
              WHERE k.CustomerId = c.CustomerId AND k.Escalated)
