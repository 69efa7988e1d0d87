-- segment References, as of 2026-06-30T00:00:00Z, for spark
-- one row per member: Customer.CustomerId
WITH
-- segments.Vips.groups[0]
`Vips_group1` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- segments.Vips.groups[0].condition
    `c`.`IsVip` = TRUE
),
-- segments.Vips.groups[1]: intersect
`Vips_group2` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- segments.Vips.groups[1].condition
    `c`.`Country` IN ('US', 'CA')
),
-- segment Vips
`Vips` AS (
  SELECT `CustomerId` FROM `Vips_group1`
  INTERSECT
  SELECT `CustomerId` FROM `Vips_group2`
),
-- groups[0]
`group1` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    -- groups[0].condition.or[0]
    `c`.`CustomerId` IN (
      SELECT `t`.`CustomerId`
      FROM `frozen_members` AS `t`
      WHERE `t`.`CustomerId` IS NOT NULL
    )
    OR
    -- groups[0].condition.or[1]
    `c`.`CustomerId` IN (
      SELECT `CustomerId` FROM `Vips`
    )
),
-- groups[1]: except
`group2` AS (
  SELECT `c`.`CustomerId`
  FROM `Customer` AS `c`
  WHERE
    NOT (
      -- groups[1].condition.not
      `c`.`CustomerId` IN (
        SELECT `CustomerId` FROM `Vips`
      )
    )
)
SELECT `CustomerId` FROM `group1`
EXCEPT
SELECT `CustomerId` FROM `group2`
