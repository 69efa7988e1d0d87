-- segment Hostile, as of 2026-06-30T00:00:00Z, for postgres
-- one row per member: Cust?omer.I?d
WITH
-- groups[0]
"group1" AS (
  SELECT "c"."I'd"
  FROM "Cust""omer" AS "c"
  WHERE
    -- groups[0].condition.or[0]
    "c"."Na'me -- */" COLLATE "C" = 'O''Brien \ "x" -- /* */ ; DROP TABLE x;'
    OR
    -- groups[0].condition.or[1]
    "c"."Na'me -- */" COLLATE "C" IN (('line' || chr(10) || 'break'), ('tab' || chr(9) || 'here'), 'ümlaut ∑ 😀')
    OR
    -- groups[0].condition.or[2]
    "c"."Na'me -- */" COLLATE "C" ~ '[Ii][Tt]''[Ssſ] \[\*\?\] \\'
    OR
    -- groups[0].condition.or[3]
    "c"."I'd" COLLATE "C" IN (
      SELECT "r0"."Cust""omer Id" COLLATE "C"
      FROM "Or`der" AS "r0"
      WHERE "r0"."Cust""omer Id" IS NOT NULL AND "r0"."Ch]an[nel" COLLATE "C" LIKE '\%\_\\%' ESCAPE '\'
    )
)
SELECT "I'd" FROM "group1"
