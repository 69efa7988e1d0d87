SELECT c.CustomerId
FROM Customer c
WHERE coalesce(c.IsVip, false)
  AND NOT EXISTS (SELECT 1 FROM "Order" o
                  WHERE o.CustomerId = c.CustomerId
                    AND o.OrderDate BETWEEN {{asof}} - 180 AND {{asof}})
