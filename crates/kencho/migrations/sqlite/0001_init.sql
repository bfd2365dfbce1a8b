-- kencho schema, SQLite flavour. Times are milliseconds since the Unix epoch; booleans are 0/1
-- integers so the same queries run on both databases.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    receipt_prefix TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE divisions (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    verified_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    division_id INTEGER NOT NULL REFERENCES divisions(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    principal_id INTEGER NOT NULL,
    csrf TEXT NOT NULL,
    mfa_ok INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (key, at);

CREATE TABLE procedures (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    division_id INTEGER NOT NULL REFERENCES divisions(id),
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    is_current INTEGER NOT NULL,
    title TEXT NOT NULL,
    title_en TEXT,
    definition TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    search_title TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, code, version)
);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    division_id INTEGER NOT NULL REFERENCES divisions(id),
    procedure_id INTEGER NOT NULL REFERENCES procedures(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    applicant_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    was_accepted INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 1,
    answers TEXT NOT NULL,
    receipt_number TEXT UNIQUE,
    content_hash TEXT,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    submitted_at INTEGER,
    due_at INTEGER,
    decided_at INTEGER,
    UNIQUE (resident_id, idempotency_key)
);
CREATE INDEX applications_resident ON applications (resident_id, updated_at);
CREATE INDEX applications_inbox ON applications (tenant_id, division_id, status, submitted_at);

CREATE TABLE application_events (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    message TEXT
);
CREATE INDEX application_events_app ON application_events (application_id, id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    application_id INTEGER NOT NULL REFERENCES applications(id),
    field TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_app ON attachments (application_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE mailbox (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    delivered_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    tenant_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_heads (
    tenant_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
