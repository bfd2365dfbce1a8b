//! Staff accounts: found by id, created on the command line or invited by a tenant
//! administrator, their role and division changed, ended; named in lists of who acted. The
//! tenant's divisions are kept here too.

use kencho_core::application::Role;

use super::model::{AccountKind, StaffEntry};
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

/// How long an invitation's link stays usable.
pub const INVITE_DAYS: i64 = 7;

/// Whom an administrator invites: the account is made now, and the person sets their password
/// through the mailed link (the second factor is enrolled at the first sign-in).
pub struct Invite<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub division_code: &'a str,
    pub role: Role,
    pub lang: &'a str,
    pub base_url: &'a str,
}

/// Invites a staff member into the administrator's tenant; returns the new account's id.
pub async fn invite_staff(db: &Db, admin: &Staff, inv: Invite<'_>) -> Result<i64> {
    let email = kencho_core::text::nfkc_trim(inv.email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(detail!("detail.accounts.e_mail_address_2", email = email)));
    }
    let name = inv.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || kencho_core::text::has_control_chars(&name, false) {
        return Err(AppError::BadRequest(detail!("detail.accounts.name")));
    }
    let (token, link) = super::reset::new_link(inv.base_url);
    let (subject, body) = crate::notify::staff_invite(inv.lang, (&name, &admin.tenant_name), &link, INVITE_DAYS);
    let (tenant_id, actor, division, role) =
        (admin.tenant_id, format!("staff:{}", admin.id), inv.division_code.to_string(), inv.role);
    db.transact(move |conn| {
        Box::pin(async move {
            let division_id = crate::procedures::division_id(conn, tenant_id, &division).await?.ok_or_else(|| {
                AppError::BadRequest(detail!("detail.accounts.unknown_division", division = division))
            })?;
            let new = NewStaff {
                tenant_id,
                division_id,
                email: &email,
                name: &name,
                role: role.as_str(),
                password_hash: store::NOT_SET,
                now: now_ms(),
            };
            let Some(id) = store::insert_staff(conn, new).await? else {
                return Err(AppError::Conflict(detail!("detail.accounts.already_has_account", email = email)));
            };
            let link = (token.as_str(), "invite", INVITE_DAYS * 86_400_000);
            super::reset::issue_link(conn, (AccountKind::Staff, id), link, (&email, &subject, &body)).await?;
            let detail = serde_json::json!({"role": role.as_str(), "division": division});
            audit::append(conn, tenant_id, &actor, "staff.invite", &format!("staff:{id}"), detail).await?;
            Ok(id)
        })
    })
    .await
}

/// A role by its code (`tanto`, `kakaricho`, `kacho`, `admin`), or a refusal that lists them.
pub fn parse_role(code: &str) -> Result<Role> {
    Role::parse(code).ok_or_else(|| AppError::BadRequest(detail!("detail.accounts.unknown_role", role = code)))
}

/// A change to a live staff account of the administrator's tenant.
pub enum StaffChange<'a> {
    /// A new role and division.
    Role(Role, &'a str),
    /// The account ends: no sign-in, its sessions and tokens end; its name stays on its acts.
    Deactivate,
}

/// Changes or ends a staff account. Another tenant's account is not found; the tenant keeps
/// at least one live administrator (an administrator cannot remove the last one, themself
/// included).
pub async fn change_staff(db: &Db, admin: &Staff, id: i64, change: StaffChange<'_>) -> Result<()> {
    let (tenant_id, actor) = (admin.tenant_id, format!("staff:{}", admin.id));
    let change = match change {
        StaffChange::Role(role, division) => Some((role, division.to_string())),
        StaffChange::Deactivate if id == admin.id => {
            return Err(AppError::Conflict(detail!("detail.accounts.not_yourself")));
        }
        StaffChange::Deactivate => None,
    };
    db.transact(move |conn| {
        Box::pin(async move {
            // One change to a tenant's staff at a time, so two cannot remove the last administrator.
            store::lock_tenant_staff(conn, tenant_id).await?;
            let was = store::live_staff_role(conn, tenant_id, id).await?.ok_or(AppError::NotFound)?;
            let stays_admin = matches!(&change, Some((Role::Admin, _)));
            if was == Role::Admin.as_str() && !stays_admin && store::live_admins(conn, tenant_id).await? <= 1 {
                return Err(AppError::Conflict(detail!("detail.accounts.last_admin")));
            }
            let now = now_ms();
            let (action, detail) = match &change {
                Some((role, division)) => {
                    let division_id =
                        crate::procedures::division_id(conn, tenant_id, division).await?.ok_or_else(|| {
                            AppError::BadRequest(detail!("detail.accounts.unknown_division", division = division))
                        })?;
                    store::set_staff_role(conn, id, role.as_str(), division_id).await?;
                    ("staff.change_role", serde_json::json!({"from": was, "role": role.as_str(), "division": division}))
                }
                None => {
                    store::deactivate_staff(conn, id, now).await?;
                    let ended = store::end_sessions(conn, (AccountKind::Staff, id), "").await?;
                    ("staff.deactivate", serde_json::json!({"sessions_ended": ended}))
                }
            };
            audit::append(conn, tenant_id, &actor, action, &format!("staff:{id}"), detail).await
        })
    })
    .await
}

/// The administrator's list of the tenant's staff, and its divisions (code, name).
pub async fn staff_of_tenant(db: &Db, tenant_id: i64) -> Result<(Vec<StaffEntry>, Vec<(String, String)>)> {
    Ok((store::staff_list(db, tenant_id).await?, store::divisions(db, tenant_id).await?))
}

/// Adds a division to the administrator's tenant, or renames it (by its code).
pub async fn save_division(db: &Db, admin: &Staff, code: &str, name: &str) -> Result<()> {
    let (code, name) = (code.trim().to_string(), name.trim().to_string());
    if !kencho_core::procedure::is_code(&code) || name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.accounts.name_division_code_z0")));
    }
    let (tenant_id, actor) = (admin.tenant_id, format!("staff:{}", admin.id));
    db.transact(move |conn| {
        Box::pin(async move {
            let id = crate::procedures::upsert_division(conn, tenant_id, &code, &name).await?;
            let detail = serde_json::json!({"code": code, "name": name});
            audit::append(conn, tenant_id, &actor, "division.save", &format!("division:{id}"), detail).await
        })
    })
    .await
}
