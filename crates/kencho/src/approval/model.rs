//! The approval capability's own records: the setup in use, registered absences and holds on
//! records. (The 起案 and records areas keep theirs in `kian::model` and `records::model`.)

use std::sync::Arc;

use kencho_core::approval::org::Org;
use kencho_core::approval::records::HoldKind;
use kencho_core::approval::rules::RuleRow;
use kencho_core::approval::settings::Settings;
use serde::Serialize;
use sqlx::Row;

use crate::error::Result;

/// The organisation and table in use for a tenant.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub org: Arc<Org>,
    pub rules: Arc<Vec<RuleRow>>,
    /// The records section and the 文書番号 template.
    pub settings: Arc<Settings>,
    pub org_version: i64,
    pub rules_version: i64,
    pub settings_version: i64,
}

/// One registered absence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Absence {
    pub id: i64,
    pub staff_id: i64,
    pub staff_name: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

impl Absence {
    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Absence> {
        Ok(Absence {
            id: r.try_get("id")?,
            staff_id: r.try_get("staff_id")?,
            staff_name: r.try_get("staff_name")?,
            from: r.try_get("from_date")?,
            to: r.try_get("to_date")?,
            note: r.try_get("note")?,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hold {
    pub id: i64,
    pub record_id: i64,
    /// disclosure (開示請求), lawsuit (訴訟) or audit (監査).
    #[schema(value_type = String)]
    pub kind: HoldKind,
    pub reference: String,
    pub placed_by: String,
    pub placed_at: i64,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
}

impl Hold {
    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Hold> {
        Ok(Hold {
            id: r.try_get("id")?,
            record_id: r.try_get("record_id")?,
            kind: crate::db::parsed(r, "kind", HoldKind::parse)?,
            reference: r.try_get("reference")?,
            placed_by: r.try_get("placed_by")?,
            placed_at: r.try_get("placed_at")?,
            lifted_by: r.try_get("lifted_by")?,
            lifted_at: r.try_get("lifted_at")?,
        })
    }
}
