//! What applications hands out and takes: an application, its history, its attachments, a
//! line of a list, an inbox's filter, a submission's outcome; each record decoded from its
//! row by column name, here and only here.

use kencho_core::application::{Facts, Status};
use kencho_core::forms::Answers;
use kencho_core::procedure::ApplicantKind;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::crypto::Keyring;
use crate::db::parsed;
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: i64,
    pub tenant_id: i64,
    pub division_id: i64,
    pub procedure_id: i64,
    pub resident_id: i64,
    pub resident_name: String,
    pub resident_email: String,
    pub applicant_kind: ApplicantKind,
    pub status: Status,
    pub was_accepted: bool,
    pub revision: i64,
    pub answers: Answers,
    pub receipt_number: Option<String>,
    pub content_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// When a 補正 stopped the 標準処理期間 clock; `None` while it runs.
    pub paused_at: Option<i64>,
}

impl Application {
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open_for_office() && self.due_at.is_some_and(|d| d < now)
    }
    pub(super) fn facts(&self, p: &Procedure) -> Facts {
        Facts { status: self.status, was_accepted: self.was_accepted, withdrawal: p.def.withdrawal }
    }
    /// The row of `store::COLS`, its answers opened with the database's keys.
    pub(super) fn from_row(keys: &Keyring, r: &AnyRow) -> Result<Application> {
        let answers = keys.open_unless_empty(&answers_place(r.try_get("id")?), &r.try_get::<String, _>("answers")?)?;
        Ok(Application {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            division_id: r.try_get("division_id")?,
            procedure_id: r.try_get("procedure_id")?,
            resident_id: r.try_get("resident_id")?,
            resident_name: r.try_get("resident_name")?,
            resident_email: r.try_get("resident_email")?,
            applicant_kind: parsed(r, "applicant_kind", ApplicantKind::parse)?,
            status: parsed(r, "status", Status::parse)?,
            was_accepted: r.try_get::<i64, _>("was_accepted")? == 1,
            revision: r.try_get("revision")?,
            answers: serde_json::from_str(&answers).map_err(AppError::unexpected)?,
            receipt_number: r.try_get("receipt_number")?,
            content_hash: r.try_get("content_hash")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            submitted_at: r.try_get("submitted_at")?,
            due_at: r.try_get("due_at")?,
            decided_at: r.try_get("decided_at")?,
            paused_at: r.try_get("paused_at")?,
        })
    }
}

/// Where an application's answers are sealed (see [`crate::crypto`]).
pub fn answers_place(id: i64) -> String {
    crate::crypto::place("applications.answers", id)
}

/// Seals answers for the application's row (an empty `{}` stays as it is).
pub fn seal_answers(keys: &Keyring, id: i64, answers: &serde_json::Value) -> Result<String> {
    Ok(keys.seal_unless_empty(&answers_place(id), &answers.to_string())?)
}

/// One step of an application's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: i64,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub from_status: Status,
    pub to_status: Status,
    pub message: Option<String>,
}

impl Event {
    pub(super) fn from_row(r: &AnyRow) -> Result<Event> {
        Ok(Event {
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            actor_name: r.try_get("actor_name")?,
            action: r.try_get("action")?,
            from_status: parsed(r, "from_status", Status::parse)?,
            to_status: parsed(r, "to_status", Status::parse)?,
            message: r.try_get("message")?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: String,
    pub field: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: i64,
}

impl Attachment {
    pub(super) fn from_row(r: &AnyRow) -> Result<Attachment> {
        Ok(Attachment {
            id: r.try_get("public_id")?,
            field: r.try_get("field")?,
            filename: r.try_get("filename")?,
            media_type: r.try_get("media_type")?,
            size: r.try_get("size")?,
            sha256: r.try_get("sha256")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

/// An application as a line of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub tenant_id: i64,
    pub procedure_id: i64,
    pub procedure_title: String,
    pub receipt_number: Option<String>,
    pub status: Status,
    pub applicant_name: String,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
}

impl Summary {
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open_for_office() && self.due_at.is_some_and(|d| d < now)
    }
    pub(super) fn from_row(r: &AnyRow) -> Result<Summary> {
        Ok(Summary {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            procedure_id: r.try_get("procedure_id")?,
            procedure_title: r.try_get("procedure_title")?,
            receipt_number: r.try_get("receipt_number")?,
            status: parsed(r, "status", Status::parse)?,
            applicant_name: r.try_get("applicant_name")?,
            updated_at: r.try_get("updated_at")?,
            submitted_at: r.try_get("submitted_at")?,
            due_at: r.try_get("due_at")?,
        })
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct InboxFilter {
    /// Status (e.g. `submitted`, `accepted`, `correction_requested`); empty for all but drafts.
    #[serde(default)]
    pub status: Option<String>,
    /// Procedure code.
    #[serde(default)]
    pub procedure: Option<String>,
    /// Only applications past their 標準処理期間.
    #[serde(default)]
    pub overdue: Option<String>,
}

impl InboxFilter {
    pub fn overdue_only(&self) -> bool {
        matches!(self.overdue.as_deref(), Some("1" | "true" | "on" | "yes"))
    }
}

/// What a submission did.
pub struct Submitted {
    pub receipt_number: String,
    pub content_hash: String,
    /// The status it is in now.
    pub status: Status,
    /// False when this was a repeat of a submission already made (double post).
    pub new: bool,
    /// A resubmission after a correction request (not a repeat of one).
    pub resubmitted: bool,
}

/// An attachment as a submission needs it: its id, field, media type and hash.
pub(super) struct StoredFile {
    pub public_id: String,
    pub field: String,
    pub media_type: String,
    pub sha256: String,
}
