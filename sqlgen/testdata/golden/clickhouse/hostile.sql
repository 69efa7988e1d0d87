-- segment Hostile, as of 2026-06-30T00:00:00Z, for clickhouse
-- one row per member: Cust?omer.I?d
SELECT `c`.`I'd`
FROM `Cust"omer` AS `c`
WHERE
  `c`.`I'd` GLOBAL IN (
    SELECT `I'd` FROM (
      -- groups[0]
      SELECT `c`.`I'd`
      FROM `Cust"omer` AS `c`
      WHERE
        -- groups[0].condition.or[0]
        ifNull(`c`.`Na'me -- */` IS NOT NULL AND (`c`.`Na'me -- */` = 'O\'Brien \\ "x" -- /* */ ; DROP TABLE x;'), 0)
        OR
        -- groups[0].condition.or[1]
        ifNull(`c`.`Na'me -- */` IS NOT NULL AND (`c`.`Na'me -- */` IN ('line\x0abreak', 'tab\x09here', 'ümlaut ∑ 😀')), 0)
        OR
        -- groups[0].condition.or[2]
        ifNull(`c`.`Na'me -- */` IS NOT NULL AND (match(`c`.`Na'me -- */`, '[Ii][Tt]\'[Ssſ] \\[\\*\\?\\] \\\\')), 0)
        OR
        -- groups[0].condition.or[3]
        `c`.`I'd` GLOBAL IN (
          SELECT `r0`.`Cust"omer Id`
          FROM `Or\`der` AS `r0`
          WHERE `r0`.`Cust"omer Id` IS NOT NULL AND ifNull(`r0`.`Ch]an[nel` IS NOT NULL AND (startsWith(`r0`.`Ch]an[nel`, '%_\\')), 0)
        )
    ) AS `group1`
  )
