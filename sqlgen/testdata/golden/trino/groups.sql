-- segment Groups, as of 2026-06-30T00:00:00Z, for trino
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
"group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[0].condition
    "c"."Country" = 'US'
),
-- groups[1]: union
"group2" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[1].condition
    "c"."IsVip" = TRUE
),
-- groups[2]: intersect
"group3" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[2].condition
    "c"."CustomerId" IN (
      SELECT "r0"."CustomerId"
      FROM "Order" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL
    )
),
-- groups[3]: except
"group4" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    NOT (
      -- groups[3].condition.not
      "c"."Age" IS NOT NULL AND "c"."Age" >= 31
    )
)
SELECT "CustomerId" FROM (
  SELECT "CustomerId" FROM "group1"
  UNION
  SELECT "CustomerId" FROM "group2"
) AS "groups1to2"
INTERSECT
SELECT "CustomerId" FROM "group3"
EXCEPT
SELECT "CustomerId" FROM "group4"
