-- ignoreCase: the emails are ASCII, where lower() is simple case folding.
SELECT c.CustomerId
FROM Customer c
WHERE coalesce(contains(lower(c.Email), 'and'), false)
