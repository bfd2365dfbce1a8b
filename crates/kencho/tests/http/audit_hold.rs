//! The audit log holds against the database's owner: the database refuses changes, a head that
//! lags its chain is caught, and signed checkpoints outside the database catch a chain cut,
//! rewound, rewritten or deleted by someone who dropped the guards.

use kencho::audit::ChainReport;
use kencho_core::audit::{ChainBreak, Entry};
use sqlx::Row;

use crate::harness::*;

fn problem_of(reports: &[ChainReport], tenant: i64) -> Option<ChainBreak> {
    reports.iter().find(|r| r.tenant_id == tenant).and_then(|r| r.problem.clone())
}

async fn last_entry(app: &TestApp, tenant: i64) -> (i64, String) {
    let r =
        sqlx::query(&format!("SELECT seq, hash FROM audit_log WHERE tenant_id = {tenant} ORDER BY seq DESC LIMIT 1"))
            .fetch_one(&app.db.read)
            .await
            .unwrap();
    (r.try_get("seq").unwrap(), r.try_get("hash").unwrap())
}

#[tokio::test]
async fn the_database_refuses_to_change_the_log() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    app.submit_dog(&token, "ラッキー").await;
    let tenant = app.tenant_id("minamisoma").await;
    let mut refused = vec![
        format!("UPDATE audit_log SET detail = '{{}}' WHERE tenant_id = {tenant} AND seq = 1"),
        format!("DELETE FROM audit_log WHERE tenant_id = {tenant} AND seq > 1"),
        format!("UPDATE audit_heads SET seq = seq - 1 WHERE tenant_id = {tenant}"),
        format!("UPDATE audit_heads SET tenant_id = 999 WHERE tenant_id = {tenant}"),
        format!("DELETE FROM audit_heads WHERE tenant_id = {tenant}"),
    ];
    if app.db.dialect == kencho::db::Dialect::Postgres {
        refused.push("TRUNCATE audit_log".into());
        refused.push("TRUNCATE audit_heads".into());
    }
    let before = app.count("SELECT COUNT(*) FROM audit_log").await;
    for sql in &refused {
        let err = sqlx::query(sql).execute(app.db.unchecked_write_pool()).await.expect_err(sql).to_string();
        assert!(err.contains("append-only") || err.contains("only moves forward"), "{sql}: {err}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, before);
    let reports = kencho::audit::verify(&app.db).await.unwrap();
    assert!(reports.iter().all(|r| r.problem.is_none()), "{reports:?}");
    // Appending is what kencho does, and still works.
    app.submit_dog(&token, "ハナ").await;
    assert!(app.count("SELECT COUNT(*) FROM audit_log").await > before);
}

#[tokio::test]
async fn an_entry_appended_behind_the_heads_back_is_caught() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    app.submit_dog(&token, "ラッキー").await;
    let tenant = app.tenant_id("minamisoma").await;
    let (seq, hash) = last_entry(&app, tenant).await;
    // A well-formed entry, linked to the last one, inserted without moving the head: the first
    // verifier only compared the head when the chain was shorter, so this passed as intact.
    let forged = Entry {
        tenant_id: tenant,
        seq: seq + 1,
        at_ms: 1_800_000_000_000,
        actor: "staff:1".into(),
        action: "application.view".into(),
        target: "application:1".into(),
        detail: "{\"purpose\":\"審査\"}".into(),
        prev_hash: hash,
    };
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, seq, at, actor, action, target, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(forged.tenant_id)
    .bind(forged.seq)
    .bind(forged.at_ms)
    .bind(&forged.actor)
    .bind(&forged.action)
    .bind(&forged.target)
    .bind(&forged.detail)
    .bind(&forged.prev_hash)
    .bind(forged.hash())
    .execute(app.db.unchecked_write_pool())
    .await
    .unwrap();
    let reports = kencho::audit::verify(&app.db).await.unwrap();
    assert_eq!(problem_of(&reports, tenant), Some(ChainBreak::Appended { last: seq + 1, head: seq }));
}

