-- segment Operators, as of 2026-06-30T00:00:00Z, for sqlite
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
    "c"."Country" GLOB '[Ää][Rr][Gg][Ee][Rr]'
    AND
    (
      -- groups[0].condition.and[11]
      "c"."Country" GLOB '[Uu][Ssſ]' OR "c"."Country" GLOB '[Cc][Aa]'
    )
    AND
    -- groups[0].condition.and[12]
    "c"."Country" NOT IN ('BR', 'JP')
    AND
    -- groups[0].condition.and[13]
    NOT ("c"."Country" GLOB '[KkK][Ee][Ll][Vv][Ii][Nn]')
    AND
    -- groups[0].condition.and[14]
    "c"."Country" >= 'M'
    AND
    -- groups[0].condition.and[15]
    "c"."Email" GLOB '*[Ssſ][Hh][Oo][Pp]*'
    AND
    -- groups[0].condition.and[16]
    NOT ("c"."Email" GLOB '*100%_off*')
    AND
    -- groups[0].condition.and[17]
    "c"."FirstName" GLOB 'An[*][?][[]*'
    AND
    -- groups[0].condition.and[18]
    "c"."Email" GLOB '*@[Ee][Xx][Aa][Mm][Pp][Ll][Ee].[Cc][Oo][Mm]'
    AND
    -- groups[0].condition.and[19]
    "c"."IsVip" = 1
    AND
    -- groups[0].condition.and[20]
    "c"."IsVip" = 0
    AND
    -- groups[0].condition.and[21]
    "c"."SignupDate" <= '2023-12-31'
    AND
    -- groups[0].condition.and[22]
    "c"."SignupDate" BETWEEN '2026-05-31' AND '2026-06-30'
    AND
    -- groups[0].condition.and[23]
    "c"."SignupDate" BETWEEN '2025-11-24' AND '2025-12-01'
    AND
    -- groups[0].condition.and[24]
    (unixepoch(substr("c"."LastSeen", 1, 19) || ltrim(substr("c"."LastSeen", 20), '.0123456789')) * 1000000 + CAST(substr(substr("c"."LastSeen", 21, max(length("c"."LastSeen") - 20 - length(ltrim(substr("c"."LastSeen", 20), '.0123456789')), 0)) || '000000', 1, 6) AS INTEGER)) >= 1782777600000000
    AND
    -- groups[0].condition.and[25]
    (unixepoch(substr("c"."LastSeen", 1, 19) || ltrim(substr("c"."LastSeen", 20), '.0123456789')) * 1000000 + CAST(substr(substr("c"."LastSeen", 21, max(length("c"."LastSeen") - 20 - length(ltrim(substr("c"."LastSeen", 20), '.0123456789')), 0)) || '000000', 1, 6) AS INTEGER)) BETWEEN 1782777600000000 AND 1783382400000000
    AND
    -- groups[0].condition.and[26]
    (unixepoch(substr("c"."LastSeen", 1, 19) || ltrim(substr("c"."LastSeen", 20), '.0123456789')) * 1000000 + CAST(substr(substr("c"."LastSeen", 21, max(length("c"."LastSeen") - 20 - length(ltrim(substr("c"."LastSeen", 20), '.0123456789')), 0)) || '000000', 1, 6) AS INTEGER)) = 1782820800500000
    AND
    NOT (
      -- groups[0].condition.and[27].not
      "c"."Age" IS NOT NULL AND "c"."Age" >= 31
    )
    AND
    NOT (
      (
        -- groups[0].condition.and[28].not.or[0]
        "c"."Country" IS NOT NULL AND ("c"."Country" GLOB '[Dd][Ee]' OR "c"."Country" GLOB '[Aa][Tt]')
      )
      OR
      (
        -- groups[0].condition.and[28].not.or[1]
        "c"."LastSeen" IS NOT NULL AND (unixepoch(substr("c"."LastSeen", 1, 19) || ltrim(substr("c"."LastSeen", 20), '.0123456789')) * 1000000 + CAST(substr(substr("c"."LastSeen", 21, max(length("c"."LastSeen") - 20 - length(ltrim(substr("c"."LastSeen", 20), '.0123456789')), 0)) || '000000', 1, 6) AS INTEGER)) <= 1767225599999999
      )
    )
)
SELECT "CustomerId" FROM "group1"
