-- 電子決裁 (electronic approval), signed documents (電子交付) and records management (公文書管理).
-- Dates that people write ("2027-04-01") are TEXT in ISO form; instants are epoch milliseconds.

-- The organisation and the 専決 table, each kept as a whole validated document per tenant.
-- Every load is a new version; the newest is in use. Periods inside the document make the
-- April reshuffle take effect on its day, so a version can be loaded ahead of time.
CREATE TABLE approval_setup (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,            -- 'org' | 'rules'
    body TEXT NOT NULL,            -- JSON, person ids are staff ids
    source TEXT NOT NULL,          -- the document as the administrator wrote it
    sha256 TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX approval_setup_current ON approval_setup (tenant_id, kind, id);

-- 不在登録: the staff member is away on these days (inclusive).
CREATE TABLE absences (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX absences_staff ON absences (tenant_id, staff_id, to_date);

-- A 起案 (decision document). The route, its state and history live in `route` (JSON of the
-- core state machine); events and who is waiting are also written out as rows for inboxes,
-- search and figures.
CREATE TABLE kian (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    division_code TEXT NOT NULL,
    source TEXT NOT NULL,                 -- 'application' | 'internal' | 'disposal'
    application_id INTEGER REFERENCES applications(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    matter_kind TEXT NOT NULL,
    amount INTEGER,
    important INTEGER NOT NULL DEFAULT 0,
    decision TEXT,                        -- application: 'approve' | 'deny'
    drafter_id INTEGER NOT NULL REFERENCES staff(id),
    drafter_post TEXT NOT NULL,
    route TEXT NOT NULL,
    state TEXT NOT NULL,
    number TEXT,                          -- 文書番号, given on 決裁
    decided_on TEXT,
    executed_at INTEGER,                   -- 施行
    retention_years INTEGER NOT NULL,
    disposal TEXT NOT NULL,               -- 'haiki' | 'ikan'
    search_text TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, number)
);
CREATE INDEX kian_drafter ON kian (drafter_id, state);
CREATE INDEX kian_application ON kian (application_id);

CREATE TABLE kian_events (
    id INTEGER PRIMARY KEY,
    kian_id INTEGER NOT NULL REFERENCES kian(id),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    as_post TEXT,
    on_behalf_of INTEGER,
    stage INTEGER,
    act TEXT NOT NULL,
    comment TEXT,
    UNIQUE (kian_id, seq)
);

-- Who a 起案 waits for: 'pending' by post, 'kouetsu' (後閲) by person, 'kyoran' (供覧) by post.
CREATE TABLE kian_waiting (
    id INTEGER PRIMARY KEY,
    kian_id INTEGER NOT NULL REFERENCES kian(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    box TEXT NOT NULL,
    post TEXT,
    person INTEGER,
    since INTEGER NOT NULL
);
CREATE INDEX kian_waiting_post ON kian_waiting (tenant_id, box, post);
CREATE INDEX kian_waiting_person ON kian_waiting (tenant_id, box, person);
CREATE INDEX kian_waiting_kian ON kian_waiting (kian_id);

-- Files attached to a 起案: added during the route, never changed or deleted (until disposal).
CREATE TABLE kian_files (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    kian_id INTEGER NOT NULL REFERENCES kian(id),
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    added_by INTEGER NOT NULL REFERENCES staff(id),
    added_at INTEGER NOT NULL
);
CREATE INDEX kian_files_kian ON kian_files (kian_id);

-- A tenant's signing keys. A rotated key is retired, not deleted, so what it signed still
-- verifies.
CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    key_id TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    public_key TEXT NOT NULL,
    secret_key TEXT,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id, retired_at);

-- Every document kencho issued and signed (通知書, 領収書 …).
CREATE TABLE issued_documents (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    application_id INTEGER REFERENCES applications(id),
    kian_id INTEGER REFERENCES kian(id),
    title TEXT NOT NULL,
    issuer TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    disposed_at INTEGER
);
CREATE INDEX issued_documents_sha ON issued_documents (sha256);
CREATE INDEX issued_documents_app ON issued_documents (application_id);

-- 公文書管理: one row per record kept (a decided 起案, a finished application), with its
-- retention class and what happens when it ends.
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL UNIQUE,         -- 'kian:ID' | 'application:ID'
    title TEXT NOT NULL,
    division_code TEXT NOT NULL,
    retention_years INTEGER NOT NULL,
    disposal TEXT NOT NULL,               -- 'haiki' | 'ikan'
    completed_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,             -- the 1 April after completion + retention years
    state TEXT NOT NULL,                  -- 'kept' | 'in_disposal' | 'disposed' | 'transferred'
    disposal_kian_id INTEGER REFERENCES kian(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX records_expiry ON records (tenant_id, state, expires_on);

-- What was destroyed or transferred, kept after the record itself is gone (廃棄簿・移管簿).
CREATE TABLE disposal_log (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    record_id INTEGER NOT NULL REFERENCES records(id),
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    action TEXT NOT NULL,                 -- 'haiki' | 'ikan'
    approved_by_kian INTEGER NOT NULL REFERENCES kian(id),
    package_path TEXT,
    package_sha256 TEXT,
    done_by INTEGER NOT NULL REFERENCES staff(id),
    done_at INTEGER NOT NULL
);
