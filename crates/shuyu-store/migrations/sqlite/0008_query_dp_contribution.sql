-- A differentially private query's contribution bounds (SBX-6): JSON
-- `{"groups_per_unit": L, "rows_per_unit": C}`, chosen per query within the profile's
-- `[sandbox] dp_contribution` caps. NULL for queries of `aggregate` grants and for rows written
-- before this column existed (those ran with L = C = 1).
-- Numbered 0008: 0007 is taken by a parallel branch (fusion).

ALTER TABLE workspace_queries ADD COLUMN dp_contribution TEXT;
