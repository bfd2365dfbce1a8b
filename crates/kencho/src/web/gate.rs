//! The door every request passes before any handler: who is asking (the session or token is
//! looked up once, here), whether that kind of caller may send a body to this route at all,
//! how large a body it may send, and how long the request may take.
//!
//! Nothing reads a body before this: an anonymous caller gets 64 KiB on public routes and a
//! 401 on the others before a byte of the body is read; larger limits apply per route and only
//! after the caller is known. A token's scope is enforced here too, and refusals of signed-in
//! callers are written to the security-event log.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kencho_core::application::Role;
use kencho_core::security::Scope;

use super::{cookie, AppState, PageError, ReqInfo, SESSION_COOKIE};
use crate::accounts::{self, Principal, Session};
use crate::error::AppError;
use crate::security::{self, Event, Kind};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
/// Any request without a larger rule, and every anonymous one.
pub const SMALL: usize = 64 * KIB;
/// A request's whole life (reading the body included) unless its rule says otherwise.
const DEFAULT_TIME: Duration = Duration::from_secs(60);
/// Large uploads over slow links.
const UPLOAD_TIME: Duration = Duration::from_secs(600);

/// Who must be asking before a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Anyone,
    Resident,
    /// Staff who passed the second factor (or a staff-scoped token).
    Staff,
    Admin,
    /// A network server's integration token, or a tenant administrator.
    Uplink,
    /// Someone signed in to their own account: a resident, or staff past the second factor.
    Account,
}

/// The rule for a request that carries a body: who must be asking, the largest body, and how
/// long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub need: Need,
    pub limit: usize,
    pub time: Duration,
}

const fn rule(need: Need, limit: usize) -> Rule {
    Rule { need, limit, time: if limit > 2 * MIB { UPLOAD_TIME } else { DEFAULT_TIME } }
}

/// The rule for `method path` (the full path, `/api/v1/…` included).
pub fn rule_for(method: &Method, path: &str) -> Rule {
    use Need::*;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return rule(Anyone, SMALL);
    }
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match seg.as_slice() {
        ["api", "v1", "auth", "password"] => rule(Account, SMALL),
        ["api", "v1", "auth", ..] => rule(Anyone, SMALL),
        ["api", "v1", "iot", "uplink"] => rule(Uplink, MIB),
        ["api", "v1", "payments", "webhooks", ..] => rule(Anyone, 256 * KIB),
        // kencho's notices and receipts are tens of kilobytes; 4 MiB is room enough.
        ["api", "v1", "documents", "verify"] => rule(Anyone, 4 * MIB),
        ["api", "v1", "evacuation", _, "plan"] => rule(Anyone, SMALL),
        ["api", "v1", "applications", _, "attachments"] => rule(Resident, 21 * MIB),
        ["api", "v1", "applications", ..] => rule(Resident, MIB),
        ["api", "v1", "admin", "evacuation", "layers", ..] => rule(Admin, super::evacuation::LAYER_LIMIT),
        ["api", "v1", "admin", ..] => rule(Admin, 10 * MIB),
        ["api", "v1", "staff", "payments", "reconcile"] => rule(Staff, 64 * MIB),
        ["api", "v1", "staff" | "approval" | "absences" | "records", ..] => rule(Staff, 2 * MIB),
        ["api", ..] => rule(Anyone, SMALL),
        ["staff", "login"] | ["staff", "mfa"] | ["staff", "password", "forgot"] => rule(Anyone, SMALL),
        ["staff", "evacuation", "layers"] => rule(Admin, super::evacuation::LAYER_LIMIT),
        ["staff", "admin", ..] => rule(Admin, 2 * MIB),
        ["staff", "evacuation", "jma"] => rule(Staff, 10 * MIB),
        ["staff", "payments", "reconcile"] => rule(Staff, 64 * MIB),
        ["staff", "approval", _, "files"] => rule(Staff, 21 * MIB),
        ["staff", "iot", "devices"] => rule(Staff, 8 * MIB),
        ["staff", ..] => rule(Staff, 2 * MIB),
        ["applications", _, "pages", _] => rule(Resident, 21 * MIB),
        ["applications", ..] => rule(Resident, SMALL),
        ["verify-document"] => rule(Anyone, 4 * MIB),
        ["account", ..] => rule(Account, SMALL),
        _ => rule(Anyone, SMALL),
    }
}

/// The caller, looked up once per request (handlers read it through `Ctx`).
#[derive(Clone)]
pub struct Caller(pub Option<Session>);

