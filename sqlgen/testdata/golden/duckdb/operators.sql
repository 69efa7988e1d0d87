-- segment Operators, as of 2026-06-30T00:00:00Z, for duckdb
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
    "c"."Country" = 'US'
    AND
    -- groups[0].condition.and[10]
    regexp_matches("c"."Country", '^[Ää][Rr][Gg][Ee][Rr]$')
    AND
    (
      -- groups[0].condition.and[11]
      regexp_matches("c"."Country", '^[Uu][Ssſ]$') OR regexp_matches("c"."Country", '^[Cc][Aa]$')
    )
    AND
    -- groups[0].condition.and[12]
    "c"."Country" NOT IN ('BR', 'JP')
    AND
    -- groups[0].condition.and[13]
    NOT (regexp_matches("c"."Country", '^[KkK][Ee][Ll][Vv][Ii][Nn]$'))
    AND
    -- groups[0].condition.and[14]
    "c"."Country" >= 'M'
    AND
    -- groups[0].condition.and[15]
    regexp_matches("c"."Email", '[Ssſ][Hh][Oo][Pp]')
    AND
    -- groups[0].condition.and[16]
    NOT (contains("c"."Email", '100%_off'))
    AND
    -- groups[0].condition.and[17]
    starts_with("c"."FirstName", 'An*?[')
    AND
    -- groups[0].condition.and[18]
    regexp_matches("c"."Email", '@[Ee][Xx][Aa][Mm][Pp][Ll][Ee]\.[Cc][Oo][Mm]$')
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
        "c"."Country" IS NOT NULL AND (regexp_matches("c"."Country", '^[Dd][Ee]$') OR regexp_matches("c"."Country", '^[Aa][Tt]$'))
      )
      OR
      (
        -- groups[0].condition.and[28].not.or[1]
        "c"."LastSeen" IS NOT NULL AND "c"."LastSeen" <= CAST('2025-12-31T23:59:59.999999Z' AS TIMESTAMPTZ)
      )
    )
)
SELECT "CustomerId" FROM "group1"
