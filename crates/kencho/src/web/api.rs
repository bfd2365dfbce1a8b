//! The JSON API under `/api/v1`: everything the pages do, for systems. Authentication is a
//! bearer token (a session from `/auth/login`, or an API token made by a tenant administrator).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kencho_core::application::Status;
use kencho_core::forms::Answers;
use kencho_core::procedure::ProcedureDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::StandardErrors;
use super::{AppState, Ctx};
use crate::accounts::{self, Principal};
use crate::applications as apps;
use crate::error::{AppError, Result};
use crate::procedures;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/verify", post(verify))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/procedures", get(list_procedures))
        .route("/procedures/{tenant}/{code}", get(get_procedure))
        .route("/applications", get(my_applications).post(create_application))
        .route("/applications/{id}", get(get_application))
        .route("/applications/{id}/status", get(get_status))
        .route("/applications/{id}/answers", put(save_answers))
        .route("/applications/{id}/attachments", post(upload_attachment))
        .route("/applications/{id}/attachments/{aid}", get(download_attachment))
        .route("/applications/{id}/submit", post(submit))
        .route("/applications/{id}/withdraw", post(withdraw))
        .merge(super::api_staff::routes())
}

/// Reads a JSON body with a clear error for malformed or mistyped input.
pub(super) fn json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(AppError::UnsupportedMedia(format!("expected application/json, got \"{ct}\"")));
    }
    if body.len() > 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
}

// ---------- auth ----------

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    pub email: String,
    pub name: String,
    /// 10–128 characters.
    pub password: String,
    #[serde(default)]
    pub lang: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupBody,
    responses((status = 202, description = "Verification mail queued"), (status = 400, description = "Invalid input", body = ErrorBody)))]
async fn signup(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let b: SignupBody = json(&headers, &body)?;
    let lang = b.lang.as_deref().unwrap_or("ja");
    accounts::sign_up(&st.db, &st.cfg.base_url, (&b.email, &b.name, &b.password), lang, &ctx.info.ip).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The token from the verification link.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "auth", request_body = VerifyBody,
    responses((status = 204, description = "Address verified"), (status = 400, description = "Invalid or expired", body = ErrorBody)))]
