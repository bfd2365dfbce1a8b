//! The applications part of the JSON API under `/api/v1`: the catalogue (`/procedures`), a
//! resident's applications, and the staff's inbox, cases, actions and export. Authentication is a
//! bearer token (a session from `/auth/login`, or an API token made by a tenant administrator).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kencho_core::application::Status;
use kencho_core::forms::Answers;
use kencho_core::procedure::{ApplicantKind, ProcedureDef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Principal;
use crate::applications::{self as apps, InboxFilter};
use crate::error::{AppError, Result};
use crate::procedures;
use crate::web::openapi::{ApiProblem, ErrorBody};
use crate::web::{json, AppState, Ctx};

// ---------- procedures ----------

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ProcedureQuery {
    /// Japanese or English words; 「証明書」 finds certificate requests.
    #[serde(default)]
    pub q: String,
    /// Tenant code.
    #[serde(default)]
    pub tenant: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureSummary {
    pub tenant: String,
    pub code: String,
    pub version: i64,
    pub title: String,
    pub description: String,
    pub fee_yen: u64,
    pub standard_days: u32,
}

fn summary(p: &procedures::Procedure) -> ProcedureSummary {
    ProcedureSummary {
        tenant: p.tenant_code.clone(),
        code: p.code.clone(),
        version: p.version,
        title: p.def.title.clone(),
        description: p.def.description.clone(),
        fee_yen: p.def.fee.amount,
        standard_days: p.def.standard_days,
    }
}

#[utoipa::path(get, path = "/api/v1/procedures", tag = "procedures", params(ProcedureQuery), responses((status = 200, body = [ProcedureSummary])))]
pub(super) async fn list_procedures(
    State(st): State<AppState>,
    Query(q): Query<ProcedureQuery>,
) -> Result<Json<Vec<ProcedureSummary>>> {
    if q.q.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.request.search_too_long")));
    }
    let t = (!q.tenant.is_empty()).then_some(q.tenant.as_str());
    Ok(Json(procedures::search(&st.db, &q.q, t).await?.iter().map(summary).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureDetail {
    pub version: i64,
    /// The definition, in the format of `docs/procedures.md`.
    #[schema(value_type = Object)]
    pub definition: ProcedureDef,
}

#[utoipa::path(get, path = "/api/v1/procedures/{tenant}/{code}", tag = "procedures",
    params(("tenant" = String, Path), ("code" = String, Path)), responses((status = 200, body = ProcedureDetail), (status = 404, body = ErrorBody)))]
pub(super) async fn get_procedure(
    State(st): State<AppState>,
    Path((tenant, code)): Path<(String, String)>,
) -> Result<Json<ProcedureDetail>> {
    let p = procedures::current(&st.db, &tenant, &code).await?;
    Ok(Json(ProcedureDetail { version: p.version, definition: p.def.clone() }))
}

// ---------- residents' applications ----------

#[derive(Deserialize, ToSchema)]
pub struct CreateApplication {
    pub tenant: String,
    pub procedure: String,
    /// `self` (本人, default) or `agent` (代理人). Read by `applicant_kind`, so another word
    /// gets its own refusal rather than a malformed body's.
    #[serde(default)]
    pub applicant_kind: Option<String>,
    /// Answers keyed by field id (see docs/procedures.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Option<Answers>,
    /// Submit at once (answers must be complete; not for procedures that need attachments).
    #[serde(default)]
    pub submit: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    pub id: i64,
    #[schema(value_type = String)]
    pub status: Status,
    pub revision: i64,
    pub receipt_number: Option<String>,
    pub content_hash: Option<String>,
    /// Validation problems with the answers so far (a draft may be incomplete).
    pub problems: Vec<ApiProblem>,
}

fn problems(errs: &[kencho_core::forms::FieldError]) -> Vec<ApiProblem> {
    crate::error::api_field_errors(errs, "en")
        .into_iter()
        .map(|e| ApiProblem { field: e.field, code: e.code, message: e.message })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])), request_body = CreateApplication,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried submission return the first result")),
    responses((status = 201, body = ApplicationCreated), (status = 200, description = "Repeat of an earlier request with the same Idempotency-Key", body = ApplicationCreated),
        (status = 422, description = "Answers are not valid", body = ErrorBody)))]
