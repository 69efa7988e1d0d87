-- segment Measures, as of 2026-06-30T00:00:00Z, for spark
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
    (
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL
          GROUP BY `r0`.`CustomerId`
        ) AS `a`
        WHERE `a`.`value` <= 3
      )
      OR
      -- no rows: the value is 0 (a count)
      `c`.`CustomerId` NOT IN (
        SELECT `r0`.`CustomerId`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL
      )
    )
    AND
    -- groups[0].condition.and[2]
    (
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `r0`.`CustomerId` AS `cust`, MAX(`r0`.`OrderDate`) AS `value`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
          GROUP BY `r0`.`CustomerId`
        ) AS `a`
        WHERE `a`.`value` IS NULL
      )
      OR
      -- no rows: the value is null
      `c`.`CustomerId` NOT IN (
        SELECT `r0`.`CustomerId`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
      )
    )
    AND
    -- groups[0].condition.and[3]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `ranked`.`cust` AS `cust`, `ranked`.`value` AS `value`
        FROM (
          SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Channel` AS `value`,
            ROW_NUMBER() OVER (PARTITION BY `r0`.`CustomerId` ORDER BY `r0`.`OrderDate` DESC, `r0`.`OrderId` DESC) AS `n`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
        ) AS `ranked`
        WHERE `ranked`.`n` = 1
      ) AS `a`
      WHERE translate(`a`.`value`, 'AaPp', 'AAPP') = 'APP'
    )
    AND
    NOT (
      -- groups[0].condition.and[4].not
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
          FROM `SupportCase` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Escalated` = TRUE
          GROUP BY `r0`.`CustomerId`
        ) AS `a`
        WHERE `a`.`value` >= 1
      )
    )
)
SELECT `CustomerId` FROM `group1`