async fn verify(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let b: VerifyBody = json(&headers, &body)?;
    accounts::verify_email(&st.db, &b.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// `resident` (default) or `staff`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Staff only: the current TOTP code.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in_hours: i64,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Wrong credentials or code", body = ErrorBody), (status = 429, description = "Too many attempts", body = ErrorBody)))]
async fn login(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Json<TokenResponse>> {
    let b: LoginBody = json(&headers, &body)?;
    let token = match b.kind.as_deref().unwrap_or("resident") {
        "resident" => accounts::login_resident(&st.db, &b.email, &b.password, ctx.client()).await?.token,
        "staff" => {
            let (token, staff_id, _) =
                accounts::login_staff_password(&st.db, &b.email, &b.password, ctx.client()).await?;
            let th = accounts::token_hash(&token);
            match accounts::complete_mfa(&st.db, &th, staff_id, b.totp.as_deref().unwrap_or_default(), ctx.client())
                .await
            {
                Ok(signed) => signed.token,
                Err(e) => {
                    accounts::logout(&st.db, &th).await?;
                    return Err(e);
                }
            }
        }
        other => return Err(AppError::BadRequest(format!("kind must be \"resident\" or \"staff\", not \"{other}\""))),
    };
    Ok(Json(TokenResponse { token, expires_in_hours: accounts::SESSION_HOURS }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Session ended")))]
async fn logout(State(st): State<AppState>, ctx: Ctx) -> Result<StatusCode> {
    let s = ctx.session.as_ref().ok_or(AppError::Unauthenticated)?;
    accounts::logout(&st.db, &s.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
async fn list_procedures(
    State(st): State<AppState>,
    Query(q): Query<ProcedureQuery>,
) -> Result<Json<Vec<ProcedureSummary>>> {
    if q.q.chars().count() > 100 {
        return Err(AppError::BadRequest("q is too long".into()));
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
async fn get_procedure(
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
    /// `self` (本人, default) or `agent` (代理人).
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

#[derive(Serialize, ToSchema)]
pub struct ApiProblem {
    pub field: String,
    pub code: String,
    pub message: String,
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
async fn create_application(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let r = ctx.resident()?;
    let b: CreateApplication = json(&headers, &body)?;
    let p = procedures::current(&st.db, &b.tenant, &b.procedure).await?;
    let kind = b.applicant_kind.as_deref().unwrap_or("self");
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
            status_label: s.status.label("ja").into(),
            updated_at: s.updated_at,
            due_at: s.due_at,
            overdue: s.is_overdue(now),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])), responses((status = 200, body = [ApplicationSummary])))]
async fn my_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<ApplicationSummary>>> {
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
    pub applicant_kind: String,
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
        status_label: a.status.label("ja").into(),
        applicant_kind: a.applicant_kind.clone(),
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
async fn get_application(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<ApplicationDetail>> {
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
async fn get_status(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<ApplicationStatus>> {
    let r = ctx.resident()?;
    let s = apps::status_for_resident(&st.db, r, id).await?;
    Ok(Json(ApplicationStatus {
        id,
        status: s.status,
        status_label: s.status.label(ctx.lang()).into(),
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
async fn save_answers(
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
async fn upload_attachment(
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
async fn download_attachment(
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
async fn submit(
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
async fn withdraw(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<StatusBody>> {
    let r = ctx.resident()?;
    let s = apps::withdraw(&st.db, st.links.clone(), &st.cfg.base_url, ctx.lang(), r, id).await?;
    Ok(Json(StatusBody { status: s.as_str().into() }))
}

/// The error body every failing API call returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// One of `error::CODES` (the schema lists them).
    #[schema(schema_with = error_code_schema)]
    pub code: String,
    pub message: String,
    pub errors: Option<Vec<ApiProblem>>,
}

/// `ErrorBody.code`: every code kencho answers with, from `error::CODES`.
fn error_code_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Stable code, the same in every language; `message` is its text (`error.<code>` in kencho's \
             locales) in English.",
        ))
        .enum_values(Some(crate::error::CODES.iter().copied()))
        .build()
}

/// The OpenAPI 3.1 document; `openapi::tests` checks it lists exactly the routes above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "kencho API", description = "The JSON API of kencho, the digital prefectural office. Authenticate with `Authorization: Bearer <token>`."),
    paths(signup, verify, login, logout, list_procedures, get_procedure, create_application, my_applications, get_application, get_status, save_answers,
          upload_attachment, download_attachment, submit, withdraw,
          super::api_staff::inbox, super::api_staff::staff_get_application, super::api_staff::staff_action, super::api_staff::export,
          super::api_staff::import_procedure, super::api_staff::list_tokens, super::api_staff::create_token,
          super::api_evacuation::hazards, super::api_evacuation::preview_plan, super::api_evacuation::list_layers,
          super::api_evacuation::load_layer, super::api_evacuation::read_telegram, super::api_evacuation::list_alerts,
          super::api_evacuation::issue_alert, super::api_evacuation::approve_alert, super::api_evacuation::cancel_alert,
          super::iot::webhook, super::iot::list_applications, super::iot::bind_application, super::iot::unbind_application, super::iot::list_devices, super::iot::add_devices, super::iot::retire_device, super::iot::add_person, super::iot::end_person, super::iot::list_alarms,
          super::iot::permits::api_list, super::iot::permits::api_add, super::iot::permits::api_assign, super::iot::permits::api_report,
          super::approval::api::api_load_setup, super::approval::api::api_create, super::approval::api::api_inbox, super::approval::api::api_get,
          super::approval::api::api_act, super::approval::api::api_route, super::approval::api::api_execute, super::approval::api::api_absence,
          super::approval::api::api_figures, super::approval::api::api_disposal_list, super::approval::api::api_dispose,
          super::approval::api::api_holds, super::approval::api::api_place_hold, super::approval::api::api_lift_hold,
          super::documents::api_verify, super::documents::api_keys, super::documents::api_rotate,
          super::signing_certificate::api_get, super::signing_certificate::api_put, super::signing_certificate::api_delete,
          super::payments::api_pay, super::payments::api_summary, super::payments_sandbox::sandbox_webhook, super::payments::api_set_fee,
          super::payments::api_refund, super::payments::api_reconcile, super::payments::api_totals,
          super::payments::stripe_webhook, super::payments::api_get_settings, super::payments::api_put_settings,
          super::payments::api_cash, super::payments_accounts::api_get_schedule, super::payments_accounts::api_put_schedule,
          super::payments_accounts::api_put_agent, super::payments_accounts::api_agents, super::payments_accounts::api_review,
          super::payments_accounts::api_fiscal, super::audit::api_proof),
    modifiers(&BearerAuth, &StandardErrors),
    tags((name = "auth"), (name = "procedures"), (name = "applications"), (name = "staff"), (name = "admin"), (name = "evacuation"), (name = "iot"), (name = "approval"), (name = "documents"), (name = "payments"), (name = "audit"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
