//! Setting a new password: the owner changes it (knowing the current one), or resets a
//! forgotten one through a single-use link sent by mail. Asking for a link answers the same
//! whether the address is registered or not; every other session of the account ends when its
//! password is set, so whoever knew the old one is signed out.

use super::model::AccountKind;
use super::{check_password, hash_password, limits, random_token, store, token_hash, verify_password};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::mail;
use crate::security::{self, Event, Kind};

/// How long a reset link stays usable.
pub const RESET_MINUTES: i64 = 60;

/// Who asked for a link, and where the link's page is.
pub struct ResetRequest<'a> {
    pub kind: AccountKind,
    pub email: &'a str,
    pub lang: &'a str,
    pub base_url: &'a str,
    pub ip: &'a str,
}

/// Sends a reset link to the address if it is an account of this kind. The caller answers the
/// same either way; only too many requests are refused (by address and by e-mail).
pub async fn request_reset(db: &Db, r: ResetRequest<'_>) -> Result<()> {
    let email = kencho_core::text::nfkc_trim(r.email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(detail!("detail.accounts.e_mail_address")));
    }
    let keys = limits::creation_keys("password_reset", r.ip, Some(&email));
    if let Err((key, _)) = limits::reserve(db, keys).await? {
        let ev = Event {
            tenant_id: None,
            kind: Kind::CreationLimited,
            actor: "anonymous",
            ip: r.ip,
            detail: serde_json::json!({"key": key}),
        };
        security::record(db, ev).await?;
        return Err(AppError::RateLimited);
    }
    let Some(owner) = store::password_owner(db, r.kind, (None, &email)).await? else {
        return Ok(());
    };
    let token = random_token();
    let now = now_ms();
    let link = format!("{}/password/reset?token={token}", r.base_url);
    let (subject, body) = crate::notify::password_reset(r.lang, &owner.name, &link, RESET_MINUTES);
    let (kind, id, tenant) = (r.kind, owner.id, owner.tenant_id);
    let ip = r.ip.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            store::insert_reset(conn, &token_hash(&token), (kind, id), "reset", (now, now + RESET_MINUTES * 60_000))
                .await?;
            let who = format!("{}:{id}", kind.as_str());
            mail::enqueue(conn, &format!("password-reset:{who}:{now}"), &email, &subject, &body).await?;
            let detail = serde_json::json!({"ip": ip});
            audit::append(conn, tenant, &who, "account.password_reset_requested", &who, detail).await
        })
    })
    .await
}

/// The kind of account a live link is for (to show its page), or a refusal that says the link
/// is used or expired.
pub async fn reset_link(db: &Db, token: &str) -> Result<AccountKind> {
    match store::live_reset(db, &token_hash(token), now_ms()).await? {
        Some((kind, _)) => Ok(kind),
        None => Err(link_spent()),
    }
}

fn link_spent() -> AppError {
    AppError::BadRequest(detail!("detail.accounts.link_invalid_has_expired"))
}

/// Sets a new password through a live link, uses the link up and ends every session of the
/// account. A link used twice or too late changes nothing. Returns the account's kind.
pub async fn reset_password(db: &Db, token: &str, password: &str) -> Result<AccountKind> {
    let th = token_hash(token);
    let (kind, id) = store::live_reset(db, &th, now_ms()).await?.ok_or_else(link_spent)?;
    let owner = store::password_owner(db, kind, (Some(id), "")).await?.ok_or_else(link_spent)?;
    check_password(password, &[&owner.email, &owner.name, "kencho"])?;
    let hash = hash_password(password.to_string()).await?;
    let tenant = owner.tenant_id;
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            // The link is taken in the same transaction that uses it: two uses, one wins.
            if store::use_reset(conn, &th, now).await? != Some((kind, id)) {
                return Err(link_spent());
            }
            store::set_password(conn, (kind, id), &hash, now).await?;
            let ended = store::end_sessions(conn, (kind, id), "").await?;
            let who = format!("{}:{id}", kind.as_str());
            let detail = serde_json::json!({"sessions_ended": ended});
            audit::append(conn, tenant, &who, "account.password_reset", &who, detail).await?;
            Ok(kind)
        })
    })
    .await
}

/// The signed-in owner changes the password, giving the current one; the other sessions of the
/// account end, the one it was changed from stays.
pub async fn change_password(
    db: &Db,
    (kind, id): (AccountKind, i64),
    (session_hash, ip): (&str, &str),
    (current, new): (&str, &str),
) -> Result<()> {
    let owner = store::password_owner(db, kind, (Some(id), "")).await?.ok_or(AppError::NotFound)?;
    // A few tries an hour: a session left open must not let anyone guess the password.
    let who = format!("{}:{id}", kind.as_str());
    if limits::reserve(db, limits::creation_keys("password_change", ip, Some(&who))).await?.is_err() {
        return Err(AppError::RateLimited);
    }
    if !verify_password(current.to_string(), owner.password_hash.clone()).await {
        let ev = Event {
            tenant_id: Some(owner.tenant_id).filter(|t| *t != 0),
            kind: Kind::LoginFailed,
            actor: &who,
            ip,
            detail: serde_json::json!({"why": "wrong current password"}),
        };
        security::record(db, ev).await?;
        return Err(AppError::BadRequest(detail!("detail.accounts.current_password_wrong")));
    }
    check_password(new, &[&owner.email, &owner.name, "kencho"])?;
    let hash = hash_password(new.to_string()).await?;
    let (keep, tenant) = (session_hash.to_string(), owner.tenant_id);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            store::set_password(conn, (kind, id), &hash, now).await?;
            let ended = store::end_sessions(conn, (kind, id), &keep).await?;
            let detail = serde_json::json!({"sessions_ended": ended});
            audit::append(conn, tenant, &who, "account.password_changed", &who, detail).await
        })
    })
    .await
}
