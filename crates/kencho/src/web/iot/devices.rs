//! The administrator's IoT pages: devices (one by one or as CSV), settings, application
//! bindings, 見守り people and their end.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};

use crate::error::{AppError, Result};
use crate::iot::applications::Binding;
use crate::iot::registry::{self, DeviceInfo, NewPerson};
use crate::web::{fmt_time, form_get, read_upload, render, staff_form, AppState, Ctx, InLang, Layout, PageResult};

pub(super) struct PersonRow {
    id: i64,
    name: String,
    area: String,
    devices: i64,
}

#[derive(Template)]
#[template(path = "iot_devices.html")]
pub(super) struct DevicesPage {
    l: Layout,
    devices: Vec<DeviceInfo>,
    people: Vec<PersonRow>,
    resend_min: i64,
    staff_email: String,
    /// Network-server applications bound to the tenant (MQTT).
    applications: Vec<Binding>,
    message: String,
    error: String,
}

impl DevicesPage {
    /// The roles a watched person's contact may have, in the order of escalation.
    fn person_roles(&self) -> [registry::ContactRole; 4] {
        registry::ContactRole::FOR_PERSON
    }

    fn when(&self, ms: &Option<i64>) -> String {
        ms.map(fmt_time).unwrap_or_else(|| "—".into())
    }
}

pub(super) async fn devices_view(st: &AppState, ctx: &Ctx, message: String, error: String) -> Result<DevicesPage> {
    let s = ctx.admin()?;
    let people = registry::list_people(&st.db, s.tenant_id)
        .await?
        .into_iter()
        .map(|p| PersonRow { id: p.id, name: p.name, area: p.area, devices: p.devices })
        .collect();
    let (resend_min, staff_email) = registry::settings(&st.db, s.tenant_id).await?;
    Ok(DevicesPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "iot.devices_title")),
        devices: registry::list_devices(&st.db, s.tenant_id).await?,
        people,
        resend_min,
        staff_email,
        applications: crate::iot::applications::list(&st.db, s.tenant_id).await?,
        message,
        error,
    })
}

pub(super) async fn devices_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&devices_view(&st, &ctx, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn devices_outcome(st: &AppState, ctx: &Ctx, r: Result<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    match r {
        Ok(m) => render(&devices_view(st, ctx, m, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = devices_view(st, ctx, String::new(), e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(status, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// CSV import of devices from the page (all rows or none).
pub(super) async fn devices_csv(State(st): State<AppState>, ctx: Ctx, mp: axum::extract::Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.admin().lang(&lang)?.clone();
    let (csrf, _, file) = read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let result = async {
        let (_, text) = file.ok_or_else(|| AppError::BadRequest(detail!("detail.iot.choose_csv_file")))?;
        let devices = registry::devices_from_csv(&text)?;
        let ids = registry::add_devices(&st.db, s.tenant_id, devices, &format!("staff:{}", s.id)).await?;
        Ok(crate::i18n::tf(&lang, "iot.imported", &[("n", &ids.len().to_string())]))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

pub(super) async fn save_settings(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let result = async {
        let min = form_get(&form, "resend_min").unwrap_or("").trim().parse::<i64>().unwrap_or(0);
        if !(5..=720).contains(&min) {
            return Err(AppError::BadRequest(detail!("detail.iot.re_send_interval_5")));
        }
        let email = form_get(&form, "staff_email").unwrap_or("").trim().to_lowercase();
        if !email.is_empty() && !kencho_core::forms::is_email(&email) {
            return Err(AppError::BadRequest(detail!("detail.iot.e_mail_address_2")));
        }
        registry::save_settings(&st.db, s.tenant_id, &format!("staff:{}", s.id), min, &email).await?;
        Ok(crate::i18n::t(&lang, "iot.saved"))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

/// Binds a network-server application (MQTT) to the tenant from the page.
pub(super) async fn bind_application_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let b = Binding {
        id: 0,
        format: form_get(&form, "format").unwrap_or_default().to_string(),
        application: form_get(&form, "application").unwrap_or_default().to_string(),
    };
    let result = crate::iot::applications::bind(&st.db, s.tenant_id, &b, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.saved"));
    devices_outcome(&st, &ctx, result).await
}

pub(super) async fn unbind_application_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    let result = crate::iot::applications::unbind(&st.db, s.tenant_id, id, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.saved"));
    devices_outcome(&st, &ctx, result).await
}

/// Registers a watched person and up to three contacts from the page.
pub(super) async fn add_person_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let result = async {
        let text = |k: &str| form_get(&form, k).unwrap_or("").trim().to_string();
        let num = |k: &str| -> Result<Option<u32>> {
            let v = text(k);
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse().map(Some).map_err(|_| AppError::BadRequest(detail!("detail.iot.number", k = k)))
            }
        };
        let mut contacts = Vec::new();
        for i in 1..=3 {
            let (name, email) = (text(&format!("c{i}_name")), text(&format!("c{i}_email")));
            if name.is_empty() && email.is_empty() {
                continue;
            }
            let hours = text(&format!("c{i}_hours"));
            contacts.push(registry::NewContact {
                name,
                email,
                role: text(&format!("c{i}_role")),
                hours: (!hours.is_empty()).then_some(hours),
            });
        }
        let quiet = text("quiet_hours");
        let p = NewPerson {
            name: text("name"),
            area: text("area"),
            inactivity_hours: num("inactivity_hours")?,
            quiet_hours: (!quiet.is_empty()).then_some(quiet),
            escalation_wait_min: num("escalation_wait_min")?,
            consent: text("consent"),
            contacts,
        };
        let id = registry::add_person(&st.db, s.tenant_id, p, &format!("staff:{}", s.id)).await?;
        Ok(crate::i18n::tf(&lang, "iot.person_added", &[("id", &id.to_string())]))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

pub(super) async fn retire_device_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    let r = registry::retire_device(&st.db, s.tenant_id, id, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.retired"));
    devices_outcome(&st, &ctx, r).await
}

pub(super) async fn end_person_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let r = registry::end_person(
        &st.db,
        s.tenant_id,
        id,
        form_get(&form, "reason").unwrap_or(""),
        &format!("staff:{}", s.id),
    )
    .await
    .map(|_| crate::i18n::t(&lang, "iot.ended"));
    devices_outcome(&st, &ctx, r).await
}

#[derive(Template)]
#[template(path = "iot_person.html")]
pub(super) struct PersonPage {
    l: Layout,
    id: i64,
    admin: bool,
    name: String,
    area: String,
    window: i64,
    consent: String,
    last_activity: String,
    contacts: Vec<registry::ContactRow>,
    devices: Vec<registry::DeviceRow>,
    activity: Vec<(String, String)>,
}

/// A watched person's record: for those the tenant's table allows (`watch_records`; by
/// default 課長 and administrators). Opening it is audited: who looked, when, why.
pub(super) async fn person_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let r = registry::open_person(&st.db, &s, id, "record page").await.lang(&lang)?;
    let (contacts, devices, recent) = registry::person_details(&st.db, id).await.lang(&lang)?;
    let activity = recent.into_iter().map(|(at, kind)| (fmt_time(at), kind)).collect();
    let last = r.last_activity_at;
    render(&PersonPage {
        id,
        admin: s.role == kencho_core::application::Role::Admin,
        l: ctx.layout(&st, &crate::i18n::t(&lang, "iot.person_title")),
        name: r.name,
        area: r.area,
        window: r.inactivity_hours,
        consent: r.consent,
        last_activity: last.map(fmt_time).unwrap_or_else(|| "—".into()),
        contacts,
        devices,
        activity,
    })
    .lang(&lang)
}
