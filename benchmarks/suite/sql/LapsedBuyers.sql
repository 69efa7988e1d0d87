WITH m AS (
  SELECT CustomerId, max(OrderDate) AS v
  FROM "Order"
  GROUP BY CustomerId
)
SELECT c.CustomerId
FROM Customer c
LEFT JOIN m ON m.CustomerId = c.CustomerId
WHERE coalesce(m.v < DATE '2024-07-01', false)
