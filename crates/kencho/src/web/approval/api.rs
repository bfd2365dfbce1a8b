//! The API of 電子決裁 and 公文書管理 (`/api/v1/approval…`, `/api/v1/absences`, `/api/v1/records…`, `/api/v1/admin/approval…`).

use super::*;
use crate::web::openapi::Created;

/// Loads the organisation (`org`) or 専決 table (`rules`) as a TOML document (the format is in
/// the README); checked whole, every problem named, nothing stored on error.
#[utoipa::path(put, path = "/api/v1/admin/approval/{kind}", tag = "approval", security(("bearer" = [])),
    params(("kind" = String, Path, description = "org, rules or settings (records section, 文書番号 template)")),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_load_setup(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    if body.len() > 2 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = crate::web::utf8_body(&body)?;
    let id = setup::load(&st.db, &st.approval, s, &kind, text).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKian {
    pub title: String,
    pub body: String,
    /// Kind of matter as named in the 専決 table; for an application, defaults to the
    /// procedure's.
    #[serde(default)]
    pub matter_kind: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    /// 重要・異例: goes one level above its 専決 holder (専決の制限) and is never decided by 代決.
    #[serde(default)]
    pub important: bool,
    /// Decide this application (it must be accepted).
    #[serde(default)]
    pub application_id: Option<i64>,
    /// For an application: approve or deny.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub drafter_post: Option<String>,
    /// 合議: division codes; `parallel: true` joins the previous entry's group.
    #[serde(default)]
    pub consult: Vec<Consult>,
    /// 急施: the matter cannot wait; only such matters may be decided by 代決 while the
    /// decider is away.
    #[serde(default)]
    pub urgent: bool,
    /// Years (1, 3, 5, 10, 30); 0 is 1年未満 and -1 常用. Default 5.
    #[serde(default)]
    pub retention_years: Option<i64>,
    /// The retention class by name instead: `1年未満` / `under_one_year`, `5年`, `常用` / `in_use`.
    #[serde(default)]
    pub retention: Option<String>,
    #[serde(default)]
    pub disposal: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consult {
    pub division: String,
    #[serde(default)]
    pub parallel: bool,
}

/// Drafts a 起案 with the proposed route (state `draft`; submit it with the `submit` act).
#[utoipa::path(post, path = "/api/v1/approval", tag = "approval", security(("bearer" = [])), request_body = NewKian,
    responses((status = 201, body = Created), (status = 400, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: NewKian = json(&headers, &body)?;
    // For an application the procedure's kind of matter, retention and disposal apply
    // (kian::prepare), whatever the body says.
    let retention_years = match &b.retention {
        Some(r) => RetentionClass::parse(r)
            .ok_or_else(|| AppError::BadRequest(detail!("detail.approval.retention_use_1_1", r = format!("{r:?}"))))?
            .code(),
        None => b.retention_years.unwrap_or(5),
    };
    let d = Draft {
        source: if b.application_id.is_some() { Source::Application } else { Source::Internal },
        application_id: b.application_id,
        title: b.title,
        body: b.body,
        matter_kind: b.matter_kind.unwrap_or_default(),
        amount: b.amount,
        important: b.important,
        urgent: b.urgent,
        decision: b.decision,
        drafter_post: b.drafter_post,
        consult: b.consult.into_iter().map(|c| (c.division, c.parallel)).collect(),
        retention_years,
        disposal: b.disposal.unwrap_or_else(|| "haiki".into()),
    };
    let id = kian::create(&st.db, st.links.clone(), &st.approval, s, d).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct BoxQuery {
    /// pending (未処理), drafting (起案中), kouetsu (後閲), kyoran (供覧), decided (決裁済).
    #[serde(default, rename = "box")]
    pub which: Option<String>,
    /// Japanese search over titles and bodies instead of a box.
    #[serde(default)]
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxBody {
    pub counts: kian::Counts,
    pub items: Vec<Line>,
}

#[utoipa::path(get, path = "/api/v1/approval", tag = "approval", security(("bearer" = [])), params(BoxQuery),
    responses((status = 200, body = InboxBody)))]
pub(super) async fn api_inbox(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BoxQuery>,
) -> Result<Json<InboxBody>> {
    let s = ctx.staff()?;
    let setup = st.approval.get(&st.db, s.tenant_id).await?;
    let items = match q.q.as_deref().filter(|q| !q.trim().is_empty()) {
        Some(query) if query.chars().count() > 100 => {
            return Err(AppError::BadRequest(detail!("detail.request.search_too_long")))
        }
        Some(query) => kian::search(&st.db, &setup, s, query).await?,
        None => {
            let which = match q.which.as_deref() {
                None => Inbox::Pending,
                Some(w) => Inbox::parse(w).ok_or_else(|| {
                    AppError::BadRequest(detail!("detail.approval.unknown_box", w = format!("{w:?}")))
                })?,
            };
            kian::inbox(&st.db, &setup, s, which).await?
        }
    };
    Ok(Json(InboxBody { counts: kian::counts(&st.db, &setup, s).await?, items }))
}

#[utoipa::path(get, path = "/api/v1/approval/{id}", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = KianView), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<KianView>> {
    let s = ctx.staff()?;
    Ok(Json(view(&st, s, id).await?.0))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// submit, approve, agree, disagree, send_back, recall, reject, abandon, substitute_decide,
    /// take_over, read.
    pub act: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// For send_back: `drafter` (default) or the number of an earlier stage.
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActResult {
    #[schema(value_type = String)]
    pub state: StateKind,
}

#[utoipa::path(post, path = "/api/v1/approval/{id}/acts", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ActBody,
    responses((status = 200, body = ActResult), (status = 409, description = "Refused by the rules; the code names the rule", body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActResult>> {
    let s = ctx.staff()?;
    let b: ActBody = json(&headers, &body)?;
    let action = kian::parse_action(&b.act, b.comment, b.to.as_deref())?;
    let state = kian::act(&st.db, st.links.clone(), &st.approval, &st.cfg.base_url, s, id, action).await?;
    Ok(Json(ActResult { state }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    /// add_step, add_parallel, remove, add_reader.
    pub op: String,
    #[serde(default)]
    pub post: Option<String>,
    /// kaigi or aigi, for add_step.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub at: Option<usize>,
    #[serde(default)]
    pub stage: Option<usize>,
    #[serde(default)]
    pub index: Option<usize>,
}

#[utoipa::path(post, path = "/api/v1/approval/{id}/route", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = RouteBody, responses((status = 204), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_route(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let b: RouteBody = json(&headers, &body)?;
    let edit = route_edit_from(|k| match k {
        "op" => Some(b.op.clone()),
        "post" => b.post.clone(),
        "role" => b.role.clone(),
        "at" => b.at.map(|v| v.to_string()),
        "stage" => b.stage.map(|v| v.to_string()),
        "index" => b.index.map(|v| v.to_string()),
        _ => None,
    })?;
    kian::edit_route(&st.db, &st.approval, &st.cfg.base_url, s, id, edit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 施行: carries out a decided 起案 (an application's decision reaches the resident with a
/// signed notice; a disposal disposes of its records).
#[utoipa::path(post, path = "/api/v1/approval/{id}/execute", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_execute(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let done = kian::execute(&st.db, st.links.clone(), &st.approval, &st.cfg.base_url, &st.cfg.data_dir, s, id).await?;
    after_execute(&st, &done, id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceBody {
    /// Whose absence; yourself when absent (administrators may name anyone in the tenant).
    #[serde(default)]
    pub staff_id: Option<i64>,
    /// YYYY-MM-DD, first day away.
    pub from: String,
    /// YYYY-MM-DD, last day away.
    pub to: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/absences", tag = "approval", security(("bearer" = [])), request_body = AbsenceBody,
    responses((status = 201, body = Created), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_absence(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: AbsenceBody = json(&headers, &body)?;
    let id = setup::add_absence(&st.db, s, b.staff_id.unwrap_or(s.id), &b.from, &b.to, &b.note).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FyParam {
    /// Fiscal year (年度, April–March); the current one when absent.
    #[serde(default)]
    pub fy: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresBody {
    pub fiscal_year: i32,
    /// The first line (division "") is the whole tenant. Each: division, decided, submitted,
    /// sent_back, per_step and per_route {count, median_days, p90_days}, slowest_posts.
    #[schema(value_type = Vec<Object>)]
    pub divisions: Vec<DivisionFigures>,
}

#[utoipa::path(get, path = "/api/v1/approval/figures", tag = "approval", security(("bearer" = [])), params(FyParam),
    responses((status = 200, body = FiguresBody)))]
pub(super) async fn api_figures(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FyParam>,
) -> Result<Json<FiguresBody>> {
    let s = ctx.staff()?;
    let fy = fy_of(&FyQuery { fy: q.fy })?;
    let (from, to) = fy_span(fy);
    Ok(Json(FiguresBody { fiscal_year: fy, divisions: approval::figures(&st.db, s.tenant_id, from, to).await? }))
}

#[utoipa::path(get, path = "/api/v1/records/disposal", tag = "approval", security(("bearer" = [])), params(FyParam),
    responses((status = 200, body = [records::Record])))]
pub(super) async fn api_disposal_list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FyParam>,
) -> Result<Json<Vec<records::Record>>> {
    let s = ctx.staff()?;
    Ok(Json(records::expiring(&st.db, s.tenant_id, fy_of(&FyQuery { fy: q.fy })?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisposeBody {
    pub fy: i32,
}

/// Drafts the disposal 起案 for a fiscal year's expired records; once decided and carried out
/// (施行), they are destroyed or transferred.
#[utoipa::path(post, path = "/api/v1/records/disposal", tag = "approval", security(("bearer" = [])), request_body = DisposeBody,
    responses((status = 201, body = Created), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_dispose(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    let b: DisposeBody = json(&headers, &body)?;
    let fy = fy_of(&FyQuery { fy: Some(b.fy) })?;
    let id = records::draft_disposal(&st.db, &st.approval, s, fy).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// disclosure (開示請求), lawsuit (訴訟) or audit (監査).
    pub kind: String,
    /// What the hold is for: the request's receipt number, the case or audit reference.
    pub reference: String,
}

/// Holds of a record (廃棄の留保), newest first.
#[utoipa::path(get, path = "/api/v1/records/{id}/holds", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [holds::Hold]), (status = 403, body = crate::web::openapi::ErrorBody),
        (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_holds(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Json<Vec<holds::Hold>>> {
    let s = ctx.staff()?;
    Ok(Json(holds::list(&st.db, s, id).await?))
}

/// Places a hold: while it is in place the record is left out of disposal lists and a decided
/// disposal that holds it is refused at 施行 (`record_on_hold`). Roles: `record_hold`.
#[utoipa::path(post, path = "/api/v1/records/{id}/holds", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = HoldBody,
    responses((status = 201, body = Created), (status = 403, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_place_hold(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: HoldBody = json(&headers, &body)?;
    let hold = holds::place(&st.db, s, id, &b.kind, &b.reference).await?;
    Ok((StatusCode::CREATED, Json(Created { id: hold })).into_response())
}

/// Lifts a hold (the request answered, the case closed, the audit done).
#[utoipa::path(post, path = "/api/v1/records/{id}/holds/{hold}/lift", tag = "approval", security(("bearer" = [])),
    params(("id" = i64, Path), ("hold" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::web::openapi::ErrorBody), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_lift_hold(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, hold)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    let s = ctx.staff()?;
    holds::lift(&st.db, s, id, hold).await?;
    Ok(StatusCode::NO_CONTENT)
}
