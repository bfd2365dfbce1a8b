//! マイ避難's types: the layers, plans, subscriptions, alerts and telegrams it stores, each
//! decoded from a row by column name, and the inputs its use cases take. No SQL, no I/O.

use kencho_core::evacuation::alert::{AlertHazard, AlertSource, AlertStatus, Issuance};
use kencho_core::evacuation::plan::Answers;
use kencho_core::evacuation::FloodScenario;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::alert_mail::AlertInfo;
use crate::actor::{Resident, Staff};
use crate::crypto::Keyring;
use crate::db::parsed;
use crate::error::{AppError, Result};

// ---------- layers ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// 洪水浸水想定区域 (国土数値情報 A31a, A31 or A31b GeoJSON), one scenario per file.
    Flood,
    /// 土砂災害警戒区域 (A33 GeoJSON).
    Landslide,
    /// 家屋倒壊等氾濫想定区域 (GeoJSON polygons).
    HouseCollapse,
    /// 指定緊急避難場所 (GSI CSV, UTF-8 or Shift_JIS).
    Sites,
    /// 町字 with representative points (Address Base Registry mt_town and mt_town_pos).
    Towns,
}

kencho_core::names!(LayerKind, "layer kind" {
    Flood = "flood",
    Landslide = "landslide",
    HouseCollapse = "house_collapse",
    Sites = "sites",
    Towns = "towns",
});

/// Where a version is in use: its kind, and for flood layers the scenario.
pub type Slot = (LayerKind, Option<FloodScenario>);

/// The slot named by a row's `kind` and `scenario` columns (`None`: a kind or scenario this
/// version does not know).
pub(super) fn slot_of(kind: &str, scenario: &str) -> Option<Slot> {
    let kind = LayerKind::parse(kind)?;
    let scenario = match scenario {
        "" => None,
        s => Some(FloodScenario::parse(s)?),
    };
    Some((kind, scenario))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerVersion {
    pub id: i64,
    pub kind: LayerKind,
    /// For flood layers: planned (計画規模), maximum (想定最大規模) or duration (浸水継続時間).
    #[schema(value_type = Option<String>)]
    pub scenario: Option<FloodScenario>,
    pub version: i64,
    pub file_name: String,
    pub sha256: String,
    pub items: i64,
    pub loaded_by: String,
    pub loaded_at: i64,
    /// This version is the one in use.
    pub active: bool,
}

impl LayerVersion {
    pub(super) fn from_row(r: &AnyRow) -> Result<LayerVersion> {
        let (kind, scenario): (String, String) = (r.try_get("kind")?, r.try_get("scenario")?);
        let (kind, scenario) = slot_of(&kind, &scenario)
            .ok_or_else(|| AppError::Internal(format!("unknown layer kind {kind} {scenario}")))?;
        Ok(LayerVersion {
            id: r.try_get("id")?,
            kind,
            scenario,
            version: r.try_get("version")?,
            file_name: r.try_get("file_name")?,
            sha256: r.try_get("sha256")?,
            items: r.try_get("items")?,
            loaded_by: r.try_get("loaded_by")?,
            loaded_at: r.try_get("loaded_at")?,
            active: r.try_get::<i32, _>("active")? == 1,
        })
    }
}

/// A stored version as [`super::layers::activate`] needs it: its slot (`None`: one this
/// version does not know) and its number.
pub struct StoredLayer {
    pub slot: Option<Slot>,
    pub version: i64,
}

impl StoredLayer {
    pub(super) fn from_row(r: &AnyRow) -> Result<StoredLayer> {
        let (kind, scenario): (String, String) = (r.try_get("kind")?, r.try_get("scenario")?);
        Ok(StoredLayer { slot: slot_of(&kind, &scenario), version: r.try_get("version")? })
    }
}

// ---------- plans ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    Household,
    /// 個別避難計画: made by municipal staff for a person who needs help to evacuate.
    Individual,
}

kencho_core::names!(PlanKind, "plan kind" { Household = "household", Individual = "individual" });

#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub id: i64,
    pub tenant_id: i64,
    pub token: String,
    pub kind: PlanKind,
    pub resident_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub answers: Answers,
    pub revision: i64,
    pub consent_at: Option<i64>,
    pub consent_note: String,
    /// Who recorded the consent, and the explanation of sharing given before it
    /// (災害対策基本法 49条の14第2項).
    pub consent_by: String,
    pub consent_explanation: String,
    /// The consent's withdrawal: when, by whom, how (the note is sealed).
    pub consent_withdrawn_at: Option<i64>,
    pub consent_withdrawn_by: String,
    pub consent_withdrawn_note: String,
    pub updated_at: i64,
    pub saved_at: Option<i64>,
}

