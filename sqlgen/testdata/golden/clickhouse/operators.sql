-- segment Operators, as of 2026-06-30T00:00:00Z, for clickhouse
-- one row per member: Customer.CustomerId
SELECT `c`.`CustomerId`
FROM `Customer` AS `c`
WHERE
  `c`.`CustomerId` GLOBAL IN (
    SELECT `CustomerId` FROM (
      -- groups[0]
      SELECT `c`.`CustomerId`
      FROM `Customer` AS `c`
      WHERE
        -- groups[0].condition.and[0]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` = 30), 0)
        AND
        -- groups[0].condition.and[1]
        `c`.`Age` IS NOT NULL
        AND
        -- groups[0].condition.and[2]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` IN (18, 65)), 0)
        AND
        -- groups[0].condition.and[3]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` NOT IN (1, 2)), 0)
        AND
        -- groups[0].condition.and[4]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` >= 31), 0)
        AND
        -- groups[0].condition.and[5]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` BETWEEN 18 AND 65), 0)
        AND
        -- groups[0].condition.and[6]
        ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` <= 0), 0)
        AND
        -- groups[0].condition.and[7]
        `c`.`Age` IS NULL
        AND
        -- groups[0].condition.and[8]
        `c`.`Age` IS NOT NULL
        AND
        -- groups[0].condition.and[9]
        ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` = 'US'), 0)
        AND
        -- groups[0].condition.and[10]
        ifNull(`c`.`Country` IS NOT NULL AND (match(`c`.`Country`, '^[Ää][Rr][Gg][Ee][Rr]$')), 0)
        AND
        -- groups[0].condition.and[11]
        ifNull(`c`.`Country` IS NOT NULL AND (match(`c`.`Country`, '^[Uu][Ssſ]$') OR match(`c`.`Country`, '^[Cc][Aa]$')), 0)
        AND
        -- groups[0].condition.and[12]
        ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` NOT IN ('BR', 'JP')), 0)
        AND
        -- groups[0].condition.and[13]
        ifNull(`c`.`Country` IS NOT NULL AND (NOT (match(`c`.`Country`, '^[KkK][Ee][Ll][Vv][Ii][Nn]$'))), 0)
        AND
        -- groups[0].condition.and[14]
        ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` >= 'M'), 0)
        AND
        -- groups[0].condition.and[15]
        ifNull(`c`.`Email` IS NOT NULL AND (match(`c`.`Email`, '[Ssſ][Hh][Oo][Pp]')), 0)
        AND
        -- groups[0].condition.and[16]
        ifNull(`c`.`Email` IS NOT NULL AND (NOT (position(`c`.`Email`, '100%_off') > 0)), 0)
        AND
        -- groups[0].condition.and[17]
        ifNull(`c`.`FirstName` IS NOT NULL AND (startsWith(`c`.`FirstName`, 'An*?[')), 0)
        AND
        -- groups[0].condition.and[18]
        ifNull(`c`.`Email` IS NOT NULL AND (match(`c`.`Email`, '@[Ee][Xx][Aa][Mm][Pp][Ll][Ee]\\.[Cc][Oo][Mm]$')), 0)
        AND
        -- groups[0].condition.and[19]
        ifNull(`c`.`IsVip` IS NOT NULL AND (`c`.`IsVip` = 1), 0)
        AND
        -- groups[0].condition.and[20]
        ifNull(`c`.`IsVip` IS NOT NULL AND (`c`.`IsVip` = 0), 0)
        AND
        -- groups[0].condition.and[21]
        ifNull(`c`.`SignupDate` IS NOT NULL AND (toInt64(`c`.`SignupDate`) <= 19722), 0)
        AND
        -- groups[0].condition.and[22]
        ifNull(`c`.`SignupDate` IS NOT NULL AND (toInt64(`c`.`SignupDate`) BETWEEN 20604 AND 20634), 0)
        AND
        -- groups[0].condition.and[23]
        ifNull(`c`.`SignupDate` IS NOT NULL AND (toInt64(`c`.`SignupDate`) BETWEEN 20416 AND 20423), 0)
        AND
        -- groups[0].condition.and[24]
        ifNull(`c`.`LastSeen` IS NOT NULL AND (`c`.`LastSeen` >= 1782777600000000), 0)
        AND
        -- groups[0].condition.and[25]
        ifNull(`c`.`LastSeen` IS NOT NULL AND (`c`.`LastSeen` BETWEEN 1782777600000000 AND 1783382400000000), 0)
        AND
        -- groups[0].condition.and[26]
        ifNull(`c`.`LastSeen` IS NOT NULL AND (`c`.`LastSeen` = 1782820800500000), 0)
        AND
        NOT (
          -- groups[0].condition.and[27].not
          ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` >= 31), 0)
        )
        AND
        NOT (
          -- groups[0].condition.and[28].not.or[0]
          ifNull(`c`.`Country` IS NOT NULL AND (match(`c`.`Country`, '^[Dd][Ee]$') OR match(`c`.`Country`, '^[Aa][Tt]$')), 0)
          OR
          -- groups[0].condition.and[28].not.or[1]
          ifNull(`c`.`LastSeen` IS NOT NULL AND (`c`.`LastSeen` <= 1767225599999999), 0)
        )
    ) AS `group1`
  )
