//! Refunds (過誤納還付): ordered by staff the roles table allows (`refund_order`, own division
//! by default; the 支出命令), decided by a 起案 above the tenant's threshold, reviewed by the
//! 会計管理者 (`refund_review`, never the person who ordered it; 地方自治法232条の4第2項), and
//! only then sent to the provider. The steps are `kencho_core::payment::refund`.

use kencho_core::payment::refund::{step, RefundAct, RefundError, RefundState};

use super::*;

impl From<RefundError> for AppError {
    fn from(e: RefundError) -> Self {
        AppError::Refused(e.code(), e.to_string())
    }
}

/// A refund as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub application_id: i64,
    pub amount: i64,
    pub reason: String,
    #[schema(value_type = String)]
    pub state: RefundState,
    pub kian_id: Option<i64>,
}

/// Staff whom the tenant's table of roles allows (by default 係長 and above of the payment's own
/// division, and administrators) order a refund of part or all of a paid fee (支出命令). Above
/// the tenant's limit it needs a 決裁 first: a 起案 is drafted, and the order stands when it is
/// carried out (施行). Nothing goes to the provider before the 会計管理者's review.
pub async fn request_refund<L: Links>(
    db: &Db,
    links: L,
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
    may_order(db, &links, staff, payment_id).await?;
    let limit = sandbox::settings(db, staff.tenant_id).await?.refund_approval_above;
    let kian = if amount > limit {
        let d = RefundDecision { payment_id, amount, reason: reason.trim().to_string() };
        Some(links.draft_refund_decision(db, staff, d).await?)
    } else {
        None
    };
    let (staff, reason) = (staff.clone(), reason.trim().to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let p = lock_refundable(conn, payment_id, amount).await?;
            let kian_id = match &kian {
                Some(drafted) => Some(links.insert_refund_decision(conn, &staff, drafted).await?),
                None => None,
            };
            let state = kencho_core::payment::refund::initial(kian_id.is_some());
            let id = insert_order(conn, &p, &staff, amount, &reason, state, kian_id).await?;
            Ok(Refund { id, payment_id, application_id: p.application_id, amount, reason, state, kian_id })
        })
    })
    .await
}

/// Refuses (404, 403) staff who may not order a refund of this payment: another tenant's, or
/// not allowed for the division the application belongs to.
async fn may_order<L: Links>(db: &Db, links: &L, staff: &Staff, payment_id: i64) -> Result<()> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1"))
        .bind(payment_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = payment_of(&row)?;
    if p.tenant_id != staff.tenant_id {
        return Err(AppError::NotFound);
    }
    let division = links.division_code(&mut *db.read.acquire().await?, p.application_id).await?;
    crate::security::policy::require(db, staff, Action::RefundOrder, Some(&division)).await
}

/// Locks the payment and refuses a refund of `amount` it cannot give: not paid, paid in cash,
/// or more than is left once the orders still pending are counted.
async fn lock_refundable(conn: &mut AnyConnection, payment_id: i64, amount: i64) -> Result<Payment> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1{lock}"))
        .bind(payment_id)
        .fetch_one(&mut *conn)
        .await?;
    let p = payment_of(&row)?;
    if p.state != State::Paid {
        return Err(AppError::Refused("not_paid", "only a paid fee can be refunded".into()));
    }
    // Cash goes back through the 会計課's own 支出 (a 口座振込 or the counter), which kencho
    // does not run: an order here could never be sent and would hold its yen for ever.
    if p.provider == Some(Provider::Counter) {
        return Err(AppError::Refused("refund_cash", "a fee paid in cash is refunded by the 会計課".into()));
    }
    let pending: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS pending FROM refunds WHERE payment_id = $1 \
         AND state IN ('awaiting_approval', 'ordered', 'to_send', 'requested')",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("pending")?;
    if amount > p.paid_amount - p.refunded_amount - pending {
        return Err(AppError::Refused("too_much", "the refund exceeds what is left to refund".into()));
    }
    Ok(p)
}

