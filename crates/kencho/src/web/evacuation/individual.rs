//! A 個別避難計画 as staff keep it: the items 災害対策基本法 49条の14第3項 asks for, the person's
//! consent (given after the explanation of sharing, 第2項, and withdrawable), and the supporters
//! (避難支援等実施者) it is shared with while consent is in force (49条の15第2項).

use kencho_core::evacuation::individual::{self, Item, Sex, Supporter};

use super::*;

pub(super) struct SupporterRow {
    sub: Subscription,
    address: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "staff_evacuation_person.html")]
pub(super) struct PersonPage {
    l: Layout,
    id: i64,
    token: String,
    person: String,
    address: String,
    details: individual::Individual,
    sex: String,
    /// Items of 49条の14第3項 not yet recorded, in words.
    missing: Vec<String>,
    /// How the plan is shared: shown, and recorded with the consent.
    explanation: String,
    consent: String,
    consent_note: String,
    consent_in_force: bool,
    withdrawn: String,
    supporters: Vec<SupporterRow>,
    message: String,
    error: String,
}

impl PersonPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

/// The explanation of sharing given before consent (49条の14第2項: the provision under 49条の15
/// 第2項・第3項 of who receives the plan, and that it may be shared without consent in a disaster).
fn explanation(lang: &str, tenant: &str) -> String {
    tf(lang, "evacuation.share_explanation", &[("tenant", tenant)])
}

fn item_label(lang: &str, i: Item) -> String {
    let key = match i {
        Item::Name => "name",
        Item::Address => "address",
        Item::BirthDate => "birth_date",
        Item::Sex => "sex",
        Item::Phone => "phone",
        Item::HelpReason => "help_reason",
        Item::Supporter => "supporter",
        Item::Place => "place",
        Item::Route => "route",
    };
    t(lang, &format!("evacuation.item_{key}"))
}

pub(super) async fn person_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    message: String,
    error: String,
) -> Result<PersonPage, AppError> {
    let s = ctx.staff()?;
    let lang = ctx.lang();
    let plan = plans::open_individual(&st.db, s, plans::by_id(&st.db, s.tenant_id, id).await?, "person page").await?;
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    let a = &plan.answers;
    let supporters = plans::subscriptions(&st.db, plan.id)
        .await?
        .into_iter()
        .filter(|x| x.role == SubscriberRole::Supporter)
        .map(|sub| {
            let d = a.individual.supporters.iter().find(|d| d.email == sub.email);
            SupporterRow {
                address: d.map(|d| d.address.clone()).unwrap_or_default(),
                phone: d.map(|d| d.phone.clone()).unwrap_or_default(),
                sub,
            }
        })
        .collect();
    let address = atlas.town(&a.town_id).map(|t| t.full_name()).unwrap_or_else(|| a.address.clone());
    let home = if a.address.is_empty() { address.clone() } else { a.address.clone() };
    Ok(PersonPage {
        l: ctx.layout(st, &t(lang, "evacuation.person_title")),
        id,
        token: plan.token.clone(),
        person: a.person.clone(),
        missing: individual::missing(&a.person, &home, &a.individual)
            .into_iter()
            .map(|i| item_label(lang, i))
            .collect(),
        address,
        sex: a.individual.sex.map(|x| x.as_str().to_string()).unwrap_or_default(),
        details: a.individual.clone(),
        explanation: explanation(lang, &s.tenant_name),
        consent: plan.consent_at.map(fmt_time).unwrap_or_default(),
        consent_note: plan.consent_note.clone(),
        consent_in_force: plan.consent_in_force(),
        withdrawn: match plan.consent_withdrawn_at {
            Some(at) => format!("{} — {} — {}", fmt_time(at), plan.consent_withdrawn_by, plan.consent_withdrawn_note),
            None => String::new(),
        },
        supporters,
        message,
        error,
    })
}

