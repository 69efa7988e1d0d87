-- segment HighValueEscalated, as of 2026-06-30T00:00:00Z, for clickhouse
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
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `sums`.`cust` AS `cust`, `sums`.`sum` AS `value`
            FROM (
              SELECT `rows`.`cust` AS `cust`, arrayElement(arrayCumSum(arrayMap(p -> p.2, arraySort(p -> p.1, groupArray((assumeNotNull(`rows`.`ord`), assumeNotNull(`rows`.`v`)))))), -1) AS `sum`, count() AS `count`
              FROM (
                SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
                FROM `Order` AS `r0`
                WHERE `r0`.`CustomerId` IS NOT NULL AND ifNull(`r0`.`OrderDate` IS NOT NULL AND (toInt64(`r0`.`OrderDate`) BETWEEN 20544 AND 20634), 0) AND `r0`.`Amount` IS NOT NULL
              ) AS `rows`
              GROUP BY `rows`.`cust`
            ) AS `sums`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` >= 500.0), 0)
        )
        AND
        -- groups[0].condition.and[1]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `r0`.`CustomerId`
          FROM `SupportCase` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND ifNull(`r0`.`Escalated` IS NOT NULL AND (`r0`.`Escalated` = 1), 0)
        )
    ) AS `group1`
  )
  AND
  NOT (
    `c`.`CustomerId` GLOBAL IN (
      SELECT `CustomerId` FROM (
        -- groups[1]: except
        SELECT `c`.`CustomerId`
        FROM `Customer` AS `c`
        WHERE
          -- groups[1].condition
          ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` IN ('BR', 'JP')), 0)
      ) AS `group2`
    )
  )
