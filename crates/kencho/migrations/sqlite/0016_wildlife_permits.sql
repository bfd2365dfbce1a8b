-- 鳥獣保護管理法 (issue 18): capture permits (法第9条), what a capture record must carry, and
-- the per-permit report. Additive: old captures keep their columns and read as before.

-- A 捕獲許可 as the office registered it. Species and trap types are JSON arrays of keys
-- (kencho_core::iot::wildlife); the period is inclusive JST calendar days.
CREATE TABLE iot_permits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL,
    holder TEXT NOT NULL,
    holder_email TEXT NOT NULL,
    species TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    area TEXT NOT NULL,
    trap_types TEXT NOT NULL,
    -- When staff marked the result as reported (捕獲等の結果の報告); NULL while outstanding.
    reported_at INTEGER,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX iot_permits_number ON iot_permits (tenant_id, number);

-- A trap works under one permit, with its trap type.
ALTER TABLE iot_devices ADD COLUMN permit_id INTEGER REFERENCES iot_permits(id);
ALTER TABLE iot_devices ADD COLUMN trap_type TEXT;

-- The capture as stated by the recorder; `at` stays the moment it was typed.
ALTER TABLE iot_captures ADD COLUMN permit_id INTEGER REFERENCES iot_permits(id);
ALTER TABLE iot_captures ADD COLUMN captured_at INTEGER;
ALTER TABLE iot_captures ADD COLUMN trap_type TEXT;
ALTER TABLE iot_captures ADD COLUMN sex TEXT;
ALTER TABLE iot_captures ADD COLUMN age TEXT;
ALTER TABLE iot_captures ADD COLUMN disposition TEXT;
ALTER TABLE iot_captures ADD COLUMN place TEXT;
ALTER TABLE iot_captures ADD COLUMN lat REAL;
ALTER TABLE iot_captures ADD COLUMN lon REAL;
ALTER TABLE iot_captures ADD COLUMN bycatch_action TEXT;
ALTER TABLE iot_captures ADD COLUMN note TEXT;
CREATE INDEX iot_captures_permit ON iot_captures (permit_id, captured_at);
