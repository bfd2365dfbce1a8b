-- キャッシュレス決済: fees, payments moved only by verified provider events, refunds,
-- reconciliation of settlement files, and the built-in sandbox provider.

-- Per tenant: which providers and methods are on, and their secrets (never shown back).
CREATE TABLE payment_settings (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    sandbox_enabled INTEGER NOT NULL DEFAULT 1,
    sandbox_methods TEXT NOT NULL DEFAULT 'card,qr',
    sandbox_secret TEXT NOT NULL,
    stripe_enabled INTEGER NOT NULL DEFAULT 0,
    stripe_methods TEXT NOT NULL DEFAULT 'card',
    stripe_api_key TEXT,
    stripe_webhook_secret TEXT,
    -- A refund above this many yen needs a 決裁 through an approval route.
    refund_approval_above INTEGER NOT NULL DEFAULT 10000,
    updated_at INTEGER NOT NULL
);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    application_id INTEGER NOT NULL REFERENCES applications(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    revenue_code TEXT NOT NULL,
    amount INTEGER NOT NULL,
    units INTEGER,
    exemption_percent INTEGER,
    exemption_reason TEXT,
    provider TEXT NOT NULL,
    method TEXT NOT NULL,
    provider_ref TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    paid_amount INTEGER NOT NULL DEFAULT 0,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    ledger TEXT NOT NULL,
    checkout_url TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    paid_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_application ON payments (application_id);
CREATE INDEX payments_expiry ON payments (state, expires_at);
CREATE INDEX payments_paid ON payments (tenant_id, paid_at);

-- Every provider event received (verified), applied or not: the payment's evidence.
CREATE TABLE payment_events (
    id INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments(id),
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at_unix INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER,
    outcome TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);

CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    payment_id INTEGER NOT NULL REFERENCES payments(id),
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,          -- awaiting_approval | requested | succeeded | failed | rejected
    kian_id INTEGER REFERENCES kian(id),
    provider_ref TEXT,
    requested_by INTEGER NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- 消込: a provider's settlement file, line by line, matched against payments.
CREATE TABLE settlement_imports (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    provider TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    lines INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    mismatched INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    imported_by INTEGER NOT NULL REFERENCES staff(id),
    imported_at INTEGER NOT NULL
);

CREATE TABLE settlement_lines (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES settlement_imports(id),
    line_no INTEGER NOT NULL,
    provider_ref TEXT NOT NULL,
    gross INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    payment_id INTEGER REFERENCES payments(id),
    result TEXT NOT NULL          -- matched | amount_differs | unknown
);
CREATE INDEX settlement_lines_import ON settlement_lines (import_id, result);

-- The built-in sandbox provider's side: its payments and the webhooks it owes kencho.
CREATE TABLE sandbox_payments (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    amount INTEGER NOT NULL,
    method TEXT NOT NULL,
    description TEXT NOT NULL,
    return_url TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE sandbox_webhooks (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    body TEXT NOT NULL,
    deliver_at INTEGER NOT NULL,
    delivered_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sandbox_webhooks_due ON sandbox_webhooks (delivered_at, deliver_at);
