-- マイ避難 (My Evacuation): hazard layers, household plans, subscriptions, alerts and the JMA
-- telegrams they came from. Same conventions as 0001: times in ms, booleans 0/1.

-- 全国地方公共団体コード of the tenant (6 digits), to match JMA area codes and ABR town tables.
ALTER TABLE tenants ADD COLUMN lg_code TEXT NOT NULL DEFAULT '';

-- Every load of a public data file is kept as a version; `evac_layer_heads` names the one in use.
CREATE TABLE evac_layers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    items INTEGER NOT NULL,
    body TEXT NOT NULL,
    loaded_by TEXT NOT NULL,
    loaded_at INTEGER NOT NULL,
    UNIQUE (tenant_id, kind, version)
);

CREATE TABLE evac_layer_heads (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    layer_id INTEGER NOT NULL REFERENCES evac_layers(id),
    PRIMARY KEY (tenant_id, kind)
);

-- A household plan (kind 'household') or a 個別避難計画 made by staff (kind 'individual').
-- Anyone holding the token may open a plan that is not yet saved to an account.
CREATE TABLE evac_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    token TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    resident_id INTEGER REFERENCES residents(id),
    staff_id INTEGER REFERENCES staff(id),
    town_id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL,
    consent_at INTEGER,
    consent_note TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    saved_at INTEGER
);
CREATE INDEX evac_plans_town ON evac_plans (tenant_id, town_id);
CREATE INDEX evac_plans_resident ON evac_plans (resident_id);

-- Who is told when an alert covers a plan's town: the household (role 'household') or a
-- supporter named in an individual plan (role 'supporter').
CREATE TABLE evac_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    plan_id INTEGER NOT NULL REFERENCES evac_plans(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    lang TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    consent_at INTEGER NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at INTEGER,
    UNIQUE (plan_id, email)
);

CREATE TABLE evac_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    level INTEGER NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    note TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    event_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    issued_at INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX evac_alerts_event ON evac_alerts (tenant_id, event_id);

CREATE TABLE evac_alert_areas (
    alert_id INTEGER NOT NULL REFERENCES evac_alerts(id),
    town_id TEXT NOT NULL,
    PRIMARY KEY (alert_id, town_id)
);

-- One row per subscription told of an alert (phase 'issue' or 'cancel'): the once-only record.
CREATE TABLE evac_deliveries (
    alert_id INTEGER NOT NULL REFERENCES evac_alerts(id),
    subscription_id INTEGER NOT NULL REFERENCES evac_subscriptions(id),
    phase TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, subscription_id, phase)
);

CREATE TABLE jma_telegrams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL,
    info_type TEXT NOT NULL,
    title TEXT NOT NULL,
    report_time TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
