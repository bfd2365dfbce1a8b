//! The public data a tenant loads (hazard layers, designated sites, town areas): every load is
//! validated whole, kept as a version, and one version per slot is in use. A slot is a kind, and
//! for flood layers also the scenario the file holds (計画規模, 想定最大規模, 浸水継続時間), since
//! 国土数値情報 publishes each as a file of its own and a plan reads them together. Look-ups read an
//! in-memory [`Atlas`] per tenant (see [`super::atlas`]).

use std::collections::HashMap;

use kencho_core::evacuation::data::{self, LoadError};
use kencho_core::evacuation::flood::{self, FloodZones};
use kencho_core::evacuation::geo::Polygon;
use kencho_core::evacuation::towns::Town;
use kencho_core::evacuation::{abr, FloodScenario, Landslide, Site};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

pub use super::atlas::{Atlas, Atlases, Loaded};
use super::upload::{self, Upload};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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

impl LayerKind {
    pub const ALL: [LayerKind; 5] =
        [LayerKind::Flood, LayerKind::Landslide, LayerKind::HouseCollapse, LayerKind::Sites, LayerKind::Towns];

    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Flood => "flood",
            LayerKind::Landslide => "landslide",
            LayerKind::HouseCollapse => "house_collapse",
            LayerKind::Sites => "sites",
            LayerKind::Towns => "towns",
        }
    }

    pub fn parse(s: &str) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a version is in use: its kind, and for flood layers the scenario.
pub type Slot = (LayerKind, Option<FloodScenario>);

/// One parsed layer.
pub enum Parsed {
    Flood(FloodZones),
    Landslide(Vec<(Polygon, Landslide)>),
    HouseCollapse(Vec<Polygon>),
    Sites(Vec<Site>),
    Towns(Vec<Town>),
}

impl Parsed {
    pub fn len(&self) -> usize {
        match self {
            Parsed::Flood(v) => v.len(),
            Parsed::Landslide(v) => v.len(),
            Parsed::HouseCollapse(v) => v.len(),
            Parsed::Sites(v) => v.len(),
            Parsed::Towns(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses and checks one decoded file of `kind` as a whole (towns: the stored joined form; the
/// registry's two files go through [`upload::prepare`]).
pub fn parse(kind: LayerKind, text: &str) -> std::result::Result<Parsed, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(match kind {
        LayerKind::Flood => Parsed::Flood(flood::flood_zones(text)?),
        LayerKind::Landslide => Parsed::Landslide(data::landslide_zones(text)?),
        LayerKind::HouseCollapse => Parsed::HouseCollapse(data::house_collapse_zones(text)?),
        LayerKind::Sites => Parsed::Sites(data::sites(text)?),
        LayerKind::Towns => Parsed::Towns(abr::parse(text)?),
    })
}

/// Today in Japan: the day a town's 効力発生日 and 廃止日 are compared with.
pub fn today() -> time::Date {
    crate::clock::today()
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

/// Validates the files and stores them as the next version of `kind`, in use from now on (for
/// flood layers, in the slot of the scenario the file holds). Files that do not make a layer
/// change nothing, and the error names the file, line or feature, and attribute.
pub async fn load(db: &Db, tenant_id: i64, kind: LayerKind, files: Vec<Upload>, actor: &str) -> Result<LayerVersion> {
    let prepared = tokio::task::spawn_blocking(move || upload::prepare(kind, files))
        .await
        .map_err(AppError::unexpected)?
        .map_err(AppError::Data)?;
    let items = prepared.parsed.len();
    if items == 0 {
        return Err(AppError::Data(LoadError::Empty));
    }
    let upload::Prepared { body, scenario, file_name, files, .. } = prepared;
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let version: i64 = sqlx::query(
                "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM evacuation_layers WHERE tenant_id = $1 AND kind = $2",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get("next")?;
            let now = now_ms();
            let scenario_s = scenario.map_or("", FloodScenario::as_str);
            let id: i64 = sqlx::query(
                "INSERT INTO evacuation_layers (tenant_id, kind, scenario, version, file_name, sha256, items, body, loaded_by, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(scenario_s)
            .bind(version)
            .bind(&file_name)
            .bind(&sha)
            .bind(items as i64)
            .bind(&body)
            .bind(&actor)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                // Two loads of the same layer at once: the later one asks to be retried.
                if crate::error::is_unique_violation(&e) {
                    AppError::Conflict("another version of this layer was loaded at the same moment; load again".into())
                } else {
                    e.into()
                }
            })?
            .try_get("id")?;
            set_head(conn, tenant_id, (kind, scenario), id).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.layer_loaded",
                &format!("layer:{id}"),
                serde_json::json!({"kind": kind.as_str(), "scenario": scenario_s, "version": version,
                    "files": files, "sha256": sha, "items": items}),
            )
            .await?;
            Ok(LayerVersion {
                id,
                kind,
                scenario,
                version,
                file_name,
                sha256: sha,
                items: items as i64,
                loaded_by: actor,
                loaded_at: now,
                active: true,
            })
        })
    })
    .await
}

async fn set_head(conn: &mut sqlx::AnyConnection, tenant_id: i64, (kind, scenario): Slot, id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO evacuation_layer_heads (tenant_id, kind, scenario, layer_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, kind, scenario) DO UPDATE SET layer_id = excluded.layer_id",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(scenario.map_or("", FloodScenario::as_str))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts an earlier (or later) version back in use.
pub async fn activate(db: &Db, tenant_id: i64, layer_id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT kind, scenario, version FROM evacuation_layers WHERE id = $1 AND tenant_id = $2")
                    .bind(layer_id)
                    .bind(tenant_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(AppError::NotFound)?;
            let kind_s: String = row.try_get("kind")?;
            let version: i64 = row.try_get("version")?;
            let slot = slot_of(&kind_s, &row.try_get::<String, _>("scenario")?).ok_or(AppError::NotFound)?;
            set_head(conn, tenant_id, slot, layer_id).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.layer_activated",
                &format!("layer:{layer_id}"),
                serde_json::json!({"kind": kind_s, "version": version}),
            )
            .await
        })
    })
    .await
}

fn slot_of(kind: &str, scenario: &str) -> Option<Slot> {
    let kind = LayerKind::parse(kind)?;
    let scenario = match scenario {
        "" => None,
        s => Some(FloodScenario::parse(s)?),
    };
    Some((kind, scenario))
}

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<LayerVersion>> {
    let rows = sqlx::query(
        "SELECT l.id, l.kind, l.scenario, l.version, l.file_name, l.sha256, l.items, l.loaded_by, l.loaded_at, \
         CASE WHEN h.layer_id IS NULL THEN 0 ELSE 1 END AS active \
         FROM evacuation_layers l LEFT JOIN evacuation_layer_heads h ON h.layer_id = l.id \
         WHERE l.tenant_id = $1 ORDER BY l.kind, l.scenario, l.version DESC",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
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
        })
        .collect()
}

/// The version in use per slot.
pub(super) async fn heads(db: &Db, tenant_id: i64) -> Result<HashMap<Slot, i64>> {
    let rows = sqlx::query("SELECT kind, scenario, layer_id FROM evacuation_layer_heads WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    let mut wanted = HashMap::new();
    for r in &rows {
        if let Some(slot) = slot_of(&r.try_get::<String, _>("kind")?, &r.try_get::<String, _>("scenario")?) {
            wanted.insert(slot, r.try_get::<i64, _>("layer_id")?);
        }
    }
    Ok(wanted)
}
