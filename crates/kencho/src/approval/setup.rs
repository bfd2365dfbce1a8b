//! A tenant's organisation and 専決 table, loaded as whole documents and versioned, plus
//! absence registration (不在登録). Person ids in the stored organisation are staff ids.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kencho_core::approval::doc::{format_date, parse_date, parse_org, parse_rules};
use kencho_core::approval::org::{Org, PersonId};
use kencho_core::approval::rules::RuleRow;
use kencho_core::approval::settings::{parse_settings, Settings};
use kencho_core::check::Finding;
use sha2::{Digest, Sha256};
use time::Date;

pub use super::model::{Absence, Setup};
use super::store;
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

/// Parsed setups per tenant, re-read only when a newer version was loaded (on any node).
#[derive(Default)]
pub struct SetupCache {
    by_tenant: Mutex<HashMap<i64, Setup>>,
}

impl SetupCache {
    pub async fn get(&self, db: &Db, tenant_id: i64) -> Result<Setup> {
        let mut org_v = 0;
        let mut rules_v = 0;
        let mut settings_v = 0;
        for (kind, v) in store::latest_setup_ids(db, tenant_id).await? {
            match kind.as_str() {
                "org" => org_v = v,
                "rules" => rules_v = v,
                "settings" => settings_v = v,
                _ => {}
            }
        }
        if let Some(s) = self.cached(tenant_id) {
            if s.org_version == org_v && s.rules_version == rules_v && s.settings_version == settings_v {
                return Ok(s);
            }
        }
        let org: Org = body_of(db, org_v).await?.unwrap_or_default();
        let rules: Vec<RuleRow> = body_of(db, rules_v).await?.unwrap_or_default();
        let settings: Settings = body_of(db, settings_v).await?.unwrap_or_default();
        let setup = Setup {
            org: Arc::new(org),
            rules: Arc::new(rules),
            settings: Arc::new(settings),
            org_version: org_v,
            rules_version: rules_v,
            settings_version: settings_v,
        };
        if let Ok(mut m) = self.by_tenant.lock() {
            m.insert(tenant_id, setup.clone());
        }
        Ok(setup)
    }

    fn cached(&self, tenant_id: i64) -> Option<Setup> {
        self.by_tenant.lock().ok().and_then(|m| m.get(&tenant_id).cloned())
    }
}

async fn body_of<T: serde::de::DeserializeOwned>(db: &Db, id: i64) -> Result<Option<T>> {
    if id == 0 {
        return Ok(None);
    }
    let body = store::setup_body(db, id).await?;
    serde_json::from_str(&body).map(Some).map_err(|e| AppError::failed(format!("stored setup {id}"), e))
}

/// Whether the tenant has loaded any organisation or 専決 table yet.
pub async fn is_loaded(db: &Db, tenant_id: i64) -> Result<bool> {
    Ok(!store::latest_setup_ids(db, tenant_id).await?.is_empty())
}

pub fn person_of(staff_id: i64) -> PersonId {
    PersonId(staff_id.to_string())
}

pub fn staff_id_of(p: &PersonId) -> Option<i64> {
    p.0.parse().ok()
}

/// The source text of the version in use, for the editor.
pub async fn source(db: &Db, tenant_id: i64, kind: &str) -> Result<String> {
    Ok(store::setup_source(db, tenant_id, kind).await?.unwrap_or_default())
}

