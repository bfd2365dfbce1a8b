//! Acts on a 起案: route edits before submission, and every act along the route (承認, 差戻し,
//! 引戻し, 合議, 供覧, 代決 …), each one transaction with its history, inbox rows, mails and audit entry.

use std::collections::{BTreeSet, HashMap};

use kencho_core::approval::doc::fiscal_year;
use kencho_core::approval::org::{Org, PostId};
use kencho_core::approval::route::{self, Act, Action, Ctx, SendBackTo, State, StateKind};
use sqlx::AnyConnection;
use time::Date;

use super::model::{act_name, Kian, RouteEdit, Source, Waiting};
use super::store;
use super::view::may_see;
use super::Links;
use crate::actor::Staff;
use crate::approval::setup::{absent_on, person_of, staff_id_of, Setup, SetupCache};
use crate::audit;
use crate::db::{now_ms, Batch, Db};
use crate::error::{AppError, Detail, Result};
use crate::mail;

fn act_error(e: route::ActError) -> AppError {
    AppError::Refused(e.code(), Detail::of_code(e.code()))
}

fn edit_error(e: route::EditError) -> AppError {
    AppError::Refused(e.code(), Detail::of_code(e.code()))
}

pub async fn edit_route(
    db: &Db,
    cache: &SetupCache,
    base_url: &str,
    staff: &Staff,
    id: i64,
    edit: RouteEdit,
) -> Result<()> {
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url) = (staff.clone(), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let mut k = store::lock(conn, id).await?;
            if k.tenant_id != staff.tenant_id {
                return Err(AppError::NotFound);
            }
            let today = crate::clock::date_at(now_ms());
            let known = |p: &str| setup.org.post(&PostId(p.to_string()), today).is_some();
            let is_reader = matches!(edit, RouteEdit::AddReader { .. });
            if k.drafter_id != staff.id && !is_reader {
                return Err(AppError::Refused("not_allowed", detail!("detail.approval.drafter_changes_route")));
            }
            let detail = match &edit {
                RouteEdit::AddStep { at, post, role } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(detail!("detail.approval.no_post_today", post = post)));
                    }
                    k.route.add_step(*at, PostId(post.clone()), *role).map_err(edit_error)?;
                    serde_json::json!({"add_step": post, "at": at})
                }
                RouteEdit::AddParallel { stage, post } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(detail!("detail.approval.no_post_today", post = post)));
                    }
                    k.route.add_parallel(*stage, PostId(post.clone())).map_err(edit_error)?;
                    serde_json::json!({"add_parallel": post, "stage": stage})
                }
                RouteEdit::Remove { stage, index } => {
                    k.route.remove_step(*stage, *index).map_err(edit_error)?;
                    serde_json::json!({"remove": [stage, index]})
                }
                RouteEdit::AddReader { post } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(detail!("detail.approval.no_post_today", post = post)));
                    }
                    // 供覧 is added by the drafter, or by anyone who may see the document.
                    if k.drafter_id != staff.id && !may_see(&setup.org, &staff, &k) {
                        return Err(AppError::NotFound);
                    }
                    k.route.add_reader(PostId(post.clone())).map_err(edit_error)?;
                    serde_json::json!({"add_reader": post})
                }
            };
            crate::approval::records::keeps_records_consult(&setup, &k)?;
            let mut batch = Batch::new();
            store::save(&mut batch, &k, now_ms())?;
            if is_reader {
                let told = rewrite_waiting(conn, &mut batch, &setup.org, &k, today, now_ms()).await?;
                let seq = k.route.events().len() + 10_000 * k.route.readers().len();
                notify(conn, &mut batch, &base_url, &k, &told, seq, false).await?;
            }
            audit::append_batched(
                conn,
                &mut batch,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                "kian.route_changed",
                &format!("kian:{id}"),
                detail,
            )
            .await?;
            batch.run(conn).await
        })
    })
    .await
}

