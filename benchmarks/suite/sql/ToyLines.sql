-- OrderLine -> Order -> Customer; lines whose order dangles reach no
-- customer, nor do orders whose customer dangles.
SELECT c.CustomerId
FROM Customer c
WHERE c.CustomerId IN (SELECT o.CustomerId
                       FROM OrderLine l JOIN "Order" o ON o.OrderId = l.OrderId
                       WHERE l.Category IN ('Toys', 'Games')
                         AND l.Quantity >= 3)
