-- Trust (issue 11): scoped, expiring API tokens; IoT and JMA state per tenant; atomic sign-in
-- limits; a durable security-event log; idle sessions; roles as data.

-- What a token may do and until when. Tokens made before scopes existed act as their staff
-- member and expire 90 days after this migration.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'staff';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 7776000000 WHERE expires_at = 0;

-- A rejected IoT message belongs to the tenant it was meant for (NULL: none could be told).
ALTER TABLE iot_rejected ADD COLUMN tenant_id INTEGER REFERENCES tenants(id);
CREATE INDEX iot_rejected_tenant ON iot_rejected (tenant_id, id);

-- Network-server applications whose MQTT uplinks belong to a tenant (format: chirpstack,
-- tts or plain; application: the topic's application segment).
CREATE TABLE iot_applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    format TEXT NOT NULL,
    application TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (format, application)
);

-- A telegram a tenant uploaded applies to that tenant alone (NULL: a trusted source for all).
ALTER TABLE jma_telegrams ADD COLUMN tenant_id INTEGER REFERENCES tenants(id);
CREATE INDEX jma_telegrams_event ON jma_telegrams (event_id, report_time);

-- Sign-in limits: one row per key, read and written under the writer lock.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    strikes INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Browsers that signed in to an account before: the per-account limit does not apply to them.
CREATE TABLE known_devices (
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    principal_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (token_hash, kind, principal_id)
);

-- Failed sign-ins, blocks, token use, refusals: kept apart from the audit log, which records
-- what was done, not what was tried.
CREATE TABLE security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    tenant_id INTEGER,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX security_events_tenant ON security_events (tenant_id, id);

-- Sessions end after a while without use, not only at their hard expiry.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;

-- Roles as data: the tenant's table of who may do the sensitive acts (TOML; absent: defaults).
CREATE TABLE tenant_policies (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    document TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
