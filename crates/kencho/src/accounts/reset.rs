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
/// same either way, and at once: the lookup and the mail happen after the answer, so its
/// timing does not tell whether the address is registered (a lost request is simply asked
/// again). Only too many requests are refused (by address and by e-mail).
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
    let (db, kind, lang, base_url, ip) =
        (db.clone(), r.kind, r.lang.to_string(), r.base_url.to_string(), r.ip.to_string());
    tokio::spawn(async move {
        if let Err(e) = send_reset(&db, kind, &email, (&lang, &base_url), &ip).await {
            tracing::error!(error = %e.with_causes(), "sending a password reset link");
        }
    });
    Ok(())
}

async fn send_reset(db: &Db, kind: AccountKind, email: &str, (lang, base_url): (&str, &str), ip: &str) -> Result<()> {
    let Some(owner) = store::owner_by_email(db, kind, email).await? else {
        return Ok(());
    };
    let (token, link) = new_link(base_url);
    let (subject, body) = crate::notify::password_reset(lang, &owner.name, &link, RESET_MINUTES);
    let (id, tenant, email, detail) = (owner.id, owner.tenant_id, email.to_string(), serde_json::json!({"ip": ip}));
    db.transact(move |conn| {
        Box::pin(async move {
            let who = format!("{}:{id}", kind.as_str());
            let until = RESET_MINUTES * 60_000;
            issue_link(conn, (kind, id), (&token, "reset", until), (&email, &subject, &body)).await?;
            audit::append(conn, tenant, &who, "account.password_reset_requested", &who, detail).await
        })
    })
    .await
}

/// A new link's token and the address of its page (`/password/reset`).
pub(super) fn new_link(base_url: &str) -> (String, String) {
    let token = random_token();
    let link = format!("{base_url}/password/reset?token={token}");
    (token, link)
}

/// Stores a link that sets the account's password (only its token's hash; `purpose` is
/// `reset` or `invite`, good for `ttl_ms`) and queues the mail that carries it.
pub(super) async fn issue_link(
    conn: &mut sqlx::AnyConnection,
    (kind, id): (AccountKind, i64),
    (token, purpose, ttl_ms): (&str, &str, i64),
    (to, subject, body): (&str, &str, &str),
) -> Result<()> {
    let now = now_ms();
    store::insert_reset(conn, &token_hash(token), (kind, id), purpose, (now, now + ttl_ms)).await?;
    mail::enqueue(conn, &format!("password-{purpose}:{}:{id}:{now}", kind.as_str()), to, subject, body).await
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
    let owner = store::owner_by_id(db, kind, id).await?.ok_or_else(link_spent)?;
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
            // Whoever knew the old password is signed out, and no browser stays "known" to the
            // account (a known browser skips the per-account sign-in limit). API tokens stay:
            // they are integrations' credentials, revoked on テナント管理.
            let ended = store::end_sessions(conn, (kind, id), "").await?;
            store::forget_devices(conn, (kind, id)).await?;
            let who = format!("{}:{id}", kind.as_str());
            let detail = serde_json::json!({"sessions_ended": ended});
            audit::append(conn, tenant, &who, "account.password_reset", &who, detail).await?;
            Ok(kind)
        })
    })
    .await
}

/// The signed-in owner changes the password, giving the current one; the other sessions of the
/// account end, the one it was changed from stays. A wrong current password counts as a failed
/// sign-in (the same limits), so a session left open does not let anyone guess it.
pub async fn change_password(
    db: &Db,
    (kind, id): (AccountKind, i64),
    (session_hash, ip): (&str, &str),
    (current, new): (&str, &str),
) -> Result<()> {
    let owner = store::owner_by_id(db, kind, id).await?.ok_or(AppError::NotFound)?;
    check_password(new, &[&owner.email, &owner.name, "kencho"])?;
    let who = format!("{}:{id}", kind.as_str());
    let tenant_id = Some(owner.tenant_id).filter(|t| *t != audit::PLATFORM);
    let keys = limits::keys(kind.as_str(), &owner.email, ip, true);
    if let Err((key, _)) = limits::reserve(db, keys.clone()).await? {
        let detail = serde_json::json!({"key": key});
        security::record(db, Event { tenant_id, kind: Kind::LoginRefused, actor: &who, ip, detail }).await?;
        return Err(AppError::RateLimited);
    }
    if !verify_password(current.to_string(), owner.password_hash.clone()).await {
        let detail = serde_json::json!({"why": "wrong current password"});
        security::record(db, Event { tenant_id, kind: Kind::LoginFailed, actor: &who, ip, detail }).await?;
        return Err(AppError::BadRequest(detail!("detail.accounts.current_password_wrong")));
    }
    let hash = hash_password(new.to_string()).await?;
    let (keep, tenant) = (session_hash.to_string(), owner.tenant_id);
    db.transact(move |conn| {
        Box::pin(async move {
            limits::succeeded(conn, &keys).await?;
            store::set_password(conn, (kind, id), &hash, now_ms()).await?;
            let ended = store::end_sessions(conn, (kind, id), &keep).await?;
            let detail = serde_json::json!({"sessions_ended": ended});
            audit::append(conn, tenant, &who, "account.password_changed", &who, detail).await
        })
    })
    .await
}
