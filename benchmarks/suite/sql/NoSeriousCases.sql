-- match none: no related row satisfies the condition. The subquery drops
-- null keys, which would make NOT IN null for everyone.
SELECT c.CustomerId
FROM Customer c
WHERE c.CustomerId NOT IN (SELECT k.CustomerId FROM SupportCase k
                           WHERE k.Priority IN ('high', 'urgent')
                             AND k.CustomerId IS NOT NULL)
