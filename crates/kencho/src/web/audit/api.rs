//! Proofs that an audit entry is in the log, for the person it is about (a resident's own
//! acts) and for the tenant's administrators.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::Principal;
use crate::audit::PLATFORM;
use crate::error::{AppError, Result};
use crate::flows::checkpoints::{self, Proof};
use crate::tenants;
use crate::web::{AppState, Ctx};

#[derive(Deserialize, IntoParams)]
pub struct ProofQuery {
    /// Tenant code; leave out for the platform's own chain (sign-ups, sign-ins).
    pub tenant: Option<String>,
    /// The entry's sequence number in that chain.
    pub seq: i64,
}

/// A proof that an audit entry is in the log (RFC 9162 audit path to a signed checkpoint).
/// A resident gets proofs of their own acts; an administrator, of any entry of their tenant.
#[utoipa::path(get, path = "/api/v1/audit/proof", tag = "audit", security(("bearer" = [])), params(ProofQuery),
    responses((status = 200, body = Proof), (status = 404, description = "No such entry, or not yours", body = crate::web::openapi::ErrorBody)))]
pub async fn api_proof(State(st): State<AppState>, ctx: Ctx, Query(q): Query<ProofQuery>) -> Result<Json<Proof>> {
    let tenant_id = match q.tenant.as_deref() {
        None | Some("") => PLATFORM,
        Some(code) => tenants::id_of(&st.db, code).await?.ok_or(AppError::NotFound)?,
    };
    let session = ctx.session.as_ref().ok_or(AppError::Unauthenticated)?;
    let entry = crate::audit::entry(&st.db, tenant_id, q.seq).await?.ok_or(AppError::NotFound)?;
    let allowed = match &session.principal {
        Principal::Resident(r) => entry.entry.actor == format!("resident:{}", r.id),
        Principal::Staff(_) => ctx.admin().is_ok_and(|s| s.tenant_id == tenant_id),
        Principal::Integration { .. } => false,
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let proof = checkpoints::proof(&st.db, &st.cfg.audit_checkpoints, tenant_id, q.seq).await?;
    Ok(Json(proof.ok_or(AppError::NotFound)?))
}
