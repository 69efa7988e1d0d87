-- match all: at least one related row (the group exists), and every row
-- satisfies the condition, a null channel failing it (bool_and over
-- coalesce(.., false)). The join with Customer leaves out dangling keys.
-- (Faster in DuckDB than EXISTS .. AND NOT EXISTS .., with the same result.)
WITH a AS (
  SELECT CustomerId
  FROM "Order"
  GROUP BY CustomerId
  HAVING bool_and(coalesce(Channel IN ('web', 'app'), false))
)
SELECT c.CustomerId
FROM Customer c
JOIN a ON a.CustomerId = c.CustomerId