impl StoredPlan {
    /// The person's consent to share the plan with supporters is in force.
    pub fn consent_in_force(&self) -> bool {
        kencho_core::evacuation::individual::consent_in_force(self.consent_at, self.consent_withdrawn_at)
    }

    /// Who may open it: anyone with the token until it is saved to an account; after that its
    /// owner, and staff of its tenant for individual plans or plans they helped make.
    pub fn may_view(&self, resident: Option<&Resident>, staff: Option<&Staff>) -> bool {
        let tenant_staff = staff.is_some_and(|s| s.tenant_id == self.tenant_id);
        // A 個別避難計画 holds a vulnerable person's needs: only the municipality's staff.
        if self.kind == PlanKind::Individual {
            return tenant_staff;
        }
        if tenant_staff && staff.is_some_and(|s| self.staff_id == Some(s.id)) {
            return true;
        }
        match self.resident_id {
            None => true,
            Some(owner) => resident.is_some_and(|r| r.id == owner),
        }
    }

    /// Decodes a plan row, opening its sealed answers and notes with `keys`.
    pub(super) fn from_row(keys: &Keyring, r: &AnyRow) -> Result<StoredPlan> {
        let token: String = r.try_get("token")?;
        let answers = open_data(keys, &token, &r.try_get::<String, _>("data")?)?;
        let consent_note = keys.open_unless_empty(&consent_place(&token), &r.try_get::<String, _>("consent_note")?)?;
        let withdrawn_note =
            keys.open_unless_empty(&withdrawal_place(&token), &r.try_get::<String, _>("consent_withdrawn_note")?)?;
        Ok(StoredPlan {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            token: r.try_get("token")?,
            kind: parsed(r, "kind", PlanKind::parse)?,
            resident_id: r.try_get("resident_id")?,
            staff_id: r.try_get("staff_id")?,
            answers,
            revision: r.try_get("revision")?,
            consent_at: r.try_get("consent_at")?,
            consent_note,
            consent_by: r.try_get("consent_by")?,
            consent_explanation: r.try_get("consent_explanation")?,
            consent_withdrawn_at: r.try_get("consent_withdrawn_at")?,
            consent_withdrawn_by: r.try_get("consent_withdrawn_by")?,
            consent_withdrawn_note: withdrawn_note,
            updated_at: r.try_get("updated_at")?,
            saved_at: r.try_get("saved_at")?,
        })
    }
}

/// Where a plan's answers (its people and their needs) are sealed (see [`crate::crypto`]).
pub fn data_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.data", token)
}

pub(super) fn consent_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.consent_note", token)
}

pub(super) fn withdrawal_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.consent_withdrawn_note", token)
}

/// A stored plan's answers, opened.
pub fn open_data(keys: &Keyring, token: &str, stored: &str) -> Result<Answers> {
    let data = keys.open_unless_empty(&data_place(token), stored)?;
    if data.is_empty() {
        return Ok(Answers::default());
    }
    serde_json::from_str(&data).map_err(|e| AppError::failed("stored plan", e))
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanListItem {
    pub token: String,
    pub id: i64,
    pub tenant_name: String,
    pub address: String,
    pub person: String,
    pub updated_at: i64,
    pub subscribed: bool,
}

impl PlanListItem {
    /// Decodes a row of a plan list, opening the answers for the address and person.
    pub(super) fn from_row(keys: &Keyring, r: &AnyRow) -> Result<PlanListItem> {
        let a = open_data(keys, &r.try_get::<String, _>("token")?, &r.try_get::<String, _>("data")?)?;
        Ok(PlanListItem {
            token: r.try_get("token")?,
            id: r.try_get("id")?,
            tenant_name: r.try_get("tenant_name")?,
            address: if a.place.is_empty() { a.address } else { a.place },
            person: a.person,
            updated_at: r.try_get("updated_at")?,
            subscribed: r.try_get::<i64, _>("subscribed")? > 0,
        })
    }
}

// ---------- subscriptions ----------

/// Whom a subscription's alerts are for: the plan's household, or a supporter of a
/// 個別避難計画 (only while the person's consent is in force).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberRole {
    Household,
    Supporter,
}

