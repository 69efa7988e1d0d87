-- segment HighValueEscalated, as of 2026-06-30T00:00:00Z, for sqlite
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
"group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[0].condition.and[0]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "sums"."cust" AS "cust", "sums"."sum" AS "value"
        FROM (
          WITH RECURSIVE
          "numbered" AS (
            SELECT "rows"."cust" AS "cust", "rows"."v" AS "v",
              ROW_NUMBER() OVER (PARTITION BY "rows"."cust" ORDER BY "rows"."ord") AS "i",
              COUNT(*) OVER (PARTITION BY "rows"."cust") AS "n"
            FROM (
              SELECT "r0"."CustomerId" AS "cust", "r0"."Amount" AS "v", "r0".rowid AS "ord"
              FROM "Order" AS "r0"
              WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."OrderDate" BETWEEN '2026-04-01' AND '2026-06-30' AND "r0"."Amount" IS NOT NULL
            ) AS "rows"
          ),
          "running" AS (
            SELECT "cust", "i", "n", "v" AS "sum" FROM "numbered" WHERE "i" = 1
            UNION ALL
            SELECT "numbered"."cust", "numbered"."i", "numbered"."n", "running"."sum" + "numbered"."v"
            FROM "running" JOIN "numbered" ON "numbered"."cust" = "running"."cust" AND "numbered"."i" = "running"."i" + 1
          )
          SELECT "cust", "sum", "n" AS "count" FROM "running" WHERE "i" = "n"
        ) AS "sums"
      ) AS "a"
      WHERE "a"."value" >= 500.0
    )
    AND
    -- groups[0].condition.and[1]
    "c"."CustomerId" IN (
      SELECT "r0"."CustomerId"
      FROM "SupportCase" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."Escalated" = 1
    )
),
-- groups[1]: except
"group2" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[1].condition
    "c"."Country" IN ('BR', 'JP')
)
SELECT "CustomerId" FROM "group1"
EXCEPT
SELECT "CustomerId" FROM "group2"
