//! Staff accounts: found by id, created by a tenant administrator or the command line, named
//! in lists of who acted.

use kencho_core::application::Role;

use super::store::{self, NewStaff};
use super::{check_password, hash_password, Staff};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

pub async fn staff_by_id(db: &Db, id: i64) -> Result<Option<Staff>> {
    store::staff_by_id(db, id).await
}

/// A staff member by (normalised) e-mail address.
pub async fn staff_by_email(db: &Db, email: &str) -> Result<Option<Staff>> {
    store::staff_by_email(db, email).await
}

/// Creates a staff account (the tenant administrator's or operator's job). The password is
/// set now; the second factor is enrolled at first sign-in.
pub async fn create_staff(
    db: &Db,
    tenant_code: &str,
    division: (&str, &str),
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<i64> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(detail!("detail.accounts.e_mail_address_2", email = email)));
    }
    if name.trim().is_empty() || !kencho_core::procedure::is_code(division.0) || division.1.trim().is_empty() {
        return Err(AppError::BadRequest(detail!("detail.accounts.name_division_code_z0")));
    }
    check_password(password, &[&email, name, "kencho", tenant_code])?;
    let hash = hash_password(password.to_string()).await?;
    let (tenant_code, name, d0, d1) =
        (tenant_code.to_string(), name.trim().to_string(), division.0.to_string(), division.1.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let tenant_id = crate::tenants::id_in(conn, &tenant_code).await?.ok_or_else(|| {
                AppError::BadRequest(detail!("detail.accounts.unknown_tenant", tenant_code = tenant_code))
            })?;
            let division_id = crate::procedures::upsert_division(conn, tenant_id, &d0, &d1).await?;
            let new = NewStaff {
                tenant_id,
                division_id,
                email: &email,
                name: &name,
                role: role.as_str(),
                password_hash: &hash,
                now: now_ms(),
            };
            let Some(id) = store::insert_staff(conn, new).await? else {
                return Err(AppError::Conflict(detail!("detail.accounts.already_has_account", email = email)));
            };
            audit::append(
                conn,
                tenant_id,
                "cli",
                "staff.create",
                &format!("staff:{id}"),
                serde_json::json!({"role": role.as_str()}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Every staff member's name in a tenant, by id (for showing who acted).
pub async fn staff_names(db: &Db, tenant_id: i64) -> Result<std::collections::HashMap<i64, String>> {
    store::staff_names(db, tenant_id).await
}
