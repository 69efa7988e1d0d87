-- segment Related, as of 2026-06-30T00:00:00Z, for sqlite
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
"group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[0].condition.or[0]
    "c"."CustomerId" IN (
      SELECT "r0"."CustomerId"
      FROM "Order" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL
    )
    OR
    -- groups[0].condition.or[1]
    "c"."CustomerId" IN (
      SELECT "r0"."CustomerId"
      FROM "Order" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL
      GROUP BY "r0"."CustomerId"
      HAVING MIN(CASE WHEN "r0"."Channel" = 'store' THEN 1 ELSE 0 END) = 1
    )
    OR
    -- groups[0].condition.or[2]
    "c"."CustomerId" NOT IN (
      SELECT "r0"."CustomerId"
      FROM "SupportCase" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."Escalated" = 1
    )
    OR
    -- groups[0].condition.or[3]
    "c"."CustomerId" IN (
      SELECT "r0"."CustomerId"
      FROM "Order" AS "r0"
      WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."Channel" = 'web'
    )
    OR
    -- groups[0].condition.or[4]
    "c"."CustomerId" IN (
      SELECT "r1"."CustomerId"
      FROM "OrderLine" AS "r0"
      JOIN "Order" AS "r1" ON "r1"."OrderId" = "r0"."OrderId"
      WHERE "r1"."CustomerId" IS NOT NULL AND "r0"."Category" = 'Electronics' AND NOT ("r0"."Price" IS NOT NULL AND "r0"."Price" < 10.0)
    )
    OR
    -- groups[0].condition.or[5]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "r0"."CustomerId" AS "cust", COUNT(*) AS "value"
        FROM "Order" AS "r0"
        WHERE "r0"."CustomerId" IS NOT NULL
        GROUP BY "r0"."CustomerId"
      ) AS "a"
      WHERE "a"."value" >= 10
    )
    OR
    -- groups[0].condition.or[6]
    (
      "c"."CustomerId" IN (
        SELECT "a"."cust"
        FROM (
          SELECT "r0"."CustomerId" AS "cust", COUNT(*) AS "value"
          FROM "Order" AS "r0"
          WHERE "r0"."CustomerId" IS NOT NULL
          GROUP BY "r0"."CustomerId"
        ) AS "a"
        WHERE "a"."value" = 0
      )
      OR
      -- no rows: the value is 0 (a count)
      "c"."CustomerId" NOT IN (
        SELECT "r0"."CustomerId"
        FROM "Order" AS "r0"
        WHERE "r0"."CustomerId" IS NOT NULL
      )
    )
    OR
    -- groups[0].condition.or[7]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "r1"."CustomerId" AS "cust", COUNT(DISTINCT "r0"."Category") AS "value"
        FROM "OrderLine" AS "r0"
        JOIN "Order" AS "r1" ON "r1"."OrderId" = "r0"."OrderId"
        WHERE "r1"."CustomerId" IS NOT NULL
        GROUP BY "r1"."CustomerId"
      ) AS "a"
      WHERE "a"."value" >= 4
    )
    OR
    -- groups[0].condition.or[8]
    (
      "c"."CustomerId" IN (
        SELECT "a"."cust"
        FROM (
          SELECT "r1"."CustomerId" AS "cust", (CAST(SUM("r0"."Quantity" >> 32) AS REAL) * 4294967296.0 + CAST(SUM("r0"."Quantity" & 4294967295) AS REAL)) AS "value"
          FROM "OrderLine" AS "r0"
          JOIN "Order" AS "r1" ON "r1"."OrderId" = "r0"."OrderId"
          WHERE "r1"."CustomerId" IS NOT NULL AND "r0"."Quantity" IS NOT NULL
          GROUP BY "r1"."CustomerId"
        ) AS "a"
        WHERE "a"."value" < 5.0
      )
      OR
      -- no rows: the value is 0 (a sum)
      "c"."CustomerId" NOT IN (
        SELECT "r1"."CustomerId"
        FROM "OrderLine" AS "r0"
        JOIN "Order" AS "r1" ON "r1"."OrderId" = "r0"."OrderId"
        WHERE "r1"."CustomerId" IS NOT NULL AND "r0"."Quantity" IS NOT NULL
      )
    )
    OR
    -- groups[0].condition.or[9]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "sums"."cust" AS "cust", "sums"."sum" / "sums"."count" AS "value"
        FROM (
          WITH RECURSIVE
          "numbered" AS (
            SELECT "rows"."cust" AS "cust", "rows"."v" AS "v",
              ROW_NUMBER() OVER (PARTITION BY "rows"."cust" ORDER BY "rows"."ord") AS "i",
              COUNT(*) OVER (PARTITION BY "rows"."cust") AS "n"
            FROM (
              SELECT "r0"."CustomerId" AS "cust", "r0"."Amount" AS "v", "r0".rowid AS "ord"
              FROM "Order" AS "r0"
              WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."Amount" IS NOT NULL
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
      WHERE "a"."value" BETWEEN 50.0 AND 100.0
    )
    OR
    -- groups[0].condition.or[10]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "r1"."CustomerId" AS "cust", (CAST(SUM("r0"."Quantity" >> 32) AS REAL) * 4294967296.0 + CAST(SUM("r0"."Quantity" & 4294967295) AS REAL)) / COUNT(*) AS "value"
        FROM "OrderLine" AS "r0"
        JOIN "Order" AS "r1" ON "r1"."OrderId" = "r0"."OrderId"
        WHERE "r1"."CustomerId" IS NOT NULL AND "r0"."Quantity" IS NOT NULL
        GROUP BY "r1"."CustomerId"
      ) AS "a"
      WHERE "a"."value" > 2.5
    )
    OR
    -- groups[0].condition.or[11]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "r0"."CustomerId" AS "cust", MIN("r0"."OrderDate") AS "value"
        FROM "Order" AS "r0"
        WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."OrderDate" IS NOT NULL
        GROUP BY "r0"."CustomerId"
      ) AS "a"
      WHERE "a"."value" <= '2023-12-31'
    )
    OR
    -- groups[0].condition.or[12]
    "c"."CustomerId" IN (
      SELECT "a"."cust"
      FROM (
        SELECT "r0"."CustomerId" AS "cust", MAX("r0"."OrderDate") AS "value"
        FROM "Order" AS "r0"
        WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."OrderDate" IS NOT NULL
        GROUP BY "r0"."CustomerId"
      ) AS "a"
      WHERE "a"."value" BETWEEN '2026-05-31' AND '2026-06-30'
    )
    OR
    NOT (
      -- groups[0].condition.or[13].not
      "c"."CustomerId" IN (
        SELECT "a"."cust"
        FROM (
          SELECT "sums_2"."cust" AS "cust", "sums_2"."sum" AS "value"
          FROM (
            WITH RECURSIVE
            "numbered_2" AS (
              SELECT "rows"."cust" AS "cust", "rows"."v" AS "v",
                ROW_NUMBER() OVER (PARTITION BY "rows"."cust" ORDER BY "rows"."ord") AS "i",
                COUNT(*) OVER (PARTITION BY "rows"."cust") AS "n"
              FROM (
                SELECT "r0"."CustomerId" AS "cust", "r0"."Amount" AS "v", "r0".rowid AS "ord"
                FROM "Order" AS "r0"
                WHERE "r0"."CustomerId" IS NOT NULL AND "r0"."OrderDate" BETWEEN '2025-06-30' AND '2026-06-30' AND "r0"."Amount" IS NOT NULL
              ) AS "rows"
            ),
            "running_2" AS (
              SELECT "cust", "i", "n", "v" AS "sum" FROM "numbered_2" WHERE "i" = 1
              UNION ALL
              SELECT "numbered_2"."cust", "numbered_2"."i", "numbered_2"."n", "running_2"."sum" + "numbered_2"."v"
              FROM "running_2" JOIN "numbered_2" ON "numbered_2"."cust" = "running_2"."cust" AND "numbered_2"."i" = "running_2"."i" + 1
            )
            SELECT "cust", "sum", "n" AS "count" FROM "running_2" WHERE "i" = "n"
          ) AS "sums_2"
        ) AS "a"
        WHERE "a"."value" > 0.0
      )
    )
)
SELECT "CustomerId" FROM "group1"