/// Rewrites who the 起案 waits for; returns the staff ids newly waited on, with their box, so
/// they can be told.
async fn rewrite_waiting(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    org: &Org,
    k: &Kian,
    date: Date,
    now: i64,
) -> Result<Vec<(i64, &'static str)>> {
    let mut had: BTreeSet<Waiting> = BTreeSet::new();
    let mut since: HashMap<Waiting, i64> = HashMap::new();
    for (key, at) in store::waiting(conn, k.id).await? {
        had.insert(key.clone());
        since.insert(key, at);
    }
    let mut now_waiting: Vec<Waiting> = Vec::new();
    for (st, i) in k.route.current_steps() {
        if let Some(step) = k.route.stages().get(st).and_then(|s| s.steps.get(i)) {
            now_waiting.push(("pending".into(), Some(step.post.0.clone()), None));
        }
    }
    for x in k.route.kouetsu().iter().filter(|x| !x.read) {
        if let Some(id) = staff_id_of(&x.person) {
            now_waiting.push(("kouetsu".into(), None, Some(id)));
        }
    }
    if matches!(k.route.state(), State::InProgress { .. } | State::Decided { .. }) {
        let read: BTreeSet<&PostId> =
            k.route.events().iter().filter(|e| e.act == Act::Read).filter_map(|e| e.as_post.as_ref()).collect();
        for p in k.route.readers().iter().filter(|p| !read.contains(p)) {
            now_waiting.push(("kyoran".into(), Some(p.0.clone()), None));
        }
    }
    now_waiting.sort();
    now_waiting.dedup();
    let rows: Vec<(Waiting, i64)> =
        now_waiting.iter().map(|w| (w.clone(), since.get(w).copied().unwrap_or(now))).collect();
    store::replace_waiting(batch, k, &rows);
    let mut new_people = Vec::new();
    for w in &now_waiting {
        let (boxname, post, person) = w;
        if had.contains(w) {
            continue;
        }
        let b: &'static str = match boxname.as_str() {
            "pending" => "pending",
            "kouetsu" => "kouetsu",
            _ => "kyoran",
        };
        match (post, person) {
            (_, Some(id)) => new_people.push((*id, b)),
            (Some(p), None) => {
                if let Some(id) = org.holder(&PostId(p.clone()), date).as_ref().and_then(staff_id_of) {
                    new_people.push((id, b));
                }
            }
            _ => {}
        }
    }
    Ok(new_people)
}

/// Applies an act by `staff`. A refused act changes nothing; an accepted one is committed with
/// its history rows, the inbox rows, the notices and the audit entry.
pub async fn act<L: Links>(
    db: &Db,
    links: L,
    cache: &SetupCache,
    base_url: &str,
    staff: &Staff,
    id: i64,
    action: Action,
) -> Result<StateKind> {
    check_comment(&action)?;
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url) = (staff.clone(), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let mut k = store::lock(conn, id).await?;
            if k.tenant_id != staff.tenant_id || !may_see(&setup.org, &staff, &k) {
                return Err(AppError::NotFound);
            }
            let now = now_ms();
            let at = crate::clock::at(now);
            let date = at.date();
            let absent = absent_on(conn, k.tenant_id, date).await?;
            let before = k.route.events().len();
            let was_decided = k.is_decided();
            let state_before = k.route.state().kind();
            let ctx = Ctx { org: &setup.org, at, absent: &absent };
            let name = action_name(&action);
            if matches!(action, Action::Submit) {
                crate::approval::records::keeps_records_consult(&setup, &k)?;
            }
            k.route.act(&ctx, &person_of(staff.id), action).map_err(act_error)?;
            let mut batch = Batch::new();
            push_events(conn, &mut batch, &k, before, now).await?;
            store::save(&mut batch, &k, now)?;
            number_if_decided(conn, &mut batch, &setup, &mut k, (was_decided, now)).await?;
            let changed = k.route.state().kind() != state_before;
            // A refund above the tenant's limit waited for this 決裁: refused or abandoned, the
            // order ends and its yen are free again. (Row locks before the audit head.)
            if changed && k.source == Source::Internal && matches!(k.route.state(), State::Rejected | State::Abandoned)
            {
                links.internal_closed(conn, k.id).await?;
            }
            let told = rewrite_waiting(conn, &mut batch, &setup.org, &k, date, now).await?;
            notify(conn, &mut batch, &base_url, &k, &told, before, changed).await?;
            let events = audited_events(&k, before);
            audit::append_batched(
                conn,
                &mut batch,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                &format!("kian.{name}"),
                &format!("kian:{id}"),
                serde_json::json!({"events": events, "state": k.route.state().kind().as_str(), "number": k.number}),
            )
            .await?;
            batch.run(conn).await?;
            Ok(k.route.state().kind())
        })
    })
    .await
}

/// Refuses a comment that is too long or not text, and an act that needs one without it.
fn check_comment(action: &Action) -> Result<()> {
    if let Some(c) = comment_of(action) {
        if c.chars().count() > 2000 || kencho_core::text::has_control_chars(c, true) {
            return Err(AppError::BadRequest(detail!("detail.approval.comment_text_most_2000")));
        }
    }
    let needs_comment = matches!(action, Action::Disagree { .. } | Action::SendBack { .. } | Action::Reject { .. });
    if needs_comment && comment_of(action).is_none_or(|c| c.trim().is_empty()) {
        return Err(AppError::BadRequest(detail!("detail.approval.comment_required")));
    }
    Ok(())
}