pub(super) async fn create_application(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let r = ctx.resident()?;
    let b: CreateApplication = json(&headers, &body)?;
    let p = procedures::current(&st.db, &b.tenant, &b.procedure).await?;
    let kind = super::applicant_kind(b.applicant_kind.as_deref())?;
    if b.submit {
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let (id, s) =
            apps::submit_new(&st.db, &st.cfg.base_url, r, &p, kind, b.answers.unwrap_or_default(), key).await?;
        let status = if s.new { StatusCode::CREATED } else { StatusCode::OK };
        // A fresh submission is `submitted` at revision 2; a repeat may have moved on since.
        let (status_now, revision) = if s.new {
            (Status::Submitted, 2)
        } else {
            let a = apps::for_resident(&st.db, r, id).await?;
            (a.status, a.revision)
        };
        let body = ApplicationCreated {
            id,
            status: status_now,
            revision,
            receipt_number: Some(s.receipt_number),
            content_hash: Some(s.content_hash),
            problems: vec![],
        };
        return Ok((status, Json(body)).into_response());
    }
    let id = apps::create_draft(&st.db, r, &p, kind).await?;
    let (revision, errs) = match b.answers {
        Some(ans) => apps::save_answers(&st.db, r, id, 1, None, move |_, answers| *answers = ans).await?,
        None => (1, vec![]),
    };
    let body = ApplicationCreated {
        id,
        status: Status::Draft,
        revision,
        receipt_number: None,
        content_hash: None,
        problems: problems(&errs),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationSummary {
    pub id: i64,
    pub procedure_title: String,
    pub receipt_number: Option<String>,
    #[schema(value_type = String)]
    pub status: Status,
    pub status_label: String,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    pub overdue: bool,
}

pub(super) fn summaries(list: &[apps::Summary]) -> Vec<ApplicationSummary> {
    let now = crate::db::now_ms();
    list.iter()
        .map(|s| ApplicationSummary {
            id: s.id,
            procedure_title: s.procedure_title.clone(),
            receipt_number: s.receipt_number.clone(),
            status: s.status,
            status_label: crate::i18n::words::status("ja", s.status),
            updated_at: s.updated_at,
            due_at: s.due_at,
            overdue: s.is_overdue(now),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])), responses((status = 200, body = [ApplicationSummary])))]
