use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use crate::db::{Arg, Batch, Db};
use crate::error::Result;
use crate::payments::model::{method_of, DailyGroup, LineRow, PaidAtProvider, StoredFile};

/// A tenant's paid payments at `provider`, by the reference its settlement file uses.
pub async fn paid_at_provider(db: &Db, tenant_id: i64, provider: Provider) -> Result<Vec<PaidAtProvider>> {
    let rows = sqlx::query(
        "SELECT id, CASE WHEN provider = 'stripe' THEN payment_intent ELSE provider_ref END AS match_ref, charge_id, \
         paid_amount, paid_at FROM payments WHERE tenant_id = $1 AND provider = $2 AND state = 'paid'",
    )
    .bind(tenant_id)
    .bind(provider.as_str())
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(PaidAtProvider::from_row).collect()
}

/// Writes a settlement import; returns its id.
pub async fn insert_import(
    conn: &mut AnyConnection,
    (tenant_id, imported_by): (i64, i64),
    file: &StoredFile,
    now: i64,
) -> Result<i64> {
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let counts = file.counts;
    Ok(sqlx::query(
        "INSERT INTO settlement_imports (tenant_id, provider, filename, sha256, lines, matched, mismatched, unknown, missing, imported_by, imported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant_id)
    .bind(file.provider.as_str())
    .bind(&file.filename)
    .bind(&file.sha)
    .bind(n(counts.0))
    .bind(n(counts.1))
    .bind(n(counts.2))
    .bind(n(counts.3))
    .bind(n(counts.4))
    .bind(imported_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Writes an import's lines.
pub async fn insert_lines(conn: &mut AnyConnection, import_id: i64, rows: &[LineRow]) -> Result<()> {
    // Many lines: sent in batches of statements, not one round trip each.
    for chunk in rows.chunks(500) {
        let mut b = Batch::new();
        for (line, rf, gross, fee, pid, result) in chunk {
            b.push(
                "INSERT INTO settlement_lines (import_id, line_no, provider_ref, gross, fee, payment_id, result) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![Arg::Int(import_id), Arg::Int(*line), Arg::Text(rf.clone()), Arg::Int(*gross), Arg::Int(*fee), Arg::OptInt(*pid), Arg::Text((*result).into())],
            );
        }
        b.run(conn).await?;
    }
    Ok(())
}

/// Writes the day each payment's money arrived: (payment, YYYY-MM-DD), the first day kept.
pub async fn record_arrivals(conn: &mut AnyConnection, arrivals: &[(i64, String)]) -> Result<()> {
    for chunk in arrivals.chunks(500) {
        let mut b = Batch::new();
        for (pid, day) in chunk {
            b.push(
                "UPDATE payments SET funds_arrived_on = $1 WHERE id = $2 AND funds_arrived_on IS NULL",
                vec![Arg::Text(day.clone()), Arg::Int(*pid)],
            );
        }
        b.run(conn).await?;
    }
    Ok(())
}

/// A tenant's payments paid in [start, end), grouped by 歳入科目, method and 年度 of 調定.
pub async fn collected_between(db: &Db, tenant_id: i64, (start, end): (i64, i64)) -> Result<Vec<DailyGroup>> {
    let rows = sqlx::query(
        "SELECT p.revenue_code, p.method, c.fiscal_year, COUNT(*) AS n, CAST(COALESCE(SUM(p.paid_amount), 0) AS BIGINT) AS total \
         FROM payments p \
         LEFT JOIN chotei c ON c.payment_id = p.id WHERE p.tenant_id = $1 AND p.paid_at >= $2 AND p.paid_at < $3 \
         GROUP BY p.revenue_code, p.method, c.fiscal_year",
    )
    .bind(tenant_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(DailyGroup::from_row).collect()
}

/// A tenant's refunds done in [start, end), grouped as [`collected_between`].
pub async fn refunded_between(db: &Db, tenant_id: i64, (start, end): (i64, i64)) -> Result<Vec<DailyGroup>> {
    let rows = sqlx::query(
        "SELECT p.revenue_code, p.method, c.fiscal_year, COUNT(*) AS n, CAST(COALESCE(SUM(r.amount), 0) AS BIGINT) AS total \
         FROM refunds r \
         JOIN payments p ON p.id = r.payment_id LEFT JOIN chotei c ON c.payment_id = p.id \
         WHERE r.tenant_id = $1 AND r.state = 'succeeded' AND r.done_at >= $2 AND r.done_at < $3 GROUP BY p.revenue_code, p.method, c.fiscal_year",
    )
    .bind(tenant_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(DailyGroup::from_row).collect()
}

/// A tenant's paid payments per procedure title and method: (title, method, count, paid,
/// refunded).
pub async fn paid_by_procedure(db: &Db, tenant_id: i64) -> Result<Vec<(String, Option<PaymentMethod>, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT pr.title, p.method, COUNT(*) AS n, CAST(COALESCE(SUM(p.paid_amount), 0) AS BIGINT) AS paid, \
         CAST(COALESCE(SUM(p.refunded_amount), 0) AS BIGINT) AS refunded FROM payments p JOIN procedures pr ON pr.id = p.procedure_id \
         WHERE p.tenant_id = $1 AND p.state = 'paid' GROUP BY pr.title, p.method ORDER BY pr.title, p.method",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("title")?, method_of(r)?, r.try_get("n")?, r.try_get("paid")?, r.try_get("refunded")?)))
        .collect()
}
