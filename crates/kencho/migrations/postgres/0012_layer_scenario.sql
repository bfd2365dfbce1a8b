-- 国土数値情報 publishes each flood scenario as a file of its own (issue 12): 計画規模, 想定最大規模
-- and 浸水継続時間. A flood layer records which it holds, and one version per scenario is in use,
-- so the heads are keyed by (tenant, kind, scenario); '' for every other kind.
ALTER TABLE evac_layers ADD COLUMN scenario TEXT NOT NULL DEFAULT '';
-- Every flood layer loaded before read A31a_105, the 計画規模 depth rank.
UPDATE evac_layers SET scenario = 'planned' WHERE kind = 'flood';

ALTER TABLE evac_layer_heads ADD COLUMN scenario TEXT NOT NULL DEFAULT '';
UPDATE evac_layer_heads h SET scenario = l.scenario FROM evac_layers l WHERE l.id = h.layer_id;
ALTER TABLE evac_layer_heads DROP CONSTRAINT evac_layer_heads_pkey;
ALTER TABLE evac_layer_heads ADD PRIMARY KEY (tenant_id, kind, scenario);
