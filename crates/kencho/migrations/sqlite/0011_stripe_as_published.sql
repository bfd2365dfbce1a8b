-- Stripe as it is really used (issue 12): the charge each payment became, for balance reports
-- whose chosen columns name charges rather than PaymentIntents; and events about objects
-- kencho did not create, acknowledged with 2xx (Stripe retries anything else for days) and
-- kept here for whoever looks into them.
ALTER TABLE payments ADD COLUMN charge_id TEXT;
CREATE INDEX payments_charge ON payments (tenant_id, charge_id);

CREATE TABLE payment_unmatched_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    object_ref TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (tenant_id, provider, event_id)
);
