//! What accounts hands out and reads: a session, where a sign-in comes from, an API token as
//! its list shows it, and the rows a sign-in and a session lookup read, each decoded by
//! column name here.

use kencho_core::application::Role;
use kencho_core::security::Scope;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::actor::{Principal, Staff};
use crate::error::{AppError, Result};

pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf: String,
    pub mfa_ok: bool,
    pub principal: Principal,
    /// The API token and its scope, when the caller used one.
    pub api_token: Option<(i64, Scope)>,
}

/// Where a sign-in comes from: the client's address and the browser's device cookie.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub ip: &'a str,
    pub device: Option<&'a str>,
}

/// A signed-in session: its token, and the device token to keep in the browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub device: String,
}

/// Who signs in: a resident or a staff member (the `kind` of their sessions and limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Resident,
    Staff,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Resident => "resident",
            AccountKind::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        [AccountKind::Resident, AccountKind::Staff].into_iter().find(|k| k.as_str() == s)
    }
}

/// An account found by e-mail for a sign-in: `extra` is a resident's `verified_at` or a staff
/// member's `totp_enabled`; `tenant_id` is 0 for a resident.
pub(super) struct LoginRow {
    pub id: i64,
    pub password_hash: String,
    pub extra: Option<i64>,
    pub tenant_id: i64,
}

impl LoginRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<LoginRow> {
        Ok(LoginRow {
            id: r.try_get("id")?,
            password_hash: r.try_get("password_hash")?,
            extra: r.try_get("extra")?,
            tenant_id: r.try_get("tenant_id")?,
        })
    }
}

/// An account whose password is being set: its words for the password policy, its tenant
/// (0 for a resident) for the audit log.
pub(super) struct PasswordOwner {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub tenant_id: i64,
}

impl PasswordOwner {
    pub(super) fn from_row(r: &AnyRow) -> Result<PasswordOwner> {
        Ok(PasswordOwner {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            password_hash: r.try_get("password_hash")?,
            tenant_id: r.try_get("tenant_id")?,
        })
    }
}

/// A staff account as its tenant's administrator sees it in the list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StaffEntry {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub division_code: String,
    pub division_name: String,
    /// The second factor is enrolled.
    pub totp: bool,
    /// Invited, the password not set yet.
    pub invited: bool,
    /// Ended (ms since the epoch), or still live.
    pub deactivated_at: Option<i64>,
}

impl StaffEntry {
    pub(super) fn from_row(r: &AnyRow) -> Result<StaffEntry> {
        Ok(StaffEntry {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            role: crate::db::parsed(r, "role", Role::parse)?,
            division_code: r.try_get("division_code")?,
            division_name: r.try_get("division_name")?,
            totp: r.try_get::<i64, _>("totp_enabled")? == 1,
            invited: r.try_get::<i64, _>("invited")? == 1,
            deactivated_at: r.try_get("deactivated_at")?,
        })
    }
}

/// What the second step of a staff sign-in reads of the account.
pub(super) struct TotpRow {
    pub email: String,
    pub secret: Option<String>,
    pub last_step: i64,
    pub tenant_id: i64,
}

/// A live session's row, with its resident's e-mail and name when it is a resident's.
pub(super) struct SessionRow {
    pub kind: AccountKind,
    pub principal_id: i64,
    pub csrf: String,
    pub mfa_ok: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl SessionRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<SessionRow> {
        Ok(SessionRow {
            kind: crate::db::parsed(r, "kind", AccountKind::parse)?,
            principal_id: r.try_get("principal_id")?,
            csrf: r.try_get("csrf")?,
            mfa_ok: r.try_get::<i64, _>("mfa_ok")? == 1,
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
        })
    }
}

/// A live API token's row.
pub(super) struct TokenRow {
    pub id: i64,
    pub tenant_id: i64,
    pub staff_id: i64,
    /// `None`: a scope this version does not know (the token is not honoured).
    pub scope: Option<Scope>,
    pub last_used_at: Option<i64>,
}

impl TokenRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<TokenRow> {
        Ok(TokenRow {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            staff_id: r.try_get("staff_id")?,
            scope: Scope::parse(&r.try_get::<String, _>("scope")?),
            last_used_at: r.try_get("last_used_at")?,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    /// `staff`, `read` or `iot_uplink`.
    #[schema(value_type = String)]
    pub scope: Scope,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

impl ApiTokenInfo {
    pub(super) fn from_row(r: &AnyRow) -> Result<ApiTokenInfo> {
        Ok(ApiTokenInfo {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            scope: crate::db::parsed(r, "scope", Scope::parse)?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        })
    }
}

/// A staff member from the row of `store::STAFF_COLS`.
pub(super) fn staff_from_row(r: &AnyRow) -> Result<Staff> {
    let role: String = r.try_get("role")?;
    Ok(Staff {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        tenant_code: r.try_get("tenant_code")?,
        tenant_name: r.try_get("tenant_name")?,
        division_id: r.try_get("division_id")?,
        division_code: r.try_get("division_code")?,
        division_name: r.try_get("division_name")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| AppError::Internal(format!("unknown role {role}")))?,
        totp_enabled: r.try_get::<i64, _>("totp_enabled")? == 1,
    })
}
