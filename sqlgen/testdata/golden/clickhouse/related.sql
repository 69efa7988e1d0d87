-- segment Related, as of 2026-06-30T00:00:00Z, for clickhouse
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
        -- groups[0].condition.or[0]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `r0`.`CustomerId`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL
        )
        OR
        -- groups[0].condition.or[1]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `r0`.`CustomerId`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL
          GROUP BY `r0`.`CustomerId`
          HAVING MIN(CASE WHEN ifNull(`r0`.`Channel` IS NOT NULL AND (`r0`.`Channel` = 'store'), 0) THEN 1 ELSE 0 END) = 1
        )
        OR
        -- groups[0].condition.or[2]
        (`c`.`CustomerId` IS NOT NULL AND `c`.`CustomerId` GLOBAL NOT IN (
          SELECT `r0`.`CustomerId`
          FROM `SupportCase` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND ifNull(`r0`.`Escalated` IS NOT NULL AND (`r0`.`Escalated` = 1), 0)
        ))
        OR
        -- groups[0].condition.or[3]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `r0`.`CustomerId`
          FROM `Order` AS `r0`
          WHERE `r0`.`CustomerId` IS NOT NULL AND ifNull(`r0`.`Channel` IS NOT NULL AND (`r0`.`Channel` = 'web'), 0)
        )
        OR
        -- groups[0].condition.or[4]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `path_customer`
          FROM `OrderLine` AS `r0`
          GLOBAL ALL INNER JOIN (
            SELECT `OrderId` AS `OrderId`, `CustomerId` AS `path_customer`
            FROM `Order`
            WHERE `OrderId` IS NOT NULL
          ) USING `OrderId`
          WHERE `path_customer` IS NOT NULL AND ifNull(`r0`.`Category` IS NOT NULL AND (`r0`.`Category` = 'Electronics'), 0) AND NOT (ifNull(`r0`.`Price` IS NOT NULL AND (`r0`.`Price` < 10.0), 0))
        )
        OR
        -- groups[0].condition.or[5]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL
            GROUP BY `r0`.`CustomerId`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` >= 10), 0)
        )
        OR
        -- groups[0].condition.or[6]
        (
          `c`.`CustomerId` GLOBAL IN (
            SELECT `a`.`cust`
            FROM (
              SELECT `r0`.`CustomerId` AS `cust`, COUNT(*) AS `value`
              FROM `Order` AS `r0`
              WHERE `r0`.`CustomerId` IS NOT NULL
              GROUP BY `r0`.`CustomerId`
            ) AS `a`
            WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` = 0), 0)
          )
          OR
          -- no rows: the value is 0 (a count)
          (`c`.`CustomerId` IS NOT NULL AND `c`.`CustomerId` GLOBAL NOT IN (
            SELECT `r0`.`CustomerId`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL
          ))
        )
        OR
        -- groups[0].condition.or[7]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `path_customer_2` AS `cust`, ifNull(COUNT(DISTINCT `r0`.`Category`), 0) AS `value`
            FROM `OrderLine` AS `r0`
            GLOBAL ALL INNER JOIN (
              SELECT `OrderId` AS `OrderId`, `CustomerId` AS `path_customer_2`
              FROM `Order`
              WHERE `OrderId` IS NOT NULL
            ) USING `OrderId`
            WHERE `path_customer_2` IS NOT NULL
            GROUP BY `path_customer_2`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` >= 4), 0)
        )
        OR
        -- groups[0].condition.or[8]
        (
          `c`.`CustomerId` GLOBAL IN (
            SELECT `a`.`cust`
            FROM (
              SELECT `path_customer_3` AS `cust`, (toFloat64(sum(bitShiftRight(`r0`.`Quantity`, 32))) * 4294967296.0 + toFloat64(sum(bitAnd(`r0`.`Quantity`, 4294967295)))) AS `value`
              FROM `OrderLine` AS `r0`
              GLOBAL ALL INNER JOIN (
                SELECT `OrderId` AS `OrderId`, `CustomerId` AS `path_customer_3`
                FROM `Order`
                WHERE `OrderId` IS NOT NULL
              ) USING `OrderId`
              WHERE `path_customer_3` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
              GROUP BY `path_customer_3`
            ) AS `a`
            WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` < 5.0), 0)
          )
          OR
          -- no rows: the value is 0 (a sum)
          (`c`.`CustomerId` IS NOT NULL AND `c`.`CustomerId` GLOBAL NOT IN (
            SELECT `path_customer_3`
            FROM `OrderLine` AS `r0`
            GLOBAL ALL INNER JOIN (
              SELECT `OrderId` AS `OrderId`, `CustomerId` AS `path_customer_3`
              FROM `Order`
              WHERE `OrderId` IS NOT NULL
            ) USING `OrderId`
            WHERE `path_customer_3` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
          ))
        )
        OR
        -- groups[0].condition.or[9]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `sums`.`cust` AS `cust`, `sums`.`sum` / `sums`.`count` AS `value`
            FROM (
              SELECT `rows`.`cust` AS `cust`, arrayElement(arrayCumSum(arrayMap(p -> p.2, arraySort(p -> p.1, groupArray((assumeNotNull(`rows`.`ord`), assumeNotNull(`rows`.`v`)))))), -1) AS `sum`, count() AS `count`
              FROM (
                SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
                FROM `Order` AS `r0`
                WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`Amount` IS NOT NULL
              ) AS `rows`
              GROUP BY `rows`.`cust`
            ) AS `sums`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` BETWEEN 50.0 AND 100.0), 0)
        )
        OR
        -- groups[0].condition.or[10]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `path_customer_4` AS `cust`, (toFloat64(sum(bitShiftRight(`r0`.`Quantity`, 32))) * 4294967296.0 + toFloat64(sum(bitAnd(`r0`.`Quantity`, 4294967295)))) / COUNT(*) AS `value`
            FROM `OrderLine` AS `r0`
            GLOBAL ALL INNER JOIN (
              SELECT `OrderId` AS `OrderId`, `CustomerId` AS `path_customer_4`
              FROM `Order`
              WHERE `OrderId` IS NOT NULL
            ) USING `OrderId`
            WHERE `path_customer_4` IS NOT NULL AND `r0`.`Quantity` IS NOT NULL
            GROUP BY `path_customer_4`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` > 2.5), 0)
        )
        OR
        -- groups[0].condition.or[11]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `r0`.`CustomerId` AS `cust`, MIN(toInt64(`r0`.`OrderDate`)) AS `value`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
            GROUP BY `r0`.`CustomerId`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` <= 19722), 0)
        )
        OR
        -- groups[0].condition.or[12]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `a`.`cust`
          FROM (
            SELECT `r0`.`CustomerId` AS `cust`, MAX(toInt64(`r0`.`OrderDate`)) AS `value`
            FROM `Order` AS `r0`
            WHERE `r0`.`CustomerId` IS NOT NULL AND `r0`.`OrderDate` IS NOT NULL
            GROUP BY `r0`.`CustomerId`
          ) AS `a`
          WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` BETWEEN 20604 AND 20634), 0)
        )
        OR
        NOT (
          -- groups[0].condition.or[13].not
          `c`.`CustomerId` GLOBAL IN (
            SELECT `a`.`cust`
            FROM (
              SELECT `sums_2`.`cust` AS `cust`, `sums_2`.`sum` AS `value`
              FROM (
                SELECT `rows_2`.`cust` AS `cust`, arrayElement(arrayCumSum(arrayMap(p -> p.2, arraySort(p -> p.1, groupArray((assumeNotNull(`rows_2`.`ord`), assumeNotNull(`rows_2`.`v`)))))), -1) AS `sum`, count() AS `count`
                FROM (
                  SELECT `r0`.`CustomerId` AS `cust`, `r0`.`Amount` AS `v`, `r0`.`file_row` AS `ord`
                  FROM `Order` AS `r0`
                  WHERE `r0`.`CustomerId` IS NOT NULL AND ifNull(`r0`.`OrderDate` IS NOT NULL AND (toInt64(`r0`.`OrderDate`) BETWEEN 20269 AND 20634), 0) AND `r0`.`Amount` IS NOT NULL
                ) AS `rows_2`
                GROUP BY `rows_2`.`cust`
              ) AS `sums_2`
            ) AS `a`
            WHERE ifNull(`a`.`value` IS NOT NULL AND (`a`.`value` > 0.0), 0)
          )
        )
    ) AS `group1`
  )
