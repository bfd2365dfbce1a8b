#!/usr/bin/env python3
"""Checks that every capability of crates/kencho/src has the one shape docs/architecture.md
describes: a folder with mod.rs, model.rs (or model/) and store.rs (or store/), SQL only in its store, and
that store naming only its own tables (and the lower modules' and the actors').

SQL is any sqlx query call, a statement's text ("SELECT …", "INSERT …", "UPDATE …", "DELETE …")
or a row lock (for_update, lock_for_update); a file's `#[cfg(test)]` module is not
counted. Outside the capabilities, SQL may live only in the lower modules that own their tables
(OWNERS). Usage: scripts/capability-shape.py [--check]
"""
import os, re, sys

SRC = os.path.join(os.path.dirname(__file__), "..", "crates", "kencho", "src")
CAPABILITIES = ["accounts", "applications", "approval", "documents", "evacuation", "iot", "payments"]
# Lower modules that own their tables and are their own store; `crypto/reencrypt.rs` re-seals
# every sealed column in place (a key rotation is one pass over all of them, by design).
OWNERS = {"db.rs", "audit", "mail.rs", "security", "tenants.rs", "procedures.rs", "crypto/reencrypt.rs"}
# Which capability's SQL may name a table. The lower modules' tables (tenants, divisions,
# procedures, the audit log, the outbox …) and the actor tables (residents and staff: every
# capability names who acted; only accounts writes them) are everybody's to read.
TABLES = {
    "accounts": "api_tokens email_verifications known_devices login_attempts rate_limits sessions",
    "applications": "application_events applications attachments",
    "approval": "absences approval_setup disposal_log kian kian_events kian_files kian_waiting record_holds records",
    "documents": "issued_documents signing_certificates signing_keys",
    "evacuation": "evacuation_alert_areas evacuation_alerts evacuation_deliveries evacuation_layer_heads "
    "evacuation_layers evacuation_plans evacuation_subscriptions jma_telegrams",
    "iot": "iot_alarm_log iot_alarms iot_applications iot_captures iot_contacts iot_devices iot_events iot_people "
    "iot_permits iot_rejected iot_settings",
    "payments": "chotei fee_schedules payment_agents payment_events payment_settings payment_unmatched_events payments "
    "refunds sandbox_payments sandbox_webhooks settlement_imports settlement_lines",
}
OWNER = {t: cap for cap, ts in TABLES.items() for t in ts.split()}
TABLE_USE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)")
SQL = re.compile(r'sqlx::query|"(SELECT|INSERT|UPDATE|DELETE|WITH) |\bfor_update\(|lock_for_update\(')


def code_of(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^#\[cfg\(test\)\]", text, re.M)
    text = text[: m.start()] if m else text
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def is_store(rel):
    parts = rel.split(os.sep)
    return parts[-1] == "store.rs" or "store" in parts[:-1]


def owned(rel):
    return any(rel == o or rel.startswith(o + os.sep) for o in OWNERS)


problems = []
for cap in CAPABILITIES:
    d = os.path.join(SRC, cap)
    if not os.path.isdir(d):
        problems.append(f"{cap}: not a folder")
        continue
    if not os.path.isfile(os.path.join(d, "mod.rs")):
        problems.append(f"{cap}: no mod.rs")
    # model and store are a file, or a folder of files once they outgrow one.
    for part in ("model", "store"):
        if not (os.path.isfile(os.path.join(d, f"{part}.rs")) or os.path.isdir(os.path.join(d, part))):
            problems.append(f"{cap}: no {part}.rs or {part}/")

for root, _, files in os.walk(SRC):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(root, f)
        rel = os.path.relpath(p, SRC)
        top = rel.split(os.sep)[0]
        hits = [n + 1 for n, line in enumerate(code_of(p).splitlines()) if SQL.search(line)]
        if not hits:
            continue
        if top in CAPABILITIES and is_store(rel):
            others = sorted({m.group(1) for m in TABLE_USE.finditer(code_of(p)) if OWNER.get(m.group(1), top) != top})
            if others:
                problems.append(f"{rel}: names other capabilities' tables: {', '.join(others)}")
            continue
        if top not in CAPABILITIES and owned(rel):
            continue
        problems.append(f"{rel}: SQL outside a store (lines {', '.join(map(str, hits[:8]))}{' …' if len(hits) > 8 else ''})")

for p in problems:
    print(p)
if "--check" in sys.argv:
    sys.exit(1 if problems else 0)
