-- segment Operators, as of 2026-06-30T00:00:00Z, for trino
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
    translate("c"."Country", 'ÄäRrGgEe', 'ÄÄRRGGEE') = 'ÄRGER'
    AND
    (
      -- groups[0].condition.and[11]
      translate("c"."Country", 'UuSsſ', 'UUSSS') = 'US' OR translate("c"."Country", 'CcAa', 'CCAA') = 'CA'
    )
    AND
    -- groups[0].condition.and[12]
    "c"."Country" NOT IN ('BR', 'JP')
    AND
    -- groups[0].condition.and[13]
    NOT (translate("c"."Country", 'KkKEeLlVvIiNn', 'KKKEELLVVIINN') = 'KELVIN')
    AND
    -- groups[0].condition.and[14]
    "c"."Country" >= 'M'
    AND
    -- groups[0].condition.and[15]
    strpos(translate("c"."Email", 'SsſHhOoPp', 'SSSHHOOPP'), 'SHOP') > 0
    AND
    -- groups[0].condition.and[16]
    NOT (strpos("c"."Email", '100%_off') > 0)
    AND
    -- groups[0].condition.and[17]
    substr("c"."FirstName", 1, 5) = 'An*?['
    AND
    -- groups[0].condition.and[18]
    substr(translate("c"."Email", 'EeXxAaMmPpLlCcOo', 'EEXXAAMMPPLLCCOO'), -12) = '@EXAMPLE.COM'
    AND
    -- groups[0].condition.and[19]
    "c"."IsVip" = TRUE
    AND
    -- groups[0].condition.and[20]
    "c"."IsVip" = FALSE
    AND
    -- groups[0].condition.and[21]
    "c"."SignupDate" <= DATE '2023-12-31'
    AND
    -- groups[0].condition.and[22]
    "c"."SignupDate" BETWEEN DATE '2026-05-31' AND DATE '2026-06-30'
    AND
    -- groups[0].condition.and[23]
    "c"."SignupDate" BETWEEN DATE '2025-11-24' AND DATE '2025-12-01'
    AND
    -- groups[0].condition.and[24]
    "c"."LastSeen" >= TIMESTAMP '2026-06-30 00:00:00.000000 UTC'
    AND
    -- groups[0].condition.and[25]
    "c"."LastSeen" BETWEEN TIMESTAMP '2026-06-30 00:00:00.000000 UTC' AND TIMESTAMP '2026-07-07 00:00:00.000000 UTC'
    AND
    -- groups[0].condition.and[26]
    "c"."LastSeen" = TIMESTAMP '2026-06-30 12:00:00.500000 UTC'
    AND
    NOT (
      -- groups[0].condition.and[27].not
      "c"."Age" IS NOT NULL AND "c"."Age" >= 31
    )
    AND
    NOT (
      (
        -- groups[0].condition.and[28].not.or[0]
        "c"."Country" IS NOT NULL AND (translate("c"."Country", 'DdEe', 'DDEE') = 'DE' OR translate("c"."Country", 'AaTt', 'AATT') = 'AT')
      )
      OR
      (
        -- groups[0].condition.and[28].not.or[1]
        "c"."LastSeen" IS NOT NULL AND "c"."LastSeen" <= TIMESTAMP '2025-12-31 23:59:59.999999 UTC'
      )
    )
)
SELECT "CustomerId" FROM "group1"