kencho_core::names!(SubscriberRole, "subscriber role" { Household = "household", Supporter = "supporter" });

#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub role: SubscriberRole,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub consent_at: i64,
}

impl Subscription {
    pub(super) fn from_row(r: &AnyRow) -> Result<Subscription> {
        Ok(Subscription {
            id: r.try_get("id")?,
            role: parsed(r, "role", SubscriberRole::parse)?,
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            active: r.try_get::<i64, _>("active")? == 1,
            consent_at: r.try_get("consent_at")?,
        })
    }
}

/// A subscription found by its unsubscribe token.
pub struct SubscriptionRef {
    pub id: i64,
    pub tenant_id: i64,
    pub plan_id: i64,
    pub active: bool,
}

impl SubscriptionRef {
    pub(super) fn from_row(r: &AnyRow) -> Result<SubscriptionRef> {
        Ok(SubscriptionRef {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            plan_id: r.try_get("plan_id")?,
            active: r.try_get::<i64, _>("active")? != 0,
        })
    }
}

/// A subscription an alert reaches, with its plan (answers still sealed).
pub struct Reached {
    pub sub_id: i64,
    pub email: String,
    pub lang: String,
    pub sub_token: String,
    pub role: SubscriberRole,
    pub plan_token: String,
    pub data: String,
}

impl Reached {
    pub(super) fn from_row(r: &AnyRow) -> Result<Reached> {
        Ok(Reached {
            sub_id: r.try_get("sub_id")?,
            email: r.try_get("email")?,
            lang: r.try_get("lang")?,
            sub_token: r.try_get("sub_token")?,
            role: parsed(r, "role", SubscriberRole::parse)?,
            plan_token: r.try_get("plan_token")?,
            data: r.try_get("data")?,
        })
    }
}

// ---------- alerts ----------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: i64,
    pub level: i64,
    /// `staff` or `jma`.
    #[schema(value_type = String)]
    pub source: AlertSource,
    pub title: String,
    pub note: String,
    /// `pending` (waiting for a second approver), `issued`, `cancelled`, `superseded`.
    #[schema(value_type = String)]
    pub status: AlertStatus,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub event_id: String,
    /// The hazards it is about, comma-separated (`flood`, `landslide`, `storm_surge`, `rain`,
    /// `other`).
    pub hazard: String,
    /// `order` (発令 by the municipality) or `equivalent` (警戒レベル相当情報 from JMA).
    #[schema(value_type = String)]
    pub issuance: Issuance,
    /// JMA's levels per hazard (JSON), '' for staff alerts.
    #[serde(skip)]
    pub jma_levels: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub towns: Vec<String>,
    /// Subscriptions told of the issue.
    pub told: i64,
}

impl Alert {
    /// The alert as its words need it.
    pub fn info(&self) -> AlertInfo {
        let level = u8::try_from(self.level.clamp(1, 5)).unwrap_or(5);
        let from = (self.source, self.issuance);
        AlertInfo::new(level, from, self.title.clone(), self.note.clone(), &self.hazard, &self.jma_levels)
    }

    /// Decodes a row of `ALERT_COLUMNS`, without its towns (read apart).
    pub(super) fn from_row(r: &AnyRow) -> Result<Alert> {
        let (source, issuance) = source_and_issuance(r)?;
        Ok(Alert {
            id: r.try_get("id")?,
            level: r.try_get("level")?,
            source,
            title: r.try_get("title")?,
            note: r.try_get("note")?,
            status: crate::db::parsed(r, "status", AlertStatus::parse)?,
            requested_by: r.try_get("requested_by")?,
            approved_by: r.try_get("approved_by")?,
            event_id: r.try_get("event_id")?,
            created_at: r.try_get("created_at")?,
            issued_at: r.try_get("issued_at")?,
            cancelled_at: r.try_get("cancelled_at")?,
            hazard: r.try_get("hazard")?,
            issuance,
            jma_levels: r.try_get("jma_levels")?,
            towns: Vec::new(),
            told: r.try_get("told")?,
        })
    }
}

/// An alert row's source, and its issuance: a value this version cannot read falls back on what
/// alerts from that source are.
fn source_and_issuance(r: &AnyRow) -> Result<(AlertSource, Issuance)> {
    let source = crate::db::parsed(r, "source", AlertSource::parse)?;
    let issuance = Issuance::parse(&r.try_get::<String, _>("issuance")?).unwrap_or(source.issuance());
    Ok((source, issuance))
}