/// The history rows of the route's events from `before` on.
async fn push_events(conn: &mut AnyConnection, batch: &mut Batch, k: &Kian, before: usize, now: i64) -> Result<()> {
    let names = staff_names(conn, &k.route.events()[before..]).await?;
    for (seq, e) in k.route.events().iter().enumerate().skip(before) {
        let actor = e.actor.as_ref().and_then(staff_id_of);
        let name = actor.and_then(|a| names.get(&a).cloned()).unwrap_or_default();
        store::push_event(batch, k.id, seq, now, e, name);
    }
    Ok(())
}

/// A 起案 decided by this act gets its 文書番号 and becomes a record.
async fn number_if_decided(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    setup: &Setup,
    k: &mut Kian,
    (was_decided, now): (bool, i64),
) -> Result<()> {
    if let (State::Decided { on }, false) = (k.route.state(), was_decided) {
        let number = next_number(conn, setup, k.tenant_id, &k.division_code, *on).await?;
        store::set_number(batch, k.id, &number, *on);
        k.number = Some(number);
        // 公文書管理: a decided 起案 is a record from its decision date.
        crate::approval::records::keep_batched(
            batch,
            k.tenant_id,
            &format!("kian:{}", k.id),
            &k.title,
            &k.division_code,
            k.retention_years,
            &k.disposal,
            *on,
            now,
        );
    }
    Ok(())
}

/// The route's new events as the audit entry names them.
fn audited_events(k: &Kian, before: usize) -> Vec<serde_json::Value> {
    k.route.events()[before..]
        .iter()
        .map(|e| {
            serde_json::json!({
                "act": act_name(&e.act),
                "as_post": e.as_post.as_ref().map(|p| &p.0),
                "on_behalf_of": e.on_behalf_of.as_ref().map(|p| &p.0),
                "stage": e.stage,
            })
        })
        .collect()
}

/// The acts `staff` could do now, found by trying each on a copy of the route (the state
/// machine is the one authority on what is allowed).
pub async fn available_acts(db: &Db, setup: &Setup, staff: &Staff, k: &Kian) -> Result<Vec<&'static str>> {
    let mut conn = db.read.acquire().await?;
    let now = now_ms();
    let at = crate::clock::at(now);
    let absent = absent_on(&mut conn, k.tenant_id, at.date()).await?;
    let ctx = Ctx { org: &setup.org, at, absent: &absent };
    let me = person_of(staff.id);
    let c = || Some("-".to_string());
    let earlier = match k.route.state() {
        State::InProgress { stage } if *stage > 0 => SendBackTo::Stage(0),
        _ => SendBackTo::Drafter,
    };
    let candidates: Vec<(&'static str, Action)> = vec![
        ("submit", Action::Submit),
        ("approve", Action::Approve { comment: None }),
        ("agree", Action::Agree { comment: None }),
        ("disagree", Action::Disagree { comment: "-".into() }),
        ("send_back", Action::SendBack { to: SendBackTo::Drafter, comment: "-".into() }),
        ("send_back_earlier", Action::SendBack { to: earlier, comment: "-".into() }),
        ("recall", Action::Recall),
        ("reject", Action::Reject { comment: "-".into() }),
        ("substitute_decide", Action::SubstituteDecide { comment: c() }),
        ("take_over", Action::TakeOver { comment: c() }),
        ("read", Action::Read),
        ("abandon", Action::Abandon { comment: None }),
    ];
    let mut out = Vec::new();
    for (name, a) in candidates {
        let mut r = k.route.clone();
        if r.act(&ctx, &me, a).is_ok() {
            if name == "send_back_earlier" && earlier == SendBackTo::Drafter {
                continue;
            }
            out.push(name);
        }
    }
    Ok(out)
}

fn comment_of(a: &Action) -> Option<&str> {
    match a {
        Action::Approve { comment }
        | Action::Agree { comment }
        | Action::Abandon { comment }
        | Action::SubstituteDecide { comment }
        | Action::TakeOver { comment } => comment.as_deref(),
        Action::Disagree { comment } | Action::SendBack { comment, .. } | Action::Reject { comment } => Some(comment),
        Action::Submit | Action::Recall | Action::Read => None,
    }
}

pub fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Submit => "submit",
        Action::Approve { .. } => "approve",
        Action::Agree { .. } => "agree",
        Action::Disagree { .. } => "disagree",
        Action::SendBack { .. } => "send_back",
        Action::Recall => "recall",
        Action::Reject { .. } => "reject",
        Action::Abandon { .. } => "abandon",
        Action::SubstituteDecide { .. } => "substitute_decide",
        Action::TakeOver { .. } => "take_over",
        Action::Read => "read",
    }
}