pub(super) async fn person_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&person_view(&st, &ctx, id, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn person_outcome(st: &AppState, ctx: &Ctx, id: i64, result: Result<String, AppError>) -> PageResult {
    let lang = ctx.lang().to_string();
    match result {
        Ok(msg) => render(&person_view(st, ctx, id, msg, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_) | AppError::StaleForm)) => {
            let status = e.status();
            render_status(status, &person_view(st, ctx, id, String::new(), e.message(&lang)).await.lang(&lang)?)
                .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// Reads a text field: trimmed, at most `max` characters, no NUL.
fn field(form: &[(String, String)], key: &str, max: usize) -> Result<String, AppError> {
    let v: String = form_get(form, key).unwrap_or_default().trim().to_string();
    if v.contains('\0') || v.chars().count() > max {
        return Err(AppError::BadRequest(detail!("detail.evacuation.most_characters", key = key, max = max)));
    }
    Ok(v)
}

/// The items of 49条の14第3項: 生年月日, 性別, 連絡先, 避難支援等を必要とする事由, 避難場所, 避難経路.
pub(super) async fn person_details(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan =
            plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "record details").await?;
        let mut a = plan.answers.clone();
        let d = &mut a.individual;
        d.birth_date = field(&form, "birth_date", 10)?;
        if !d.birth_date.is_empty() && !individual::is_date(&d.birth_date) {
            return Err(AppError::BadRequest(detail!("evacuation.err_birth_date")));
        }
        d.sex = match form_get(&form, "sex").unwrap_or_default() {
            "" => None,
            x => Some(Sex::parse(x).ok_or_else(|| AppError::BadRequest(detail!("evacuation.err_sex")))?),
        };
        d.phone = field(&form, "phone", 40)?;
        d.help_reason = field(&form, "help_reason", 500)?;
        d.place = field(&form, "place", 200)?;
        d.route = field(&form, "route", 500)?;
        plans::update(&st.db, &plan, &a).await?;
        Ok(t(&lang, "evacuation.details_saved"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

pub(super) async fn person_consent(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan =
            plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "record consent").await?;
        // 49条の14第2項: the explanation of sharing comes before the consent.
        if !individual::may_record_consent(form_get(&form, "explained") == Some("yes")) {
            return Err(AppError::BadRequest(detail!("evacuation.err_explain_first")));
        }
        let text = explanation(&lang, &s.tenant_name);
        plans::record_consent(
            &st.db,
            &plan,
            form_get(&form, "note").unwrap_or_default(),
            &text,
            &format!("staff:{}", s.id),
        )
        .await?;
        Ok(t(&lang, "evacuation.consent_recorded"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

pub(super) async fn person_withdraw(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan = plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "withdraw consent")
            .await?;
        let note = form_get(&form, "note").unwrap_or_default();
        let ended = plans::withdraw_consent(&st.db, &plan, note, &format!("staff:{}", s.id)).await?;
        Ok(tf(&lang, "evacuation.consent_withdrawn", &[("n", &ended.to_string())]))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

pub(super) async fn add_supporter(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan =
            plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "add supporter").await?;
        if !plan.consent_in_force() {
            return Err(AppError::Conflict(detail!("evacuation.err_consent_first")));
        }
        let name = field(&form, "name", 100)?;
        if name.is_empty() {
            return Err(AppError::BadRequest(detail!("evacuation.err_supporter_name")));
        }
        // 49条の14第3項第1号: each supporter's name, address and phone are part of the plan.
        let (address, phone) = (field(&form, "address", 200)?, field(&form, "phone", 40)?);
        if address.is_empty() || phone.is_empty() {
            return Err(AppError::BadRequest(detail!("evacuation.err_supporter_contact")));
        }
        // The supporter must have agreed to receive the person's plan and alerts.
        if form_get(&form, "supporter_consent") != Some("yes") {
            return Err(AppError::BadRequest(detail!("evacuation.err_supporter_consent")));
        }
        let sub_lang = match form_get(&form, "lang") {
            Some(l) if crate::i18n::supported(l) => l,
            _ => "ja",
        };
        let email = form_get(&form, "email").unwrap_or_default().trim().to_lowercase();
        let actor = format!("staff:{}", s.id);
        plans::subscribe(&st.db, &plan, SubscriberRole::Supporter, &name, &email, sub_lang, &actor).await?;
        let mut a = plan.answers.clone();
        a.individual.supporters.retain(|x| x.email != email);
        a.individual.supporters.push(Supporter { email, name, address, phone });
        plans::update(&st.db, &plan, &a).await?;
        Ok(t(&lang, "evacuation.supporter_added"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

pub(super) async fn remove_supporter(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, sid)): Path<(i64, i64)>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan = plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "remove supporter")
            .await?;
        plans::remove_subscription(&st.db, &plan, sid, &format!("staff:{}", s.id)).await?;
        // The supporter's address and phone leave the plan with them.
        let email = plans::subscriptions(&st.db, plan.id).await?.into_iter().find(|x| x.id == sid).map(|x| x.email);
        if let Some(email) = email {
            let mut a = plan.answers.clone();
            a.individual.supporters.retain(|x| x.email != email);
            if a != plan.answers {
                plans::update(&st.db, &plan, &a).await?;
            }
        }
        Ok(t(&lang, "evacuation.supporter_removed"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}
