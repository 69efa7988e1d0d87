-- The ten most frequent non-null countries with their customer counts,
-- most frequent first, ties by value ascending (byte order).
SELECT Country AS value, count(*) AS customers
FROM Customer
WHERE Country IS NOT NULL
GROUP BY Country
ORDER BY customers DESC, value ASC
LIMIT 10
