-- segment Operators, as of 2026-06-30T00:00:00Z, for postgres
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
"group1" AS (
  SELECT "c"."CustomerId"
  FROM "Customer" AS "c"
  WHERE
    -- groups[0].condition.and[0]
    "c"."Age" = 30
    AND
    -- groups[0].condition.and[1]
    "c"."Age" IS NOT NULL
    AND
    -- groups[0].condition.and[2]
    "c"."Age" IN (18, 65)
    AND
    -- groups[0].condition.and[3]
    "c"."Age" NOT IN (1, 2)
    AND
    -- groups[0].condition.and[4]
    "c"."Age" >= 31
    AND
    -- groups[0].condition.and[5]
    "c"."Age" BETWEEN 18 AND 65
    AND
    -- groups[0].condition.and[6]
    "c"."Age" <= 0
    AND
    -- groups[0].condition.and[7]
    "c"."Age" IS NULL
    AND
    -- groups[0].condition.and[8]
    "c"."Age" IS NOT NULL
    AND
    -- groups[0].condition.and[9]
    "c"."Country" COLLATE "C" = 'US'
    AND
    -- groups[0].condition.and[10]
    "c"."Country" COLLATE "C" ~ '^[Ää][Rr][Gg][Ee][Rr]$'
    AND
    (
      -- groups[0].condition.and[11]
      "c"."Country" COLLATE "C" ~ '^[Uu][Ssſ]$' OR "c"."Country" COLLATE "C" ~ '^[Cc][Aa]$'
    )
    AND
    -- groups[0].condition.and[12]
    "c"."Country" COLLATE "C" NOT IN ('BR', 'JP')
    AND
    -- groups[0].condition.and[13]
    NOT ("c"."Country" COLLATE "C" ~ '^[KkK][Ee][Ll][Vv][Ii][Nn]$')
    AND
    -- groups[0].condition.and[14]
    "c"."Country" COLLATE "C" >= 'M'
    AND
    -- groups[0].condition.and[15]
    "c"."Email" COLLATE "C" ~ '[Ssſ][Hh][Oo][Pp]'
    AND
    -- groups[0].condition.and[16]
    NOT ("c"."Email" COLLATE "C" LIKE '%100\%\_off%' ESCAPE '\')
    AND
    -- groups[0].condition.and[17]
    "c"."FirstName" COLLATE "C" LIKE 'An*?[%' ESCAPE '\'
    AND
    -- groups[0].condition.and[18]
    "c"."Email" COLLATE "C" ~ '@[Ee][Xx][Aa][Mm][Pp][Ll][Ee]\.[Cc][Oo][Mm]$'
    AND
    -- groups[0].condition.and[19]
    "c"."IsVip" = TRUE
    AND
    -- groups[0].condition.and[20]
    "c"."IsVip" = FALSE
    AND
    -- groups[0].condition.and[21]
    "c"."SignupDate" <= CAST('2023-12-31' AS DATE)
    AND
    -- groups[0].condition.and[22]
    "c"."SignupDate" BETWEEN CAST('2026-05-31' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND
    -- groups[0].condition.and[23]
    "c"."SignupDate" BETWEEN CAST('2025-11-24' AS DATE) AND CAST('2025-12-01' AS DATE)
    AND
    -- groups[0].condition.and[24]
    "c"."LastSeen" >= CAST('2026-06-30T00:00:00Z' AS TIMESTAMPTZ)
    AND
    -- groups[0].condition.and[25]
    "c"."LastSeen" BETWEEN CAST('2026-06-30T00:00:00Z' AS TIMESTAMPTZ) AND CAST('2026-07-07T00:00:00Z' AS TIMESTAMPTZ)
    AND
    -- groups[0].condition.and[26]
    "c"."LastSeen" = CAST('2026-06-30T12:00:00.5Z' AS TIMESTAMPTZ)
    AND
    NOT (
      -- groups[0].condition.and[27].not
      "c"."Age" IS NOT NULL AND "c"."Age" >= 31
    )
    AND
    NOT (
      (
        -- groups[0].condition.and[28].not.or[0]
        "c"."Country" IS NOT NULL AND ("c"."Country" COLLATE "C" ~ '^[Dd][Ee]$' OR "c"."Country" COLLATE "C" ~ '^[Aa][Tt]$')
      )
      OR
      (
        -- groups[0].condition.and[28].not.or[1]
        "c"."LastSeen" IS NOT NULL AND "c"."LastSeen" <= CAST('2025-12-31T23:59:59.999999Z' AS TIMESTAMPTZ)
      )
    )
)
SELECT "CustomerId" FROM "group1"
