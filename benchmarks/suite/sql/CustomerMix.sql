-- Predicates on a null value are false: each is wrapped in coalesce(.., false)
-- so that NOT is the plain complement.
SELECT c.CustomerId
FROM Customer c
WHERE coalesce(c.Age BETWEEN 25 AND 60, false)
  AND coalesce(c.Country IN ('US', 'GB', 'DE', 'FR', 'NL'), false)
  AND (coalesce(c.IsVip, false)
       OR coalesce(c.SignupDate >= DATE '2024-01-01', false)
       OR NOT coalesce(suffix(c.Email, 'gmail.com'), false))
  AND coalesce(c.Age <> 40, false)
