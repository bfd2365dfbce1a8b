//! The SQL of network-server applications bound to a tenant (`iot_applications`).

use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::iot::model::Binding;

/// Binds `(format, application)` to the tenant; the database's own error when it cannot (the
/// service tells an application already bound from other failures).
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: i64,
    format: &str,
    application: &str,
    now: i64,
) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO iot_applications (tenant_id, format, application, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(tenant_id)
    .bind(format)
    .bind(application)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")
}

/// The tenant's bound applications, in the order they were bound.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Binding>> {
    let rows = sqlx::query("SELECT id, format, application FROM iot_applications WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(Binding::from_row).collect()
}

/// Unbinds the tenant's application `id`; how many rows went.
pub async fn delete(conn: &mut AnyConnection, id: i64, tenant_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM iot_applications WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