/// Writes the refund order (支出命令) and its audit entry; returns its id.
async fn insert_order(
    conn: &mut AnyConnection,
    p: &Payment,
    staff: &Staff,
    amount: i64,
    reason: &str,
    state: RefundState,
    kian_id: Option<i64>,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO refunds (tenant_id, payment_id, amount, reason, state, kian_id, requested_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(p.tenant_id)
    .bind(p.id)
    .bind(amount)
    .bind(reason)
    .bind(state.as_str())
    .bind(kian_id)
    .bind(staff.id)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    audit::append(
        conn,
        p.tenant_id,
        &format!("staff:{}", staff.id),
        "refund.ordered",
        &format!("payment:{}", p.id),
        serde_json::json!({"refund": id, "amount": amount, "reason": reason, "kian": kian_id}),
    )
    .await?;
    Ok(id)
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
        (row.try_get("amount")?, row.try_get("provider")?, row.try_get("provider_ref")?, row.try_get("tenant_id")?);
    let refund_ref = format!("re_{refund_id}");
    match Provider::parse(&provider) {
        Some(Provider::Sandbox) => {
            sandbox::refund(conn, tenant_id, provider_ref.as_deref().unwrap_or_default(), &refund_ref, amount).await?;
        }
        // Left `to_send` for the Stripe worker, which sends it after this commits (an HTTP call
        // must not hold the transaction); its result comes back as a webhook.
        Some(Provider::Stripe) => return Ok(()),
        _ => return Err(AppError::Refused("provider", format!("refunds through {provider} are not available"))),
    }
    advance(conn, refund_id, RefundAct::Sent, Some(&refund_ref)).await?;
    Ok(())
}

/// Moves a refund one step by the rules of `kencho_core::payment::refund`, recording the
/// provider's reference when given. A refund no longer in a state the act applies to (a late
/// or repeated answer from the provider) is left as it is; returns whether it moved.
pub(super) async fn advance(
    conn: &mut AnyConnection,
    refund_id: i64,
    act: RefundAct,
    provider_ref: Option<&str>,
) -> Result<bool> {
    let Some(row) = sqlx::query("SELECT id, state, requested_by FROM refunds WHERE id = $1")
        .bind(refund_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(false);
    };
    advance_row(conn, &row, act, provider_ref).await
}

/// The refunds the provider's refund `provider_ref` of payment `payment_id` settles, moved by
/// `act` (a provider's answer).
pub(super) async fn advance_by_ref(
    conn: &mut AnyConnection,
    payment_id: i64,
    provider_ref: &str,
    act: RefundAct,
) -> Result<()> {
    let rows = sqlx::query("SELECT id, state, requested_by FROM refunds WHERE provider_ref = $1 AND payment_id = $2")
        .bind(provider_ref)
        .bind(payment_id)
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        advance_row(conn, row, act, None).await?;
    }
    Ok(())
}

