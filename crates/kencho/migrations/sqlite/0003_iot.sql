-- IoT alerts: wildlife traps (わな) and watching over people living alone (見守り).
-- Deadlines (sensor silence, inactivity, re-send and escalation) are columns, not timers in
-- memory, so they survive restarts and fire once on whichever node claims them.

-- A watched person (見守り対象者). Only events are stored about them, never content.
CREATE TABLE iot_people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    area TEXT NOT NULL,
    inactivity_hours INTEGER NOT NULL,
    quiet_start INTEGER,
    quiet_end INTEGER,
    escalation_wait_min INTEGER NOT NULL,
    consent_at INTEGER,
    consent_note TEXT NOT NULL,
    last_activity_at INTEGER,
    inactivity_deadline INTEGER,
    -- Watching ended (consent withdrawn, moved away): contacts are deleted, devices retired.
    ended_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX iot_people_deadline ON iot_people (inactivity_deadline);

CREATE TABLE iot_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    dev_eui TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    area TEXT NOT NULL,
    lat REAL,
    lon REAL,
    heartbeat_s INTEGER NOT NULL,
    person_id INTEGER REFERENCES iot_people(id),
    battery INTEGER,
    last_seen_at INTEGER,
    last_fcnt INTEGER,
    last_dedup TEXT,
    silent_deadline INTEGER,
    -- Taken out of service: its uplinks are rejected, its deadlines never fire.
    retired_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX iot_devices_deadline ON iot_devices (silent_deadline);

-- Who is told: a trap's hunters (any order), or a person's escalation list (in position order).
CREATE TABLE iot_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    device_id INTEGER REFERENCES iot_devices(id),
    person_id INTEGER REFERENCES iot_people(id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    hours_start INTEGER,
    hours_end INTEGER,
    consent_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- One open alarm per subject and kind; repeats update it.
CREATE TABLE iot_alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    repeats INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    cleared_at INTEGER,
    step INTEGER NOT NULL,
    next_action_at INTEGER,
    ack_token TEXT NOT NULL UNIQUE,
    detail TEXT NOT NULL
);
CREATE UNIQUE INDEX iot_alarms_open ON iot_alarms (subject, kind) WHERE state <> 'cleared';
CREATE INDEX iot_alarms_next ON iot_alarms (next_action_at);

-- The lifecycle of each alarm: opened, notified whom, acknowledged by whom, cleared.
CREATE TABLE iot_alarm_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id INTEGER NOT NULL REFERENCES iot_alarms(id),
    at INTEGER NOT NULL,
    what TEXT NOT NULL,
    who TEXT NOT NULL
);

-- Events kept per device (kind and battery only), for captures and "traps that never catch".
CREATE TABLE iot_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id INTEGER NOT NULL REFERENCES iot_devices(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    battery INTEGER
);
CREATE INDEX iot_events_device ON iot_events (device_id, at);

CREATE TABLE iot_captures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    alarm_id INTEGER NOT NULL REFERENCES iot_alarms(id),
    device_id INTEGER NOT NULL REFERENCES iot_devices(id),
    outcome TEXT NOT NULL,
    species TEXT NOT NULL,
    count INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- Messages that could not be used, with the reason (never silently dropped).
CREATE TABLE iot_rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    excerpt TEXT NOT NULL
);

-- Per tenant: how often an unacknowledged trap alarm is sent again, and who on the staff hears
-- of silent sensors.
CREATE TABLE iot_settings (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    trap_resend_min INTEGER NOT NULL,
    staff_email TEXT NOT NULL
);
