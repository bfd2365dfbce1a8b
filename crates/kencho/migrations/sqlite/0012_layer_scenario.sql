-- 国土数値情報 publishes each flood scenario as a file of its own (issue 12): 計画規模, 想定最大規模
-- and 浸水継続時間. A flood layer records which it holds, and one version per scenario is in use,
-- so the heads are keyed by (tenant, kind, scenario); '' for every other kind.
ALTER TABLE evac_layers ADD COLUMN scenario TEXT NOT NULL DEFAULT '';
-- Every flood layer loaded before read A31a_105, the 計画規模 depth rank.
UPDATE evac_layers SET scenario = 'planned' WHERE kind = 'flood';

CREATE TABLE evac_layer_heads_by_scenario (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    scenario TEXT NOT NULL,
    layer_id INTEGER NOT NULL REFERENCES evac_layers(id),
    PRIMARY KEY (tenant_id, kind, scenario)
);
INSERT INTO evac_layer_heads_by_scenario (tenant_id, kind, scenario, layer_id)
    SELECT h.tenant_id, h.kind, l.scenario, h.layer_id FROM evac_layer_heads h JOIN evac_layers l ON l.id = h.layer_id;
DROP TABLE evac_layer_heads;
ALTER TABLE evac_layer_heads_by_scenario RENAME TO evac_layer_heads;