/// Rewrites a chain from entry `from` on as its owner could: each entry re-hashed and relinked,
/// the head moved to match, so that the chain alone verifies.
async fn rewrite_from(app: &TestApp, tenant: i64, from: i64, detail: &str) {
    let rows = sqlx::query(&format!(
        "SELECT seq, at, actor, action, target, detail, prev_hash FROM audit_log WHERE tenant_id = {tenant} AND seq >= {from} ORDER BY seq"
    ))
    .fetch_all(&app.db.read)
    .await
    .unwrap();
    let mut prev: String = rows[0].try_get("prev_hash").unwrap();
    for (i, r) in rows.iter().enumerate() {
        let e = Entry {
            tenant_id: tenant,
            seq: r.try_get("seq").unwrap(),
            at_ms: r.try_get("at").unwrap(),
            actor: r.try_get("actor").unwrap(),
            action: r.try_get("action").unwrap(),
            target: r.try_get("target").unwrap(),
            detail: if i == 0 { detail.to_string() } else { r.try_get("detail").unwrap() },
            prev_hash: prev.clone(),
        };
        let hash = e.hash();
        sqlx::query("UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE tenant_id = $4 AND seq = $5")
            .bind(&e.detail)
            .bind(&e.prev_hash)
            .bind(&hash)
            .bind(tenant)
            .bind(e.seq)
            .execute(app.db.unchecked_write_pool())
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_heads SET hash = $1 WHERE tenant_id = $2")
        .bind(prev)
        .bind(tenant)
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn signed_checkpoints_catch_a_cut_rewound_rewritten_or_deleted_chain() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    app.submit_dog(&token, "ラッキー").await;
    app.submit_dog(&token, "ハナ").await;
    let tenant = app.tenant_id("minamisoma").await;
    let mut target = app.cfg.audit_checkpoints.clone();
    target.auditor_email = Some("auditor@kansa.example.jp".into());
    let written = kencho::flows::checkpoints::write_all(&app.db, &target).await.unwrap();
    let (seq, hash) = last_entry(&app, tenant).await;
    let cp = written.iter().find(|c| c.tenant_id == tenant).expect("a checkpoint for the tenant");
    assert_eq!((cp.seq, cp.head.as_str()), (seq, hash.as_str()));
    // Nothing new, nothing written; the file is outside the database, signed, one line a chain.
    assert!(kencho::flows::checkpoints::write_all(&app.db, &target).await.unwrap().is_empty());
    let file = std::fs::read_to_string(target.dir.join(format!("tenant-{tenant}.jsonl"))).unwrap();
    assert_eq!(kencho_core::audit::checkpoint::parse_file(tenant, &file).unwrap().len(), 1);
    // The auditor gets a copy by mail.
    app.smtp.wait_for("auditor@kansa.example.jp", &cp.signature).await;
    assert_eq!(app.smtp.count_to("auditor@kansa.example.jp", &cp.signature), 1);
    let reports = kencho::audit::verify_against(&app.db, &target.dir).await.unwrap();
    assert!(reports.iter().all(|r| r.problem.is_none()), "{reports:?}");

    // The owner drops the guards, cuts the last two entries and rewinds the head to match.
    app.drop_audit_guards().await;
    sqlx::query(&format!("DELETE FROM audit_log WHERE tenant_id = {tenant} AND seq > {}", seq - 2))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let (kept, kept_hash) = last_entry(&app, tenant).await;
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE tenant_id = $3")
        .bind(kept)
        .bind(&kept_hash)
        .bind(tenant)
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    assert_eq!(problem_of(&kencho::audit::verify(&app.db).await.unwrap(), tenant), None, "alone it looks whole");
    let reports = kencho::audit::verify_against(&app.db, &target.dir).await.unwrap();
    assert_eq!(problem_of(&reports, tenant), Some(ChainBreak::Cut { seq, last: seq - 2 }));

    // Then deletes the chain whole.
    sqlx::query(&format!("DELETE FROM audit_log WHERE tenant_id = {tenant}"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    sqlx::query(&format!("DELETE FROM audit_heads WHERE tenant_id = {tenant}"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let reports = kencho::audit::verify_against(&app.db, &target.dir).await.unwrap();
    assert_eq!(problem_of(&reports, tenant), Some(ChainBreak::Deleted { seq }));

    // A forged checkpoint line does not verify.
    let forged = file.replacen(&format!("\"seq\":{seq}"), &format!("\"seq\":{}", seq + 5), 1);
    std::fs::write(target.dir.join(format!("tenant-{tenant}.jsonl")), forged).unwrap();
    let reports = kencho::audit::verify_against(&app.db, &target.dir).await.unwrap();
    assert!(matches!(problem_of(&reports, tenant), Some(ChainBreak::BadCheckpoint { line: 1, .. })), "{reports:?}");
}

#[tokio::test]
async fn a_rewritten_chain_verifies_alone_but_not_against_its_checkpoint() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    app.submit_dog(&token, "ラッキー").await;
    let tenant = app.tenant_id("minamisoma").await;
    let target = app.cfg.audit_checkpoints.clone();
    kencho::flows::checkpoints::write_all(&app.db, &target).await.unwrap();
    let (seq, _) = last_entry(&app, tenant).await;
    app.drop_audit_guards().await;
    rewrite_from(&app, tenant, 2, "{\"purpose\":\"nothing happened\"}").await;
    assert_eq!(problem_of(&kencho::audit::verify(&app.db).await.unwrap(), tenant), None);
    let reports = kencho::audit::verify_against(&app.db, &target.dir).await.unwrap();
    assert_eq!(problem_of(&reports, tenant), Some(ChainBreak::Rewritten { seq }));
    // And kencho will not sign on top of it.
    app.submit_dog(&token, "ハナ").await;
    assert!(kencho::flows::checkpoints::write_all(&app.db, &target).await.is_err());
}

#[tokio::test]
async fn a_resident_gets_a_proof_that_their_act_is_in_the_log() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "ラッキー").await;
    let tenant = app.tenant_id("minamisoma").await;
    let seq = app
        .count(&format!(
            "SELECT seq FROM audit_log WHERE tenant_id = {tenant} AND action = 'application.submit' AND target = 'application:{id}'"
        ))
        .await;
    let url = app.url(&format!("/api/v1/audit/proof?tenant=minamisoma&seq={seq}"));
    let res = api().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let proof: kencho::flows::checkpoints::Proof = proof_from(&body);
    assert_eq!(proof.entry.seq, seq);
    assert!(proof.tree_size >= seq);
    kencho::flows::checkpoints::check_proof(&proof).unwrap();
    // An altered entry, or a path for another place, does not check.
    let mut altered = proof_from(&body);
    altered.entry.detail = "{}".into();
    assert!(kencho::flows::checkpoints::check_proof(&altered).is_err());
    let mut moved = proof_from(&body);
    moved.leaf_index += 1;
    assert!(kencho::flows::checkpoints::check_proof(&moved).is_err());

    // Someone else's entry: 404 to another resident and to staff who are not administrators.
    let other = app.second_resident("soma@example.jp").await;
    assert_eq!(api().get(&url).bearer_auth(&other).send().await.unwrap().status(), 404);
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    assert_eq!(api().get(&url).bearer_auth(&kacho).send().await.unwrap().status(), 404);
    let admin = app.staff_token("admin@minamisoma.example.jp").await;
    assert_eq!(api().get(&url).bearer_auth(&admin).send().await.unwrap().status(), 200);
    let other_admin = app.staff_token("admin@aizuwakamatsu.example.jp").await;
    assert_eq!(api().get(&url).bearer_auth(&other_admin).send().await.unwrap().status(), 404);
    assert_eq!(api().get(&url).send().await.unwrap().status(), 401);
}

fn proof_from(v: &serde_json::Value) -> kencho::flows::checkpoints::Proof {
    serde_json::from_value(v.clone()).unwrap()
}
