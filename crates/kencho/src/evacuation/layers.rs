//! The public data a tenant loads (hazard layers, designated sites, town areas): every load is
//! validated whole, kept as a version, and one version per slot is in use. A slot is a kind, and
//! for flood layers also the scenario the file holds (計画規模, 想定最大規模, 浸水継続時間), since
//! 国土数値情報 publishes each as a file of its own and a plan reads them together. Look-ups read an
//! in-memory [`Atlas`] per tenant (see [`super::atlas`]).

use kencho_core::evacuation::data::{self, LoadError};
use kencho_core::evacuation::flood::{self, FloodZones};
use kencho_core::evacuation::geo::Polygon;
use kencho_core::evacuation::towns::Town;
use kencho_core::evacuation::{abr, FloodScenario, Landslide, Site};
use sha2::{Digest, Sha256};

pub use super::atlas::{Atlas, Atlases, Loaded};
pub use super::model::{LayerKind, LayerVersion, Slot};
use super::store::layers as store;
use super::upload::{self, Upload};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

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
            let version = store::next_version(conn, tenant_id, kind).await?;
            let now = now_ms();
            let scenario_s = scenario.map_or("", FloodScenario::as_str);
            let new = store::NewLayer {
                kind,
                scenario: scenario_s,
                version,
                file_name: &file_name,
                sha256: &sha,
                items: items as i64,
                body: &body,
                loaded_by: &actor,
                loaded_at: now,
            };
            let id = store::insert(conn, tenant_id, new).await?;
            store::set_head(conn, tenant_id, (kind, scenario), id).await?;
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

/// Puts an earlier (or later) version back in use.
pub async fn activate(db: &Db, tenant_id: i64, layer_id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let row = store::find(conn, tenant_id, layer_id).await?.ok_or(AppError::NotFound)?;
            let (slot, version) = (row.slot.ok_or(AppError::NotFound)?, row.version);
            store::set_head(conn, tenant_id, slot, layer_id).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.layer_activated",
                &format!("layer:{layer_id}"),
                serde_json::json!({"kind": slot.0.as_str(), "version": version}),
            )
            .await
        })
    })
    .await
}

/// Every version the tenant loaded, the ones in use marked.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<LayerVersion>> {
    store::list(db, tenant_id).await
}
