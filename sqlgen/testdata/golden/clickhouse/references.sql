-- segment References, as of 2026-06-30T00:00:00Z, for clickhouse
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
          SELECT `t`.`CustomerId`
          FROM `frozen_members` AS `t`
          WHERE `t`.`CustomerId` IS NOT NULL
        )
        OR
        -- groups[0].condition.or[1]
        `c`.`CustomerId` GLOBAL IN (
          SELECT `CustomerId` FROM (
            -- segment Vips
            SELECT `c`.`CustomerId`
            FROM `Customer` AS `c`
            WHERE
              `c`.`CustomerId` GLOBAL IN (
                SELECT `CustomerId` FROM (
                  -- segments.Vips.groups[0]
                  SELECT `c`.`CustomerId`
                  FROM `Customer` AS `c`
                  WHERE
                    -- segments.Vips.groups[0].condition
                    ifNull(`c`.`IsVip` IS NOT NULL AND (`c`.`IsVip` = 1), 0)
                ) AS `Vips_group1`
              )
              AND
              `c`.`CustomerId` GLOBAL IN (
                SELECT `CustomerId` FROM (
                  -- segments.Vips.groups[1]: intersect
                  SELECT `c`.`CustomerId`
                  FROM `Customer` AS `c`
                  WHERE
                    -- segments.Vips.groups[1].condition
                    ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` IN ('US', 'CA')), 0)
                ) AS `Vips_group2`
              )
          ) AS `Vips`
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
          NOT (
            -- groups[1].condition.not
            `c`.`CustomerId` GLOBAL IN (
              SELECT `CustomerId` FROM (
                -- segment Vips
                SELECT `c`.`CustomerId`
                FROM `Customer` AS `c`
                WHERE
                  `c`.`CustomerId` GLOBAL IN (
                    SELECT `CustomerId` FROM (
                      -- segments.Vips.groups[0]
                      SELECT `c`.`CustomerId`
                      FROM `Customer` AS `c`
                      WHERE
                        -- segments.Vips.groups[0].condition
                        ifNull(`c`.`IsVip` IS NOT NULL AND (`c`.`IsVip` = 1), 0)
                    ) AS `Vips_group1`
                  )
                  AND
                  `c`.`CustomerId` GLOBAL IN (
                    SELECT `CustomerId` FROM (
                      -- segments.Vips.groups[1]: intersect
                      SELECT `c`.`CustomerId`
                      FROM `Customer` AS `c`
                      WHERE
                        -- segments.Vips.groups[1].condition
                        ifNull(`c`.`Country` IS NOT NULL AND (`c`.`Country` IN ('US', 'CA')), 0)
                    ) AS `Vips_group2`
                  )
              ) AS `Vips`
            )
          )
      ) AS `group2`
    )
  )