pub(super) async fn my_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<ApplicationSummary>>> {
    let r = ctx.resident()?;
    Ok(Json(summaries(&apps::list_for_resident(&st.db, r).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationDetail {
    pub id: i64,
    pub tenant: String,
    pub procedure: String,
    pub procedure_version: i64,
    #[schema(value_type = String)]
    pub status: Status,
    pub status_label: String,
    #[schema(value_type = String)]
    pub applicant_kind: ApplicantKind,
    pub revision: i64,
    #[schema(value_type = Object)]
    pub answers: Answers,
    pub receipt_number: Option<String>,
    pub content_hash: Option<String>,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub can_withdraw: bool,
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<apps::Event>,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<apps::Attachment>,
}

pub(super) async fn detail(st: &AppState, a: apps::Application) -> Result<ApplicationDetail> {
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let facts = kencho_core::application::Facts {
        status: a.status,
        was_accepted: a.was_accepted,
        withdrawal: p.def.withdrawal,
    };
    Ok(ApplicationDetail {
        id: a.id,
        tenant: p.tenant_code.clone(),
        procedure: p.code.clone(),
        procedure_version: p.version,
        status: a.status,
        status_label: crate::i18n::words::status("ja", a.status),
        applicant_kind: a.applicant_kind,
        revision: a.revision,
        receipt_number: a.receipt_number.clone(),
        content_hash: a.content_hash.clone(),
        submitted_at: a.submitted_at,
        due_at: a.due_at,
        decided_at: a.decided_at,
        can_withdraw: kencho_core::application::can_withdraw(facts),
        history: apps::events(&st.db, a.id).await?,
        attachments: apps::attachments(&st.db, a.id).await?,
        answers: a.answers,
    })
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, description = "Not yours, or no such application", body = ErrorBody)))]
pub(super) async fn get_application(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Json<ApplicationDetail>> {
    let r = ctx.resident()?;
    let a = apps::for_resident(&st.db, r, id).await?;
    Ok(Json(detail(&st, a).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationStatus {
    pub id: i64,
    #[schema(value_type = String)]
    pub status: Status,
    pub status_label: String,
    pub receipt_number: Option<String>,
    pub updated_at: i64,
    pub due_at: Option<i64>,
}

/// Just the status: for portals and systems that poll. One row, no history.
#[utoipa::path(get, path = "/api/v1/applications/{id}/status", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationStatus), (status = 404, body = ErrorBody)))]
pub(super) async fn get_status(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Json<ApplicationStatus>> {
    let r = ctx.resident()?;
    let s = apps::status_for_resident(&st.db, r, id).await?;
    Ok(Json(ApplicationStatus {
        id,
        status: s.status,
        status_label: crate::i18n::words::status(ctx.lang(), s.status),
        receipt_number: s.receipt_number,
        updated_at: s.updated_at,
        due_at: s.due_at,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SaveAnswers {
    /// The revision the answers were edited from; a different current revision is a 409.
    pub revision: i64,
    /// The complete answers (replacing the saved ones).
    #[schema(value_type = Object)]
    pub answers: Answers,
}

#[derive(Serialize, ToSchema)]
pub struct Saved {
    pub revision: i64,
    pub problems: Vec<ApiProblem>,
}

#[utoipa::path(put, path = "/api/v1/applications/{id}/answers", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SaveAnswers,
    responses((status = 200, body = Saved), (status = 409, description = "Stale revision or not editable", body = ErrorBody)))]
pub(super) async fn save_answers(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Saved>> {
    let r = ctx.resident()?;
    let b: SaveAnswers = json(&headers, &body)?;
    let answers = b.answers;
    // Attachment answers are kept: files are bound to fields by uploading, not by typing ids.
    let (revision, errs) = apps::save_answers(&st.db, r, id, b.revision, None, move |p, cur| {
        let files: Vec<(String, serde_json::Value)> = p
            .def
            .fields()
            .filter(|f| matches!(f.kind, kencho_core::procedure::FieldKind::File { .. }))
            .filter_map(|f| cur.get(&f.id).map(|v| (f.id.clone(), v.clone())))
            .collect();
        *cur = answers;
        for (k, v) in files {
            cur.insert(k, v);
        }
    })
    .await?;
    Ok(Json(Saved { revision, problems: problems(&errs) }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file field's id.
    pub field: String,
    pub filename: String,
    /// Current revision (optional; checked when given).
    #[serde(default)]
    pub revision: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    pub attachment_id: String,
    pub revision: i64,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/attachments", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file; Content-Type names its media type (e.g. application/pdf)"),
    responses((status = 201, body = Uploaded), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn upload_attachment(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let r = ctx.resident()?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let (aid, revision) =
        apps::attach(&st.db, &st.cfg.data_dir, r, id, q.revision, &q.field, &q.filename, &media, &body).await?;
    Ok((StatusCode::CREATED, Json(Uploaded { attachment_id: aid, revision })).into_response())
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/attachments/{aid}", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path), ("aid" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
pub(super) async fn download_attachment(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, aid)): Path<(i64, String)>,
) -> Result<Response> {
    match ctx.session.as_ref().map(|s| &s.principal) {
        Some(Principal::Resident(r)) => {
            apps::for_resident(&st.db, r, id).await?;
        }
        Some(Principal::Staff(_)) => {
            apps::open_for_staff(&st.db, ctx.staff()?, id, &format!("attachment {aid}")).await?;
        }
        Some(Principal::Integration { .. }) => return Err(AppError::Forbidden),
        None => return Err(AppError::Unauthenticated),
    }
    super::resident::file_response(&st, id, &aid).await
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitBody {
    pub revision: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SubmitResult {
    pub receipt_number: String,
    pub content_hash: String,
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/submit", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SubmitBody,
    responses((status = 200, body = SubmitResult), (status = 422, description = "Answers are not valid", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SubmitResult>> {
    let r = ctx.resident()?;
    let b: SubmitBody = json(&headers, &body)?;
    let s = apps::submit(&st.db, st.links.clone(), &st.cfg.base_url, ctx.lang(), r, id, b.revision).await?;
    Ok(Json(SubmitResult {
        receipt_number: s.receipt_number,
        content_hash: s.content_hash,
        status: s.status.as_str().into(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StatusBody {
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/withdraw", tag = "applications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StatusBody), (status = 409, body = ErrorBody)))]
pub(super) async fn withdraw(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<StatusBody>> {
    let r = ctx.resident()?;
    let s = apps::withdraw(&st.db, st.links.clone(), &st.cfg.base_url, ctx.lang(), r, id).await?;
    Ok(Json(StatusBody { status: s.as_str().into() }))
}

#[utoipa::path(get, path = "/api/v1/staff/applications", tag = "staff", security(("bearer" = [])), params(InboxFilter), responses((status = 200, body = [ApplicationSummary])))]
pub async fn inbox(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(f): Query<InboxFilter>,
) -> Result<Json<Vec<ApplicationSummary>>> {
    let s = ctx.staff()?;
    Ok(Json(summaries(&apps::inbox(&st.db, s, &f).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PurposeQuery {
    /// Why the application is opened (recorded in the audit log).
    #[serde(default)]
    pub purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/applications/{id}", tag = "staff", security(("bearer" = [])), params(("id" = i64, Path), PurposeQuery),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = ErrorBody)))]
pub async fn staff_get_application(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<ApplicationDetail>> {
    let s = ctx.staff()?;
    let purpose = q.purpose.unwrap_or_else(|| "api".into());
    if purpose.chars().count() > 200 {
        return Err(AppError::BadRequest(detail!("detail.applications.purpose_too_long")));
    }
    let a = apps::open_for_staff(&st.db, s, id, &purpose).await?;
    Ok(Json(detail(&st, a).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct StaffActionBody {
    /// `accept`, `request_correction`, `reject`, `approve` or `deny`.
    pub action: String,
    /// Required for request_correction, reject, approve and deny.
    #[serde(default)]
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/actions", tag = "staff", security(("bearer" = [])), params(("id" = i64, Path)), request_body = StaffActionBody,
    responses((status = 200, body = StatusBody), (status = 409, description = "Not possible in this status", body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn staff_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusBody>> {
    let s = ctx.staff()?;
    let b: StaffActionBody = json(&headers, &body)?;
    let action = super::staff::parse_action(&b.action, &b.message)?;
    let to =
        crate::flows::decision::staff_action(&st.db, &st.links, (&st.cfg.base_url, &st.cfg.data_dir), s, id, action)
            .await?;
    Ok(Json(StatusBody { status: to.as_str().into() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub procedure: Option<String>,
    #[serde(default)]
    pub overdue: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/export", tag = "staff", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "Applications as JSON or CSV (UTF-8 with BOM)")))]
pub async fn export(State(st): State<AppState>, ctx: Ctx, Query(q): Query<ExportQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let f = InboxFilter { status: q.status, procedure: q.procedure, overdue: q.overdue };
    let list = apps::export(&st.db, s, &f).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(super::staff::export_json_value(&list)).into_response()),
        "csv" => {
            let mut res = super::staff::to_csv(&list)?.into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            Ok(res)
        }
        other => Err(AppError::BadRequest(detail!("detail.applications.format_json_csv", other = other))),
    }
}
