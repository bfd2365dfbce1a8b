//! Refunds: requested by staff the roles table allows (own division by default), decided by a
//! 起案 above the tenant's threshold, sent to the provider by the refund worker.

use super::*;

/// A refund as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub application_id: i64,
    pub amount: i64,
    pub reason: String,
    pub state: String,
    pub kian_id: Option<i64>,
}

/// The kind of matter a refund above the tenant's limit is decided under (専決 table).
pub const REFUND_MATTER: &str = "還付";

/// Staff whom the tenant's table of roles allows (by default 係長 and above of the payment's own
/// division, and administrators) refund part or all of a paid fee. Above the tenant's limit it needs a
/// 決裁: a 起案 is drafted and the refund goes to the provider when it is carried out (施行).
pub async fn request_refund(
    db: &Db,
    cache: &crate::approval::setup::SetupCache,
    staff: &Staff,
    payment_id: i64,
    amount: i64,
    reason: &str,
) -> Result<Refund> {
    if reason.trim().is_empty() || reason.chars().count() > 500 || kencho_core::text::has_control_chars(reason, true) {
        return Err(AppError::BadRequest("give the reason for the refund (at most 500 characters)".into()));
    }
    if amount <= 0 {
        return Err(AppError::BadRequest("the refund must be at least 1 yen".into()));
    }
    let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1"))
        .bind(payment_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = payment_of(&row)?;
    if p.tenant_id != staff.tenant_id {
        return Err(AppError::NotFound);
    }
    let division: String =
        sqlx::query("SELECT d.code FROM applications a JOIN divisions d ON d.id = a.division_id WHERE a.id = $1")
            .bind(p.application_id)
            .fetch_one(&db.read)
            .await?
            .try_get("code")?;
    crate::security::policy::require(db, staff, Action::Refund, Some(&division)).await?;
    let limit = sandbox::settings(db, staff.tenant_id).await?.refund_approval_above;
    let kian = if amount > limit {
        let draft = crate::approval::kian::Draft {
            source: crate::approval::kian::Source::Internal,
            application_id: None,
            title: format!("手数料の還付について（領収番号 R-{payment_id}）"),
            body: format!(
                "次のとおり手数料を還付する。\n\n  領収番号：R-{payment_id}\n  還付額：{amount} 円\n  理由：{}\n",
                reason.trim()
            ),
            matter_kind: REFUND_MATTER.into(),
            amount: Some(amount),
            important: false,
            urgent: false,
            decision: None,
            drafter_post: None,
            consult: Vec::new(),
            retention_years: 5,
            disposal: "haiki".into(),
        };
        let mut draft = draft;
        let prep = crate::approval::kian::prepare(db, cache, staff, &mut draft).await?;
        Some((draft, prep))
    } else {
        None
    };
    let (staff, reason, keys) = (staff.clone(), reason.trim().to_string(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            let lock = if Dialect::of(conn) == Dialect::Postgres { " FOR UPDATE" } else { "" };
            let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1{lock}"))
                .bind(payment_id)
                .fetch_one(&mut *conn)
                .await?;
            let p = payment_of(&row)?;
            if p.state != "paid" {
                return Err(AppError::Refused("not_paid", "only a paid fee can be refunded".into()));
            }
            let pending: i64 = sqlx::query(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds WHERE payment_id = $1 AND state IN ('awaiting_approval', 'requested')",
            )
            .bind(payment_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            if amount > p.paid_amount - p.refunded_amount - pending {
                return Err(AppError::Refused("too_much", "the refund exceeds what is left to refund".into()));
            }
            let kian_id = match &kian {
                Some((draft, prep)) => Some(crate::approval::kian::insert(conn, &keys, &staff, draft, prep).await?),
                None => None,
            };
            let state = if kian_id.is_some() { "awaiting_approval" } else { "requested" };
            let id: i64 = sqlx::query(
                "INSERT INTO refunds (tenant_id, payment_id, amount, reason, state, kian_id, requested_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(p.tenant_id)
            .bind(payment_id)
            .bind(amount)
            .bind(&reason)
            .bind(state)
            .bind(kian_id)
            .bind(staff.id)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            audit::append(
                conn,
                p.tenant_id,
                &format!("staff:{}", staff.id),
                "refund.requested",
                &format!("payment:{payment_id}"),
                serde_json::json!({"refund": id, "amount": amount, "reason": reason, "kian": kian_id}),
            )
            .await?;
            if kian_id.is_none() {
                send_refund(conn, id).await?;
            }
            Ok(Refund { id, payment_id, application_id: p.application_id, amount, reason, state: state.into(), kian_id })
        })
    })
    .await
}

/// Asks the provider to refund (the sandbox answers with its webhook, like a real provider).
pub async fn send_refund(conn: &mut AnyConnection, refund_id: i64) -> Result<()> {
    let row = sqlx::query(
        "SELECT r.amount, p.provider, p.provider_ref, p.tenant_id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
    )
    .bind(refund_id)
    .fetch_one(&mut *conn)
    .await?;
    let (amount, provider, provider_ref, tenant_id): (i64, String, Option<String>, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    let refund_ref = format!("re_{refund_id}");
    match provider.as_str() {
        "sandbox" => {
            sandbox::refund(conn, tenant_id, provider_ref.as_deref().unwrap_or_default(), &refund_ref, amount).await?;
        }
        "stripe" => {
            // Sent by the Stripe worker after this commits (an HTTP call must not hold the
            // transaction); its result comes back as a webhook.
            sqlx::query("UPDATE refunds SET state = 'to_send' WHERE id = $1")
                .bind(refund_id)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        other => return Err(AppError::Refused("provider", format!("refunds through {other} are not available"))),
    }
    sqlx::query("UPDATE refunds SET state = 'requested', provider_ref = $1 WHERE id = $2")
        .bind(&refund_ref)
        .bind(refund_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Called when a 起案 is carried out (施行): a refund waiting for that 決裁 goes to the provider.
pub async fn on_kian_executed(conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
    let rows = sqlx::query("SELECT id FROM refunds WHERE kian_id = $1 AND state = 'awaiting_approval'")
        .bind(kian_id)
        .fetch_all(&mut *conn)
        .await?;
    for r in rows {
        send_refund(conn, r.try_get(0)?).await?;
    }
    Ok(())
}

pub async fn refunds_of(db: &Db, application_id: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(
        "SELECT r.id, r.payment_id, r.amount, r.reason, r.state, r.kian_id FROM refunds r JOIN payments p ON p.id = r.payment_id \
         WHERE p.application_id = $1 ORDER BY r.id",
    )
    .bind(application_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Refund {
                id: r.try_get(0)?,
                payment_id: r.try_get(1)?,
                application_id,
                amount: r.try_get(2)?,
                reason: r.try_get(3)?,
                state: r.try_get(4)?,
                kian_id: r.try_get(5)?,
            })
        })
        .collect()
}
