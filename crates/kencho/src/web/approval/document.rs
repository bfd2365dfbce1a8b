//! The pages of one 起案: drafting, the document with its route and acts, attachments, 施行.

use super::*;

#[derive(Deserialize)]
pub(super) struct NewQuery {
    #[serde(default)]
    application: Option<i64>,
}

#[derive(Template)]
#[template(path = "approval_new.html")]
pub(super) struct NewPage {
    l: Layout,
    kinds: Vec<String>,
    divisions: Vec<(String, String)>,
    posts: Vec<(String, String)>,
    application: Option<(i64, String)>,
    title: String,
    matter: String,
    retention: i64,
    disposal: String,
    body: String,
    error: String,
}

impl NewPage {
    /// Every retention class as (stored code, label): 1年未満, 1年 … 30年, 常用.
    fn retention_classes(&self) -> Vec<(i64, String)> {
        RetentionClass::all().into_iter().map(|c| (c.code(), c.label())).collect()
    }
}

pub(super) async fn new_view(st: &AppState, ctx: &Ctx, application: Option<i64>, error: String) -> Result<NewPage> {
    let s = ctx.staff()?;
    let setup = st.approval.get(&st.db, s.tenant_id).await?;
    let today = crate::clock::date_at(now_ms());
    let mut kinds: Vec<String> =
        setup.rules.iter().filter(|r| r.period.contains(today)).map(|r| r.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let divisions = setup
        .org
        .divisions
        .iter()
        .filter(|d| d.period.contains(today))
        .map(|d| (d.id.0.clone(), d.name.clone()))
        .collect();
    let posts = setup
        .org
        .posts_of(&person_of(s.id), today)
        .into_iter()
        .map(|p| (p.0.clone(), post_name(&setup, &p.0)))
        .collect();
    let mut page = NewPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "approval.new_title")),
        kinds,
        divisions,
        posts,
        application: None,
        title: String::new(),
        matter: String::new(),
        retention: 5,
        disposal: "haiki".into(),
        body: String::new(),
        error,
    };
    if let Some(id) = application {
        let a = crate::applications::open_for_staff(&st.db, s, id, "draft a decision").await?;
        let p = crate::applications::procedure_version(&st.db, a.procedure_id).await?;
        let receipt = a.receipt_number.clone().unwrap_or_default();
        page.application = Some((id, format!("{receipt} {}（{}）", p.def.title, a.resident_name)));
        page.title = crate::i18n::tf(
            crate::i18n::OFFICE,
            "approval.decision_title",
            &[("procedure", &p.def.title), ("receipt", &receipt)],
        );
        page.matter = p.def.matter.clone().unwrap_or_default();
        page.retention = i64::from(p.def.retention_years);
        page.disposal = p.def.disposal.as_str().into();
    }
    Ok(page)
}

pub(super) async fn new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&new_view(&st, &ctx, q.application, String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) fn draft_from_form(form: &[(String, String)]) -> Result<Draft> {
    let get = |k: &str| form_get(form, k).unwrap_or_default().to_string();
    let application_id = match get("application_id").trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| AppError::BadRequest(detail!("detail.approval.application")))?),
    };
    let amount = match get("amount").trim() {
        "" => None,
        s => Some(
            kencho_core::text::nfkc_trim(s)
                .replace(',', "")
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest(detail!("detail.approval.amount_whole_yen")))?,
        ),
    };
    let mut consult = Vec::new();
    for i in 1..=4 {
        let d = get(&format!("consult_{i}"));
        if !d.is_empty() {
            consult.push((d, form_get(form, &format!("parallel_{i}")).is_some()));
        }
    }
    let decision = match application_id {
        Some(_) => match get("decision").as_str() {
            "approve" | "deny" => Some(get("decision")),
            _ => return Err(AppError::BadRequest(detail!("detail.approval.choose_application"))),
        },
        None => None,
    };
    Ok(Draft {
        source: if application_id.is_some() { Source::Application } else { Source::Internal },
        application_id,
        title: get("title"),
        body: get("body"),
        matter_kind: get("matter_kind"),
        amount,
        important: form_get(form, "important").is_some(),
        urgent: form_get(form, "urgent").is_some(),
        decision,
        drafter_post: Some(get("drafter_post")).filter(|s| !s.is_empty()),
        consult,
        // An unknown class is refused by the draft's check (i64::MIN is no class).
        retention_years: RetentionClass::parse(&get("retention_years")).map_or(i64::MIN, RetentionClass::code),
        disposal: get("disposal"),
    })
}

pub(super) async fn create_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = match draft_from_form(&form) {
        Ok(d) => kian::create(&st.db, st.links.clone(), &st.approval, &s, d).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/staff/approval/{id}")).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..)) => {
            let app = form_get(&form, "application_id").and_then(|v| v.parse().ok());
            let mut page = new_view(&st, &ctx, app, e.message(&lang)).await.lang(&lang)?;
            page.title = form_get(&form, "title").unwrap_or_default().into();
            page.body = form_get(&form, "body").unwrap_or_default().into();
            page.matter = form_get(&form, "matter_kind").unwrap_or_default().into();
            Ok(crate::web::render_status(e.status(), &page).lang(&lang)?)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "approval_doc.html")]
pub(super) struct DocPage {
    l: Layout,
    k: KianView,
    notice_missing: bool,
    editable: bool,
    posts: Vec<(String, String)>,
    error: String,
}