/// Loads a new organisation (`kind = "org"`), 専決 table (`"rules"`) or settings (`"settings"`:
/// records section and 文書番号 template) for the admin's tenant.
/// The document is checked whole; on any problem nothing is stored and every problem is named.
pub async fn load(db: &Db, cache: &SetupCache, admin: &Staff, kind: &str, text: &str) -> Result<i64> {
    let body = match kind {
        "org" => {
            let mut by_email = HashMap::new();
            for (id, email) in store::staff_emails(db, admin.tenant_id).await? {
                by_email.insert(email.to_lowercase(), id);
            }
            let org =
                parse_org(text, |e| by_email.get(&e.to_lowercase()).map(|id| person_of(*id))).map_err(one_per_line)?;
            serde_json::to_string(&org)
        }
        "rules" => {
            let setup = cache.get(db, admin.tenant_id).await?;
            let rules = parse_rules(text, &setup.org).map_err(one_per_line)?;
            serde_json::to_string(&rules)
        }
        "settings" => {
            let setup = cache.get(db, admin.tenant_id).await?;
            let today = crate::clock::date_at(now_ms());
            let org = &setup.org;
            // Divisions that have posts now or later draft and decide, so need a 文書記号.
            let mut deciding: Vec<String> = org
                .posts
                .iter()
                .filter(|p| p.period.to.is_none_or(|t| t >= today))
                .map(|p| p.division.0.clone())
                .collect();
            deciding.sort();
            deciding.dedup();
            let settings =
                parse_settings(text, |d| org.divisions.iter().any(|x| x.id.0 == d), &deciding).map_err(one_per_line)?;
            serde_json::to_string(&settings)
        }
        _ => return Err(AppError::BadRequest(detail!("detail.approval.kind_org_rules_settings"))),
    }
    .map_err(AppError::unexpected)?;
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let (kind, text, admin) = (kind.to_string(), text.to_string(), admin.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            let id = store::insert_setup(conn, &admin, &kind, &body, &text, &sha, now_ms()).await?;
            audit::append(
                conn,
                admin.tenant_id,
                &format!("staff:{}", admin.id),
                &format!("approval.{kind}_loaded"),
                &format!("approval_setup:{id}"),
                serde_json::json!({"sha256": sha}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// What a check of the organisation, the 専決 table or the settings found, one finding a line: the setup page
/// lists each line on its own.
fn one_per_line(findings: Vec<Finding>) -> AppError {
    AppError::BadRequest(Detail::findings(&findings, "\n"))
}

/// Registers that `staff_id` is away from `from` to `to` (inclusive). Staff register their
/// own absences; an administrator may register anyone's in the tenant.
pub async fn add_absence(db: &Db, by: &Staff, staff_id: i64, from: &str, to: &str, note: &str) -> Result<i64> {
    let (Some(f), Some(t)) = (parse_date(from), parse_date(to)) else {
        return Err(AppError::BadRequest(detail!("detail.approval.dates_yyyy_mm_dd")));
    };
    if t < f {
        return Err(AppError::BadRequest(detail!("detail.approval.absence_ends_before_starts")));
    }
    if note.chars().count() > 200 || kencho_core::text::has_control_chars(note, false) {
        return Err(AppError::BadRequest(detail!("detail.approval.note_one_line_most")));
    }
    if staff_id != by.id && by.role != kencho_core::application::Role::Admin {
        return Err(AppError::Forbidden);
    }
    let (by, note) = (by.clone(), note.trim().to_string());
    let (from, to) = (format_date(f), format_date(t));
    db.transact(move |conn| {
        Box::pin(async move {
            if !store::staff_in_tenant(conn, staff_id, by.tenant_id).await? {
                return Err(AppError::NotFound);
            }
            let id = store::insert_absence(conn, &by, staff_id, (&from, &to), &note, now_ms()).await?;
            audit::append(
                conn,
                by.tenant_id,
                &format!("staff:{}", by.id),
                "approval.absence_registered",
                &format!("staff:{staff_id}"),
                serde_json::json!({"from": from, "to": to}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Absences that have not ended before `today`, for the page.
pub async fn absences(db: &Db, tenant_id: i64, today: Date) -> Result<Vec<Absence>> {
    store::absences(db, tenant_id, &format_date(today)).await
}

/// Who is away on `date`.
pub async fn absent_on(conn: &mut sqlx::AnyConnection, tenant_id: i64, date: Date) -> Result<BTreeSet<PersonId>> {
    let d = format_date(date);
    Ok(store::absent_staff(conn, tenant_id, &d).await?.into_iter().map(person_of).collect())
}
