-- 公金の収納 (issue 18): the 手数料条例 as data, 調定, the 会計管理者's review of refund orders,
-- 指定納付受託者, and the two dates of an agent's payment.

-- Each tenant's 手数料条例 (fee schedule) as a TOML document, checked whole when saved.
CREATE TABLE fee_schedules (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    document TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- 調定 (地方自治法施行令154条): what is owed, by which item of the 条例, less which 減免, for
-- which fiscal year, decided by whom and when; made when the fee becomes due, before it is
-- received. Each payment is 収入 against one 調定.
CREATE TABLE chotei (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    application_id INTEGER NOT NULL REFERENCES applications(id),
    payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(id),
    item_code TEXT NOT NULL,
    article TEXT NOT NULL,
    revenue_code TEXT NOT NULL,
    units INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    reduction INTEGER NOT NULL,
    ground_code TEXT,
    amount INTEGER NOT NULL,
    fiscal_year INTEGER NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at INTEGER NOT NULL
);
CREATE INDEX chotei_year ON chotei (tenant_id, fiscal_year);

-- The 会計管理者's review of a refund order (支出命令の審査, 地方自治法232条の4第2項).
ALTER TABLE refunds ADD COLUMN reviewed_by INTEGER REFERENCES staff(id);
ALTER TABLE refunds ADD COLUMN reviewed_at INTEGER;

-- 納付日とみなす日 (the day the resident paid the agent) and the day the agent's money arrived
-- (from its settlement file), kept apart.
ALTER TABLE payments ADD COLUMN deemed_paid_on TEXT;
ALTER TABLE payments ADD COLUMN funds_arrived_on TEXT;

-- 指定納付受託者 (地方自治法231条の2の3): a provider is used only with its 指定 and 告示 recorded,
-- and only for the revenues the 告示 names (`covers`: '*' for every fee, or item codes).
CREATE TABLE payment_agents (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    provider TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    kokuji_number TEXT NOT NULL,
    kokuji_date TEXT NOT NULL,
    covers TEXT NOT NULL,
    designated_by TEXT NOT NULL,
    designated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, provider)
);