impl DocPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn has(&self, act: &str) -> bool {
        self.k.acts.iter().any(|a| a == act)
    }
    fn label(&self, prefix: &str, key: &str) -> String {
        if key.is_empty() {
            String::new()
        } else {
            self.l.t(&format!("approval.{prefix}_{key}"))
        }
    }
    fn post_label(&self, code: &Option<String>) -> String {
        code.as_ref()
            .map(|c| self.posts.iter().find(|(p, _)| p == c).map(|(_, n)| n.clone()).unwrap_or_else(|| c.clone()))
            .unwrap_or_default()
    }
}

pub(super) async fn doc_view(st: &AppState, ctx: &Ctx, id: i64, error: String) -> Result<DocPage> {
    let s = ctx.staff()?;
    let (k, setup, drafter) = view(st, s, id).await?;
    let today = crate::clock::date_at(now_ms());
    let posts =
        setup.org.posts.iter().filter(|p| p.period.contains(today)).map(|p| (p.id.0.clone(), p.name.clone())).collect();
    Ok(DocPage {
        l: ctx.layout(st, &k.title),
        notice_missing: notice_missing(st, &k).await?,
        editable: drafter && k.state.is_editable(),
        k,
        posts,
        error,
    })
}

pub(super) async fn doc_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&doc_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

/// Shows the document again with the error when an act or edit is refused; other errors are
/// error pages.
pub(super) async fn redisplay(st: &AppState, ctx: &Ctx, id: i64, outcome: Result<()>) -> PageResult {
    let lang = ctx.lang().to_string();
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/staff/approval/{id}")).into_response()),
        Err(e)
            if matches!(
                e,
                AppError::BadRequest(_) | AppError::Refused(..) | AppError::TooLarge | AppError::UnsupportedMedia(_)
            ) =>
        {
            let page = doc_view(st, ctx, id, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn act_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (form, s) = staff_form(&ctx, &body, false)?;
    let comment = form_get(&form, "comment").map(str::to_string);
    let name = form_get(&form, "act").unwrap_or_default();
    let outcome = async {
        let action = kian::parse_action(name, comment, form_get(&form, "to"))?;
        kian::act(&st.db, st.links.clone(), &st.approval, &st.cfg.base_url, &s, id, action).await?;
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

pub(super) fn route_edit_from(get: impl Fn(&str) -> Option<String>) -> Result<RouteEdit> {
    let num = |k: &str| -> Result<usize> {
        get(k)
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest(detail!("detail.approval.number", k = k)))
    };
    let post = || get("post").unwrap_or_default();
    Ok(match get("op").unwrap_or_default().as_str() {
        "add_step" => RouteEdit::AddStep {
            at: num("at")?,
            post: post(),
            role: if get("role").as_deref() == Some("aigi") { Role::Aigi } else { Role::Kaigi },
        },
        "add_parallel" => RouteEdit::AddParallel { stage: num("stage")?, post: post() },
        "remove" => RouteEdit::Remove { stage: num("stage")?, index: num("index")? },
        "add_reader" => RouteEdit::AddReader { post: post() },
        other => {
            return Err(AppError::BadRequest(detail!(
                "detail.approval.unknown_route_change",
                other = format!("{other:?}")
            )))
        }
    })
}

pub(super) async fn route_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let edit = route_edit_from(|k| form_get(&form, k).map(str::to_string))?;
        kian::edit_route(&st.db, &st.approval, &st.cfg.base_url, &s, id, edit).await
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

pub(super) async fn attach_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mut mp: axum::extract::Multipart,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let mut csrf = None;
    let mut file = None;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))
        .lang(&lang)?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge).lang(&lang)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let outcome = match file {
        Some((name, bytes)) => {
            kian::attach(&st.db, &st.approval, &st.cfg.data_dir, &s, id, &name, bytes).await.map(|_| ())
        }
        None => Err(AppError::BadRequest(detail!("detail.admin.choose_file"))),
    };
    redisplay(&st, &ctx, id, outcome).await
}

pub(super) async fn download_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, fid)): Path<(i64, String)>,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let f = kian::file(&st.db, &setup, s, id, &fid).await.lang(&lang)?;
    let bytes = tokio::fs::read(crate::blobs::file_path(&st.cfg.data_dir, &f.sha256))
        .await
        .map_err(|_| AppError::NotFound)
        .lang(&lang)?;
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencode(&f.filename));
    Ok(([(header::CONTENT_TYPE, f.media_type.clone()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) async fn execute_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (_, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let done =
            kian::execute(&st.db, st.links.clone(), &st.approval, &st.cfg.base_url, &st.cfg.data_dir, &s, id).await?;
        after_execute(&st, &done, id).await;
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

/// Issues the signed notice again when it failed after 施行 (idempotent).
pub(super) async fn reissue_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (_, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        // Only the 起案 itself is needed, not the whole page view.
        let setup = st.approval.get(&st.db, s.tenant_id).await?;
        let k = kian::get(&st.db, &setup, &s, id).await?;
        let app = k
            .application_id
            .filter(|_| k.executed_at.is_some())
            .ok_or(AppError::Refused("wrong_state", detail!("detail.approval.nothing_issue")))?;
        crate::documents::issue_decision_notice(&st.db, &st.links, &st.cfg.base_url, &st.cfg.data_dir, app, Some(id))
            .await?;
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}