/// One step of a refund read as (id, state, requested_by).
async fn advance_row(
    conn: &mut AnyConnection,
    row: &sqlx::any::AnyRow,
    act: RefundAct,
    provider_ref: Option<&str>,
) -> Result<bool> {
    let refund_id: i64 = row.try_get("id")?;
    let from = parsed(row, "state", RefundState::parse)?;
    let Ok(next) = step(from, row.try_get("requested_by")?, act) else { return Ok(false) };
    let done_at = (next == RefundState::Succeeded).then(now_ms);
    let n = sqlx::query(
        "UPDATE refunds SET state = $1, provider_ref = COALESCE($2, provider_ref), done_at = COALESCE($3, done_at) \
         WHERE id = $4 AND state = $5",
    )
    .bind(next.as_str())
    .bind(provider_ref)
    .bind(done_at)
    .bind(refund_id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Called when a 起案 is carried out (施行): a refund waiting for that 決裁 is ordered, and
/// waits for the 会計管理者's review.
pub async fn on_kian_executed(conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
    step_by_kian(conn, kian_id, RefundAct::KianExecuted).await
}

/// Called when a 起案 is refused (却下) or abandoned (廃案): a refund waiting for that 決裁 is
/// rejected, and its yen are free to be refunded by another order.
pub async fn on_kian_closed(conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
    step_by_kian(conn, kian_id, RefundAct::KianRefused).await
}

/// Steps every refund waiting for 起案 `kian_id`, by the rules of `kencho_core::payment::refund`.
async fn step_by_kian(conn: &mut AnyConnection, kian_id: i64, act: RefundAct) -> Result<()> {
    let waiting = RefundState::AwaitingApproval;
    let rows = sqlx::query("SELECT id, requested_by FROM refunds WHERE kian_id = $1 AND state = $2 ORDER BY id")
        .bind(kian_id)
        .bind(waiting.as_str())
        .fetch_all(&mut *conn)
        .await?;
    for r in &rows {
        let next = step(waiting, r.try_get("requested_by")?, act)?;
        sqlx::query("UPDATE refunds SET state = $1 WHERE id = $2 AND state = $3")
            .bind(next.as_str())
            .bind(r.try_get::<i64, _>("id")?)
            .bind(waiting.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The 会計管理者's review of a refund order (支出命令の審査): approved, it goes to the provider;
/// refused, nothing is paid. The reviewer must hold `refund_review` and must not be the person
/// who ordered it (409 `refund_same_person`).
pub async fn review_refund(db: &Db, staff: &Staff, refund_id: i64, approve: bool) -> Result<Refund> {
    crate::security::policy::require(db, staff, Action::RefundReview, None).await?;
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let lock = crate::db::for_update(conn);
            let row = sqlx::query(&format!(
                "SELECT r.state, r.requested_by, r.tenant_id FROM refunds r WHERE r.id = $1{lock}"
            ))
            .bind(refund_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
            let tenant_id: i64 = row.try_get("tenant_id")?;
            if tenant_id != staff.tenant_id {
                return Err(AppError::NotFound);
            }
            let state = parsed(&row, "state", RefundState::parse)?;
            let next = step(state, row.try_get("requested_by")?, RefundAct::Review { reviewer: staff.id, approve })?;
            sqlx::query("UPDATE refunds SET state = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4")
                .bind(next.as_str())
                .bind(staff.id)
                .bind(now_ms())
                .bind(refund_id)
                .execute(&mut *conn)
                .await?;
            audit::append(
                conn,
                tenant_id,
                &format!("staff:{}", staff.id),
                "refund.reviewed",
                &format!("refund:{refund_id}"),
                serde_json::json!({"approve": approve, "state": next.as_str()}),
            )
            .await?;
            if next == RefundState::ToSend {
                send_refund(conn, refund_id).await?;
            }
            one(conn, refund_id).await
        })
    })
    .await
}

const REFUND_COLS: &str = "r.id, r.payment_id, p.application_id, r.amount, r.reason, r.state, r.kian_id";

fn refund_of(r: &sqlx::any::AnyRow) -> Result<Refund> {
    Ok(Refund {
        id: r.try_get("id")?,
        payment_id: r.try_get("payment_id")?,
        application_id: r.try_get("application_id")?,
        amount: r.try_get("amount")?,
        reason: r.try_get("reason")?,
        state: parsed(r, "state", RefundState::parse)?,
        kian_id: r.try_get("kian_id")?,
    })
}

async fn one(conn: &mut AnyConnection, refund_id: i64) -> Result<Refund> {
    let r = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1"
    ))
    .bind(refund_id)
    .fetch_one(&mut *conn)
    .await?;
    refund_of(&r)
}

/// Refund orders of the tenant waiting for the 会計管理者's review, oldest first.
pub async fn awaiting_review(db: &Db, tenant_id: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id \
         WHERE r.tenant_id = $1 AND r.state = 'ordered' ORDER BY r.id"
    ))
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(refund_of).collect()
}

pub async fn refunds_of(db: &Db, application_id: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.application_id = $1 ORDER BY r.id"
    ))
    .bind(application_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(refund_of).collect()
}