/// Resolves the caller, applies the route's rule, then runs the request under its time limit.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let info = req.extensions().get::<ReqInfo>().cloned();
    let (lang, ip, path) = match &info {
        Some(i) => (i.lang.clone(), i.ip.clone(), i.path.clone()),
        None => ("ja".into(), "unknown".into(), req.uri().path().to_string()),
    };
    let is_api = path.starts_with("/api/");
    let refuse = |e: AppError| -> Response {
        if is_api {
            e.into_response()
        } else {
            PageError { err: e, lang: lang.clone() }.into_response()
        }
    };
    let token = if is_api {
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
    } else {
        cookie(req.headers(), SESSION_COOKIE).map(str::to_string)
    };
    // Static files and the health check need nobody.
    let anonymous = path.starts_with("/static/") || path == "/healthz";
    let session = match token {
        Some(t) if t.len() <= 200 && !anonymous => match accounts::session(&state.db, &t, &ip).await {
            Ok(s) => s,
            Err(e) => return refuse(e),
        },
        _ => None,
    };
    let rule = rule_for(req.method(), &path);
    if let Err(e) = admit(session.as_ref(), rule, req.method()) {
        if session.is_some() && e.status() == StatusCode::FORBIDDEN {
            log_refusal(&state, session.as_ref(), &ip, &path, e.code()).await;
        }
        return refuse(e);
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > rule.limit) {
        return refuse(AppError::TooLarge);
    }
    req.extensions_mut().insert(Caller(session.clone()));
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, rule.limit)));
    let res = match tokio::time::timeout(rule.time, next.run(req)).await {
        Ok(res) => res,
        Err(_) => return refuse(AppError::Timeout),
    };
    let status = res.status();
    let staff_like =
        matches!(session.as_ref().map(|s| &s.principal), Some(Principal::Staff(_) | Principal::Integration { .. }));
    if (status == StatusCode::FORBIDDEN && session.is_some()) || (status == StatusCode::NOT_FOUND && staff_like) {
        log_refusal(&state, session.as_ref(), &ip, &path, status.as_str()).await;
    }
    res
}

/// Whether this caller may send this request at all (finer checks stay in the handlers).
fn admit(session: Option<&Session>, rule: Rule, method: &Method) -> Result<(), AppError> {
    let read_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(s) = session {
        match (s.api_token.map(|(_, scope)| scope), &s.principal) {
            (Some(Scope::Read), _) if !read_only => return Err(AppError::TokenScope),
            (_, Principal::Integration { .. }) if rule.need != Need::Uplink => return Err(AppError::TokenScope),
            _ => {}
        }
    }
    let principal = session.map(|s| (&s.principal, s.mfa_ok));
    match (rule.need, principal) {
        (Need::Anyone, _) => Ok(()),
        (_, None) => Err(AppError::Unauthenticated),
        (Need::Resident, Some((Principal::Resident(_), _))) => Ok(()),
        (Need::Resident, Some(_)) => Err(AppError::Forbidden),
        (Need::Account, Some((Principal::Resident(_), _) | (Principal::Staff(_), true))) => Ok(()),
        (Need::Account, Some((Principal::Staff(_), false))) => Err(AppError::MfaRequired),
        (Need::Uplink, Some((Principal::Integration { .. }, _))) => Ok(()),
        (Need::Staff | Need::Admin | Need::Uplink, Some((Principal::Staff(s), mfa_ok))) => {
            if !mfa_ok {
                Err(AppError::MfaRequired)
            } else if rule.need != Need::Staff && s.role != Role::Admin {
                Err(AppError::Forbidden)
            } else {
                Ok(())
            }
        }
        (_, Some(_)) => Err(AppError::Forbidden),
    }
}

/// A signed-in caller was refused: who, what, from where (kept in the security-event log).
async fn log_refusal(state: &AppState, session: Option<&Session>, ip: &str, path: &str, why: &str) {
    let (tenant_id, actor) = match session.map(|s| (&s.principal, s.api_token)) {
        Some((Principal::Staff(s), Some((id, _)))) => (Some(s.tenant_id), format!("api_token:{id}")),
        Some((Principal::Staff(s), None)) => (Some(s.tenant_id), format!("staff:{}", s.id)),
        Some((Principal::Integration { token_id, tenant_id }, _)) => {
            (Some(*tenant_id), format!("api_token:{token_id}"))
        }
        Some((Principal::Resident(r), _)) => (None, format!("resident:{}", r.id)),
        None => return,
    };
    let path: String = path.chars().take(300).collect();
    let ev = Event {
        tenant_id,
        kind: Kind::Refused,
        actor: &actor,
        ip,
        detail: serde_json::json!({"path": path, "why": why}),
    };
    if let Err(e) = security::record(&state.db, ev).await {
        tracing::warn!(error = %e, "recording a refusal");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_only_after_the_right_caller() {
        let post = Method::POST;
        assert_eq!(rule_for(&post, "/api/v1/admin/evacuation/layers/flood").need, Need::Admin);
        assert_eq!(rule_for(&post, "/staff/evacuation/layers").need, Need::Admin);
        assert_eq!(rule_for(&post, "/api/v1/iot/uplink"), rule(Need::Uplink, MIB));
        assert_eq!(rule_for(&post, "/login"), rule(Need::Anyone, SMALL));
        assert_eq!(rule_for(&post, "/staff/login").need, Need::Anyone);
        assert_eq!(rule_for(&post, "/staff/password/forgot").need, Need::Anyone);
        assert_eq!(rule_for(&post, "/account/password").need, Need::Account);
        assert_eq!(rule_for(&post, "/api/v1/auth/password").need, Need::Account);
        assert_eq!(rule_for(&post, "/api/v1/auth/password/reset").need, Need::Anyone);
        assert_eq!(rule_for(&post, "/applications/3/pages/2").need, Need::Resident);
        assert_eq!(rule_for(&Method::GET, "/staff/evacuation/layers").limit, SMALL);
        for (m, p) in [(&post, "/nowhere"), (&Method::PUT, "/evacuation/p/x/where")] {
            assert_eq!(rule_for(m, p), rule(Need::Anyone, SMALL));
        }
    }
}
