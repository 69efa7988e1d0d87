-- segment Hostile, as of 2026-06-30T00:00:00Z, for spark
-- one row per member: Cust?omer.I?d
WITH
-- groups[0]
`group1` AS (
  SELECT `c`.`I'd`
  FROM `Cust"omer` AS `c`
  WHERE
    -- groups[0].condition.or[0]
    `c`.`Na'me -- */` = 'O\'Brien \\ "x" -- /* */ ; DROP TABLE x;'
    OR
    -- groups[0].condition.or[1]
    `c`.`Na'me -- */` IN ('line\u000Abreak', 'tab\u0009here', 'ümlaut ∑ 😀')
    OR
    -- groups[0].condition.or[2]
    instr(translate(`c`.`Na'me -- */`, 'IiTtSsſ', 'IITTSSS'), 'IT\'S [*?] \\') > 0
    OR
    -- groups[0].condition.or[3]
    `c`.`I'd` IN (
      SELECT `r0`.`Cust"omer Id`
      FROM `Or``der` AS `r0`
      WHERE `r0`.`Cust"omer Id` IS NOT NULL AND substr(`r0`.`Ch]an[nel`, 1, 3) = '%_\\'
    )
)
SELECT `I'd` FROM `group1`
