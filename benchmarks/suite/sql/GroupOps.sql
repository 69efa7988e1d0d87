-- Groups combine left to right: ((g1 UNION g2) INTERSECT g3) EXCEPT g4.
-- Every group is a two-valued condition on a customer, so the set
-- operations are OR, AND and AND NOT of the conditions (in DuckDB about
-- twice as fast as UNION/INTERSECT/EXCEPT of four selects, same result).
-- Predicates on Order and SupportCase are any-row conditions.
SELECT c.CustomerId
FROM Customer c
WHERE (coalesce(c.Country IN ('US', 'CA'), false)
       OR c.CustomerId IN (SELECT o.CustomerId FROM "Order" o WHERE o.Channel = 'app'))
  AND coalesce(c.Age > 30, false)
  AND c.CustomerId NOT IN (SELECT k.CustomerId FROM SupportCase k
                           WHERE k.Priority = 'urgent' AND k.CustomerId IS NOT NULL)