/// What a stored alert says, with its tenant: the columns its mails are worded from.
pub struct AlertText {
    pub tenant_id: i64,
    pub info: AlertInfo,
}

impl AlertText {
    pub(super) fn from_row(row: &AnyRow) -> Result<AlertText> {
        let level = u8::try_from(row.try_get::<i64, _>("level")?.clamp(1, 5)).unwrap_or(5);
        let info = AlertInfo::new(
            level,
            source_and_issuance(row)?,
            row.try_get("title")?,
            row.try_get("note")?,
            &row.try_get::<String, _>("hazard")?,
            &row.try_get::<String, _>("jma_levels")?,
        );
        Ok(AlertText { tenant_id: row.try_get("tenant_id")?, info })
    }
}

/// An alert as its approval needs it.
pub struct PendingAlert {
    pub status: AlertStatus,
    pub requested_by: String,
    pub level: i64,
}

impl PendingAlert {
    pub(super) fn from_row(row: &AnyRow) -> Result<PendingAlert> {
        Ok(PendingAlert {
            status: crate::db::parsed(row, "status", AlertStatus::parse)?,
            requested_by: row.try_get("requested_by")?,
            level: row.try_get("level")?,
        })
    }
}

pub struct Request {
    pub level: u8,
    /// What the alert is about: a household acts on it as far as its home is exposed.
    pub hazard: AlertHazard,
    pub towns: Vec<String>,
    pub note: String,
}

/// Which mail of an alert: its issue or its cancellation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Issue,
    Cancel,
}

impl Phase {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Phase::Issue => "issue",
            Phase::Cancel => "cancel",
        }
    }
}

/// One household told of an alert: its delivery row and its mail.
pub(super) struct Delivery {
    pub sub_id: i64,
    pub email: String,
    pub subject: String,
    pub body: String,
}

// ---------- JMA telegrams ----------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// `issued` (an alert issued or replaced), `cancelled` (alerts lifted or cancelled only),
    /// `recorded` (nothing changed), `unmapped` (nothing changed: what it names for the tenants
    /// maps to no 警戒レベル), `stale` (a later telegram of the event was read), `duplicate`,
    /// `ignored` (訓練/試験).
    pub result: String,
    pub event_id: String,
    /// Alerts issued by this telegram.
    pub issued: Vec<i64>,
    /// Alerts cancelled by it (lifted, cancelled, or replaced by a lower level).
    pub cancelled: Vec<i64>,
    /// What it did, or why it did nothing, for each tenant it names.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Note {
    /// The tenant's code.
    pub tenant: String,
    /// `raised`, `lowered`, `lifted`, `cancelled`, `kept`, `not_lowered` (a lower level read
    /// without a clearance), `unmapped` (kinds with no 警戒レベル; nothing changed),
    /// `below_alert`, `stale`.
    pub why: String,
    /// The alert level after the telegram, if an alert is in force.
    pub level: Option<u8>,
    /// Kinds in force there that kencho maps to no level (強風注意報 …).
    pub unmapped: Vec<String>,
}

pub(super) struct TenantRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub lg_code: String,
    /// The first five digits of the 全国地方公共団体コード (`None`: a bad code matches nothing).
    pub municipality: Option<String>,
}

impl TenantRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<TenantRow> {
        let lg_code: String = r.try_get("lg_code")?;
        Ok(TenantRow {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            municipality: kencho_core::evacuation::jma::municipality_of_lg_code(&lg_code),
            lg_code,
        })
    }
}

/// The tenant's alert for this event in force: (id, level, levels per hazard).
pub(super) struct Open {
    pub id: i64,
    pub level: i64,
    pub levels: String,
}

impl Open {
    pub(super) fn from_row(r: &AnyRow) -> Result<Open> {
        Ok(Open { id: r.try_get("id")?, level: r.try_get("level")?, levels: r.try_get("jma_levels")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        kencho_core::name::check_names::<LayerKind>();
        kencho_core::name::check_names::<PlanKind>();
        kencho_core::name::check_names::<SubscriberRole>();
        assert_eq!(slot_of("flood", "maximum"), Some((LayerKind::Flood, Some(FloodScenario::Maximum))));
        assert_eq!(slot_of("towns", ""), Some((LayerKind::Towns, None)));
        assert_eq!(slot_of("tsunami", ""), None);
    }
}
