//! The audit chain catches tampering; the outbox retries and never sends twice.

use crate::harness::*;

#[tokio::test]
async fn audit_verify_names_the_tampered_entry() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "ラッキー").await;
    let staff = app.staff_token("kacho@minamisoma.example.jp").await;
    api()
        .get(app.url(&format!("/api/v1/staff/applications/{id}?purpose=審査")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    let reports = kencho::audit::verify(&app.db).await.unwrap();
    assert!(reports.iter().all(|r| r.problem.is_none()));
    let tenant: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM tenants WHERE code = 'minamisoma'")
            .fetch_one(&app.db.read)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    let entries = reports.iter().find(|r| r.tenant_id == tenant).unwrap().entries;
    assert!(entries >= 4, "import, submit, login, view: {entries}");
    let detail = |sql: String| {
        let db = app.db.clone();
        async move { sqlx::query(&sql).execute(db.unchecked_write_pool()).await.unwrap() }
    };
    let problem = || async {
        kencho::audit::verify(&app.db)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.tenant_id == tenant)
            .and_then(|r| r.problem)
            .map(|p| p.to_string())
    };

    // Altered: someone who owns the database drops the guards and edits why a view happened.
    app.drop_audit_guards().await;
    detail(format!(
        "UPDATE audit_log SET detail = '{{\"purpose\":\"nothing\"}}' WHERE tenant_id = {tenant} AND seq = 3"
    ))
    .await;
    assert_eq!(problem().await.unwrap(), "entry 3: its content was altered (hash does not match)");
    // Put it back by restoring the row's hash chain? No: re-hash on top, the next link breaks.
    let (at, actor, action, target, prev): (i64, String, String, String, String) = {
        use sqlx::Row;
        let r = sqlx::query(&format!(
            "SELECT at, actor, action, target, prev_hash FROM audit_log WHERE tenant_id = {tenant} AND seq = 3"
        ))
        .fetch_one(&app.db.read)
        .await
        .unwrap();
        (
            r.try_get(0).unwrap(),
            r.try_get(1).unwrap(),
            r.try_get(2).unwrap(),
            r.try_get(3).unwrap(),
            r.try_get(4).unwrap(),
        )
    };
    let forged = kencho_core::audit::Entry {
        tenant_id: tenant,
        seq: 3,
        at_ms: at,
        actor,
        action,
        target,
        detail: "{\"purpose\":\"nothing\"}".into(),
        prev_hash: prev,
    };
    detail(format!("UPDATE audit_log SET hash = '{}' WHERE tenant_id = {tenant} AND seq = 3", forged.hash())).await;
    assert_eq!(problem().await.unwrap(), "entry 4: the entry before it was removed or altered (link does not match)");

    // Removed: a fresh app, delete an entry in the middle, then the last one.
    let app2 = spawn_app().await;
    let t2 = app2.resident_token().await;
    app2.submit_dog(&t2, "ハナ").await;
    app2.submit_dog(&t2, "ソラ").await;
    app2.drop_audit_guards().await;
    use sqlx::Row;
    let tenant2: i64 = sqlx::query("SELECT id FROM tenants WHERE code = 'minamisoma'")
        .fetch_one(&app2.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    sqlx::query(&format!("DELETE FROM audit_log WHERE tenant_id = {tenant2} AND seq = 2"))
        .execute(app2.db.unchecked_write_pool())
        .await
        .unwrap();
    let p = kencho::audit::verify(&app2.db)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.tenant_id == tenant2)
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(p.to_string(), "entry 3: expected sequence number 2 (an entry was removed or inserted)");

    let app3 = spawn_app().await;
    let t3 = app3.resident_token().await;
    app3.submit_dog(&t3, "ハナ").await;
    app3.drop_audit_guards().await;
    let tenant3: i64 = sqlx::query("SELECT id FROM tenants WHERE code = 'minamisoma'")
        .fetch_one(&app3.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let last: i64 = sqlx::query(&format!("SELECT MAX(seq) FROM audit_log WHERE tenant_id = {tenant3}"))
        .fetch_one(&app3.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    sqlx::query(&format!("DELETE FROM audit_log WHERE tenant_id = {tenant3} AND seq = {last}"))
        .execute(app3.db.unchecked_write_pool())
        .await
        .unwrap();
    let p = kencho::audit::verify(&app3.db)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.tenant_id == tenant3)
        .unwrap()
        .problem
        .unwrap();
    assert!(p.to_string().contains("were removed"), "{p}");
}

#[tokio::test]
async fn mail_is_retried_and_sent_once() {
    // The relay refuses the first message with a temporary error.
    let app = spawn_app_with(1).await;
    let token = app.resident_token().await;
    let (_, receipt) = app.submit_dog(&token, "テツ").await;
    let mail = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, &receipt).await;
    assert!(mail.body.contains("犬の登録申請"));
    use sqlx::Row;
    // The sink has the mail before the worker records it as sent: wait for the record.
    let mut row = None;
    for _ in 0..50 {
        let r = sqlx::query("SELECT status, attempts FROM outbox WHERE dedupe_key LIKE 'app:%:submit:%'")
            .fetch_one(&app.db.read)
            .await
            .unwrap();
        if r.try_get::<String, _>(0).unwrap() == "sent" {
            row = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let row = row.expect("the outbox row is marked sent");
    assert_eq!(row.try_get::<i64, _>(1).unwrap(), 2, "first attempt refused, second delivered");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, &receipt), 1, "never twice");

    // Queuing the same event twice keeps one mail.
    let mut tx = app.db.unchecked_write_pool().begin().await.unwrap();
    kencho::mail::enqueue(&mut tx, "event:1", "a@example.jp", "s", "b").await.unwrap();
    kencho::mail::enqueue(&mut tx, "event:1", "a@example.jp", "s", "b").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE dedupe_key = 'event:1'").await, 1);
}

/// A rolled-back action leaves no mail behind: the outbox row is in the same transaction.
#[tokio::test]
async fn rolled_back_actions_send_nothing() {
    let app = spawn_app().await;
    let before = app.count("SELECT COUNT(*) FROM outbox").await;
    {
        let mut tx = app.db.unchecked_write_pool().begin().await.unwrap();
        kencho::mail::enqueue(&mut tx, "event:rolled-back", "a@example.jp", "s", "b").await.unwrap();
        tx.rollback().await.unwrap();
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, before);
}
