-- segment Related, as of 2026-06-30T00:00:00Z, for spark
-- one row per member: Customer.CustomerId
WITH
-- groups[0]
`group1` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- groups[0].condition.or[0]
    `c`.`CustomerId` IN (
      SELECT `r0`.`CustomerId`
      FROM `Order` AS `r0`
      WHERE `r0`.`CustomerId` IS NOT NULL
    )
    OR
    -- groups[0].condition.or[1]
    `c`.`CustomerId` IN (
      SELECT `r0`.`CustomerId`
      FROM `Order` AS `r0`
      WHERE `r0`.`CustomerId` IS NOT NULL
      GROUP BY `r0`.`CustomerId`
      HAVING MIN(CASE WHEN `r0`.`Channel` = 'store' THEN 1 ELSE 0 END) = 1
    )
    OR
    -- groups[0].condition.or[2]
    `c`.`CustomerId` NOT IN (
      SELECT `r0`.`CustomerId`
      FROM `SupportCase` AS `r0`
      WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Escalated` = TRUE
    )
    OR
    -- groups[0].condition.or[3]
    `c`.`CustomerId` IN (
      SELECT `r0`.`CustomerId`
      FROM `Order` AS `r0`
      WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Channel` = 'web'
    )
    OR
    -- groups[0].condition.or[4]
    `c`.`CustomerId` IN (
      SELECT `r1`.`CustomerId`
      FROM `OrderLine` AS `r0`
      JOIN `Order` AS `r1` ON `r1`.`OrderId` = `r0`.`OrderId`
      WHERE `r1`.`CustomerId` IS NOT NULL AND `r0`.`Category` = 'Electronics' AND NOT (`r0`.`Price` IS NOT NULL AND `r0`.`Price` < CAST('10.0' AS DOUBLE))
    )
    OR
    -- groups[0].condition.or[5]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL
        GROUP BY `r0`.`CustomerId`
      ) AS `a`
      WHERE `a`.`value` >= 10
    )
    OR
    -- groups[0].condition.or[6]
    (
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL
          GROUP BY `r0`.`CustomerId`
        ) AS `a`
        WHERE `a`.`value` = 0
      )
      OR
      -- no rows: the value is 0 (a count)
      `c`.`CustomerId` NOT IN (
        SELECT `r0`.`CustomerId`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL
      )
    )
    OR
    -- groups[0].condition.or[7]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `r1`.`CustomerId` AS `cust`, COUNT(DISTINCT `r0`.`Category`) AS `value`
        FROM `OrderLine` AS `r0`
        JOIN `Order` AS `r1` ON `r1`.`OrderId` = `r0`.`OrderId`
        WHERE `r1`.`CustomerId` IS NOT NULL
        GROUP BY `r1`.`CustomerId`
      ) AS `a`
      WHERE `a`.`value` >= 4
    )
    OR
    -- groups[0].condition.or[8]
    (
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `r1`.`CustomerId` AS `cust`, CAST(SUM(CAST(`r0`.`Quantity` AS DECIMAL(38,0))) AS DOUBLE) AS `value`
          FROM `OrderLine` AS `r0`
          JOIN `Order` AS `r1` ON `r1`.`OrderId` = `r0`.`OrderId`
          WHERE `r1`.`CustomerId` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
          GROUP BY `r1`.`CustomerId`
        ) AS `a`
        WHERE `a`.`value` < CAST('5.0' AS DOUBLE)
      )
      OR
      -- no rows: the value is 0 (a sum)
      `c`.`CustomerId` NOT IN (
        SELECT `r1`.`CustomerId`
        FROM `OrderLine` AS `r0`
        JOIN `Order` AS `r1` ON `r1`.`OrderId` = `r0`.`OrderId`
        WHERE `r1`.`CustomerId` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
      )
    )
    OR
    -- groups[0].condition.or[9]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `sums`.`cust` AS `cust`, `sums`.`sum` / `sums`.`count` AS `value`
        FROM (
          SELECT `rows`.`cust` AS `cust`,
            aggregate(array_sort(collect_list(named_struct('ord', `rows`.`ord`, 'v', `rows`.`v`))), CAST(0 AS DOUBLE), (`acc`, `x`) -> `acc` + `x`.`v`) AS `sum`,
            COUNT(*) AS `count`
          FROM (
            SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Amount` IS NOT NULL
          ) AS `rows`
          GROUP BY `rows`.`cust`
        ) AS `sums`
      ) AS `a`
      WHERE `a`.`value` BETWEEN CAST('50.0' AS DOUBLE) AND CAST('100.0' AS DOUBLE)
    )
    OR
    -- groups[0].condition.or[10]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `r1`.`CustomerId` AS `cust`, CAST(SUM(CAST(`r0`.`Quantity` AS DECIMAL(38,0))) AS DOUBLE) / COUNT(*) AS `value`
        FROM `OrderLine` AS `r0`
        JOIN `Order` AS `r1` ON `r1`.`OrderId` = `r0`.`OrderId`
        WHERE `r1`.`CustomerId` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
        GROUP BY `r1`.`CustomerId`
      ) AS `a`
      WHERE `a`.`value` > CAST('2.5' AS DOUBLE)
    )
    OR
    -- groups[0].condition.or[11]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `r0`.`CustomerId` AS `cust`, MIN(`r0`.`OrderDate`) AS `value`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
        GROUP BY `r0`.`CustomerId`
      ) AS `a`
      WHERE `a`.`value` <= DATE '2023-12-31'
    )
    OR
    -- groups[0].condition.or[12]
    `c`.`CustomerId` IN (
      SELECT `a`.`cust`
      FROM (
        SELECT `r0`.`CustomerId` AS `cust`, MAX(`r0`.`OrderDate`) AS `value`
        FROM `Order` AS `r0`
        WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
        GROUP BY `r0`.`CustomerId`
      ) AS `a`
      WHERE `a`.`value` BETWEEN DATE '2026-05-31' AND DATE '2026-06-30'
    )
    OR
    NOT (
      -- groups[0].condition.or[13].not
      `c`.`CustomerId` IN (
        SELECT `a`.`cust`
        FROM (
          SELECT `sums_2`.`cust` AS `cust`, `sums_2`.`sum` AS `value`
          FROM (
            SELECT `rows_2`.`cust` AS `cust`,
              aggregate(array_sort(collect_list(named_struct('ord', `rows_2`.`ord`, 'v', `rows_2`.`v`))), CAST(0 AS DOUBLE), (`acc`, `x`) -> `acc` + `x`.`v`) AS `sum`,
              COUNT(*) AS `count`
            FROM (
              SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
              FROM `Order` AS `r0`
              WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` BETWEEN DATE '2025-06-30' AND DATE '2026-06-30' AND `r0`.`Amount` IS NOT NULL
            ) AS `rows_2`
            GROUP BY `rows_2`.`cust`
          ) AS `sums_2`
        ) AS `a`
        WHERE `a`.`value` > CAST('0.0' AS DOUBLE)
      )
    )
)
SELECT `CustomerId` FROM `group1`
