-- Issue 18, 電子決裁 and 公文書管理: 急施 on a 起案 (the only matters 代決 may decide), holds
-- that stop a record's disposal, and who of the records section agreed to a disposal.
-- records.retention_years / kian.retention_years now also hold 0 (1年未満) and -1 (常用);
-- 常用 records get expires_on '9999-12-31' and never reach a disposal list.

ALTER TABLE kian ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;

-- 廃棄の留保: while a hold is in place (lifted_at NULL) the record is not disposed of.
CREATE TABLE record_holds (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    record_id INTEGER NOT NULL REFERENCES records(id),
    kind TEXT NOT NULL,                   -- 'disclosure' | 'lawsuit' | 'audit'
    reference TEXT NOT NULL,              -- e.g. the 開示請求's receipt number, the case number
    placed_by INTEGER NOT NULL REFERENCES staff(id),
    placed_at INTEGER NOT NULL,
    lifted_by INTEGER REFERENCES staff(id),
    lifted_at INTEGER
);
CREATE INDEX record_holds_open ON record_holds (record_id, lifted_at);

-- The records section's 合議 on the disposal that removed a record (who agreed).
ALTER TABLE disposal_log ADD COLUMN consulted_by INTEGER REFERENCES staff(id);
