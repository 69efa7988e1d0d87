-- segment Groups, as of 2026-06-30T00:00:00Z, for clickhouse
-- one row per member: Customer.CustomerId
SELECT `c`.`CustomerId`
FROM `Customer` AS `c`
WHERE
  (
    `c`.`CustomerId` GLOBAL IN (
      SELECT `CustomerId` FROM (
        -- groups[0]
        SELECT `c`.`CustomerId`
        FROM `Customer` AS `c`
        WHERE
          -- groups[0].condition
          ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` = 'US'), 0)
      ) AS `group1`
    )
    OR
    `c`.`CustomerId` GLOBAL IN (
      SELECT `CustomerId` FROM (
        -- groups[1]: union
        SELECT `c`.`CustomerId`
        FROM `Customer` AS `c`
        WHERE
          -- groups[1].condition
          ifNull(`c`.`IsVip` IS NOT NULL AND (`c`.`IsVip` = 1), 0)
      ) AS `group2`
    )
  )
  AND
  `c`.`CustomerId` GLOBAL IN (
    SELECT `CustomerId` FROM (
      -- groups[2]: intersect
      SELECT `c`.`CustomerId`
      FROM `Customer` AS `c`
      WHERE
        -- groups[2].condition
        `c`.`CustomerId` GLOBAL IN (
          SELECT `r0`.`CustomerId`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL
        )
    ) AS `group3`
  )
  AND
  NOT (
    `c`.`CustomerId` GLOBAL IN (
      SELECT `CustomerId` FROM (
        -- groups[3]: except
        SELECT `c`.`CustomerId`
        FROM `Customer` AS `c`
        WHERE
          NOT (
            -- groups[3].condition.not
            ifNull(`c`.`Age` IS NOT NULL AND (`c`.`Age` >= 31), 0)
          )
      ) AS `group4`
    )
  )
