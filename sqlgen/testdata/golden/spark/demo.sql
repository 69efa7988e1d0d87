-- segment HighValueEscalated, as of 2026-06-30T00:00:00Z, for spark
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
`group1` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- groups[0].condition.and[0]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `sums`.`cust` AS `cust`, `sums`.`sum` AS `value`
        FROM (
          SELECT `rows`.`cust` AS `cust`,
            aggregate(array_sort(collect_list(named_struct('ord', `rows`.`ord`, 'v', `rows`.`v`))), CAST(0 AS DOUBLE), (`acc`, `x`) -> `acc` + `x`.`v`) AS `sum`,
            COUNT(*) AS `count`
          FROM (
            SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` BETWEEN DATE '2026-04-01' AND DATE '2026-06-30' AND `r0`.`Amount` IS NOT NULL
          ) AS `rows`
          GROUP BY `rows`.`cust`
        ) AS `sums`
      ) AS `a`
      WHERE `a`.`value` >= CAST('500.0' AS DOUBLE)
    )
    AND
    -- groups[0].condition.and[1]
    `c`.`CustomerId` IN (
      SELECT `r0`.`CustomerId`
      FROM `SupportCase` AS `r0`
      WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Escalated` = TRUE
    )
),
-- groups[1]: except
`group2` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- groups[1].condition
    `c`.`Country` IN ('BR', 'JP')
)
SELECT `CustomerId` FROM `group1`
EXCEPT
SELECT `CustomerId` FROM `group2`
