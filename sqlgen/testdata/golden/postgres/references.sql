-- segment References, as of 2026-06-30T00:00:00Z, for postgres
-- one row per member: Customer.CustomerId
WITH
-- segments.Vips.groups[0]
"Vips_group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- segments.Vips.groups[0].condition
    "c"."IsVip" = TRUE
),
-- segments.Vips.groups[1]: intersect
"Vips_group2" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- segments.Vips.groups[1].condition
    "c"."Country" COLLATE "C" IN ('US', 'CA')
),
-- segment Vips
"Vips" AS (
  SELECT "CustomerId" FROM "Vips_group1"
  INTERSECT
  SELECT "CustomerId" FROM "Vips_group2"
),
-- groups[0]
"group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[0].condition.or[0]
    "c"."CustomerId" COLLATE "C" IN (
      SELECT "t"."CustomerId" COLLATE "C"
      FROM "frozen_members" AS "t"
      WHERE "t"."CustomerId" IS NOT NULL
    )
    OR
    -- groups[0].condition.or[1]
    "c"."CustomerId" COLLATE "C" IN (
      SELECT "CustomerId" COLLATE "C" FROM "Vips"
    )
),
-- groups[1]: except
"group2" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    NOT (
      -- groups[1].condition.not
      "c"."CustomerId" COLLATE "C" IN (
        SELECT "CustomerId" COLLATE "C" FROM "Vips"
      )
    )
)
SELECT "CustomerId" FROM "group1"
EXCEPT
SELECT "CustomerId" FROM "group2"