/// Parses an act from its form or API name; comments go where the act takes one.
pub fn parse_action(name: &str, comment: Option<String>, to: Option<&str>) -> Result<Action> {
    let comment = comment.filter(|c| !c.trim().is_empty());
    let required =
        |c: Option<String>| c.ok_or_else(|| AppError::BadRequest(detail!("detail.approval.comment_required")));
    Ok(match name {
        "submit" => Action::Submit,
        "approve" => Action::Approve { comment },
        "agree" => Action::Agree { comment },
        "disagree" => Action::Disagree { comment: required(comment)? },
        "send_back" => {
            let to = match to.unwrap_or("drafter") {
                "drafter" | "" => SendBackTo::Drafter,
                s => SendBackTo::Stage(
                    s.parse().map_err(|_| AppError::BadRequest(detail!("detail.approval.send_back_drafter_step")))?,
                ),
            };
            Action::SendBack { to, comment: required(comment)? }
        }
        "recall" => Action::Recall,
        "reject" => Action::Reject { comment: required(comment)? },
        "abandon" => Action::Abandon { comment },
        "substitute_decide" => Action::SubstituteDecide { comment },
        "take_over" => Action::TakeOver { comment },
        "read" => Action::Read,
        _ => return Err(AppError::BadRequest(detail!("detail.approval.unknown_act", name = name))),
    })
}

async fn staff_names(conn: &mut AnyConnection, events: &[route::Event]) -> Result<HashMap<i64, String>> {
    let ids: BTreeSet<i64> = events.iter().filter_map(|e| e.actor.as_ref().and_then(staff_id_of)).collect();
    store::staff_column(conn, "name", ids.into_iter().collect()).await
}

/// 文書番号 by the tenant's template (`kencho_core::approval::settings::Numbering`; the default
/// is `{division}-{fiscal_year}-{seq:05}`), counted per fiscal year (from 4月1日) and per
/// division when the template names the division, else per tenant. The counter row is updated
/// in the act's transaction, so numbers come one after the other; a number already given (the
/// template or its scope changed during the year) is passed over, so each stays unique.
async fn next_number(
    conn: &mut AnyConnection,
    setup: &Setup,
    tenant_id: i64,
    division: &str,
    on: Date,
) -> Result<String> {
    let numbering = &setup.settings.numbering;
    let fy = fiscal_year(on);
    let scope = if numbering.per_division() { division } else { "*" };
    let key = format!("kian_number:{tenant_id}:{scope}:{fy}");
    for _ in 0..1000 {
        let n = store::next_count(conn, &key).await?;
        let number = numbering.render(on, division, n);
        if !store::number_taken(conn, tenant_id, &number).await? {
            return Ok(number);
        }
    }
    Err(AppError::Internal("no free document number".into()))
}

/// Mails everyone something newly arrived for (未処理, 後閲, 供覧), and the drafter when it
/// came back, was decided or ended.
async fn notify(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    k: &Kian,
    told: &[(i64, &'static str)],
    seq: usize,
    state_changed: bool,
) -> Result<()> {
    let link = format!("{base_url}/staff/approval/{}", k.id);
    let mut to: Vec<(i64, String)> = told
        .iter()
        .map(|(id, b)| {
            let what = match *b {
                "pending" => "mail.kian.pending",
                "kouetsu" => "mail.kian.kouetsu",
                _ => "mail.kian.kyoran",
            };
            (*id, crate::i18n::t(crate::i18n::OFFICE, what))
        })
        .collect();
    let drafter_note = match k.route.state() {
        _ if !state_changed => None,
        State::SentBack => Some("mail.kian.sent_back"),
        State::Decided { .. } => Some("mail.kian.decided"),
        State::Rejected => Some("mail.kian.rejected"),
        _ => None,
    };
    if let Some(n) = drafter_note {
        to.push((k.drafter_id, crate::i18n::t(crate::i18n::OFFICE, n)));
    }
    let emails = store::staff_column(conn, "email", to.iter().map(|(id, _)| *id).collect()).await?;
    for (i, (staff_id, what)) in to.iter().enumerate() {
        let Some(email) = emails.get(staff_id) else { continue };
        // Staff read kencho in Japanese; the texts are in `locales/` all the same.
        let args =
            [("what", what.as_str()), ("title", k.title.as_str()), ("kind", k.matter_kind.as_str()), ("link", &link)];
        let subject = crate::i18n::tf(crate::i18n::OFFICE, "mail.kian.subject", &args);
        let body = crate::i18n::tf(crate::i18n::OFFICE, "mail.kian.body", &args);
        mail::enqueue_batched(batch, &format!("kian:{}:{seq}:{staff_id}:{i}", k.id), email, &subject, &body);
    }
    Ok(())
}
