//! The public data a tenant loads (hazard layers, designated sites, town areas): every load is
//! validated whole, kept as a version, and one version per kind is in use. Look-ups read an
//! in-memory [`Atlas`] per tenant, rebuilt when another version is put in use (by this process
//! or another one sharing the database).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kencho_core::evacuation::data::{self, LoadError};
use kencho_core::evacuation::geo::{Point, Polygon, PolygonIndex};
use kencho_core::evacuation::towns::{self, Town};
use kencho_core::evacuation::{DepthRank, Hazards, Landslide, Site};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// 洪水浸水想定区域 (国土数値情報 A31a GeoJSON).
    Flood,
    /// 土砂災害警戒区域 (A33 GeoJSON).
    Landslide,
    /// 家屋倒壊等氾濫想定区域 (GeoJSON polygons).
    HouseCollapse,
    /// 指定緊急避難場所 (CSV).
    Sites,
    /// 町字 with representative points (Address Base Registry CSV).
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

/// One parsed layer.
pub enum Parsed {
    Flood(Vec<(Polygon, DepthRank)>),
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

/// Parses and checks a file of `kind` as a whole.
pub fn parse(kind: LayerKind, text: &str) -> std::result::Result<Parsed, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(match kind {
        LayerKind::Flood => Parsed::Flood(data::flood_zones(text)?),
        LayerKind::Landslide => Parsed::Landslide(data::landslide_zones(text)?),
        LayerKind::HouseCollapse => Parsed::HouseCollapse(data::house_collapse_zones(text)?),
        LayerKind::Sites => Parsed::Sites(data::sites(text)?),
        LayerKind::Towns => Parsed::Towns(towns::parse(text)?),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerVersion {
    pub id: i64,
    pub kind: LayerKind,
    pub version: i64,
    pub file_name: String,
    pub sha256: String,
    pub items: i64,
    pub loaded_by: String,
    pub loaded_at: i64,
    /// This version is the one in use.
    pub active: bool,
}

/// Validates `text` and stores it as the next version of `kind`, in use from now on. A file
/// that does not parse changes nothing and the error names the line or feature.
pub async fn load(
    db: &Db,
    tenant_id: i64,
    kind: LayerKind,
    file_name: &str,
    text: String,
    actor: &str,
) -> Result<LayerVersion> {
    if text.contains('\0') {
        return Err(AppError::BadRequest(format!("{file_name}: the file contains a NUL character")));
    }
    let (text, parsed) = tokio::task::spawn_blocking(move || {
        let parsed = parse(kind, &text);
        (text, parsed)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let items = parsed.map_err(|e| AppError::BadRequest(format!("{file_name}: {e}")))?.len();
    if items == 0 {
        return Err(AppError::BadRequest(format!("{file_name}: the file has no features or rows")));
    }
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let file_name = file_name.chars().take(200).collect::<String>();
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let version: i64 = sqlx::query(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM evac_layers WHERE tenant_id = $1 AND kind = $2",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            let now = now_ms();
            let id: i64 = sqlx::query(
                "INSERT INTO evac_layers (tenant_id, kind, version, file_name, sha256, items, body, loaded_by, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(version)
            .bind(&file_name)
            .bind(&sha)
            .bind(items as i64)
            .bind(&text)
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
            .try_get(0)?;
            set_head(conn, tenant_id, kind, id).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.layer_loaded",
                &format!("layer:{id}"),
                serde_json::json!({"kind": kind.as_str(), "version": version, "file": file_name, "sha256": sha, "items": items}),
            )
            .await?;
            Ok(LayerVersion {
                id,
                kind,
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

async fn set_head(conn: &mut sqlx::AnyConnection, tenant_id: i64, kind: LayerKind, id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO evac_layer_heads (tenant_id, kind, layer_id) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, kind) DO UPDATE SET layer_id = excluded.layer_id",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
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
            let row = sqlx::query("SELECT kind, version FROM evac_layers WHERE id = $1 AND tenant_id = $2")
                .bind(layer_id)
                .bind(tenant_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(AppError::NotFound)?;
            let kind_s: String = row.try_get(0)?;
            let version: i64 = row.try_get(1)?;
            let kind = LayerKind::parse(&kind_s).ok_or(AppError::NotFound)?;
            set_head(conn, tenant_id, kind, layer_id).await?;
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

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<LayerVersion>> {
    let rows = sqlx::query(
        "SELECT l.id, l.kind, l.version, l.file_name, l.sha256, l.items, l.loaded_by, l.loaded_at, \
         CASE WHEN h.layer_id IS NULL THEN 0 ELSE 1 END \
         FROM evac_layers l LEFT JOIN evac_layer_heads h ON h.layer_id = l.id \
         WHERE l.tenant_id = $1 ORDER BY l.kind, l.version DESC",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            Ok(LayerVersion {
                id: r.try_get(0)?,
                kind: LayerKind::parse(&kind)
                    .ok_or_else(|| AppError::Internal(format!("unknown layer kind {kind}")))?,
                version: r.try_get(2)?,
                file_name: r.try_get(3)?,
                sha256: r.try_get(4)?,
                items: r.try_get(5)?,
                loaded_by: r.try_get(6)?,
                loaded_at: r.try_get(7)?,
                active: r.try_get::<i32, _>(8)? == 1,
            })
        })
        .collect()
}

/// What one tenant's layers in use say, in memory, ready for look-ups.
#[derive(Default)]
pub struct Atlas {
    /// layer id in use per kind: what this atlas was built from.
    pub built_from: HashMap<LayerKind, i64>,
    // Each layer is shared between atlas generations: loading a new sites file must not re-read
    // and re-index a prefecture's flood layer.
    pub flood: Option<Arc<PolygonIndex<DepthRank>>>,
    pub landslide: Option<Arc<PolygonIndex<Landslide>>>,
    pub house_collapse: Option<Arc<PolygonIndex<()>>>,
    pub sites: Arc<Vec<Site>>,
    pub towns: Arc<Vec<Town>>,
    /// Position of each town and site by id: plans, mails and staff pages look them up often,
    /// and a prefecture's town table has thousands of rows.
    town_at: HashMap<String, usize>,
    site_at: HashMap<String, usize>,
}

impl Atlas {
    pub fn hazards_at(&self, p: &Point) -> Hazards {
        let flood = self.flood.as_ref().and_then(|i| i.at(p).copied().max());
        // Prefer a red (特別警戒区域) zone where zones overlap.
        let landslide = self.landslide.as_ref().and_then(|i| {
            let mut found: Option<Landslide> = None;
            for z in i.at(p) {
                let red = matches!(
                    z,
                    Landslide::DebrisFlow { red: true }
                        | Landslide::SteepSlope { red: true }
                        | Landslide::Landslip { red: true }
                );
                if found.is_none() || red {
                    found = Some(*z);
                }
            }
            found
        });
        let house_collapse = self.house_collapse.as_ref().is_some_and(|i| i.at(p).next().is_some());
        Hazards { flood, landslide, house_collapse }
    }

    pub fn town(&self, id: &str) -> Option<&Town> {
        self.town_at.get(id).and_then(|i| self.towns.get(*i))
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.site_at.get(id).and_then(|i| self.sites.get(*i))
    }

    pub fn has(&self, kind: LayerKind) -> bool {
        self.built_from.contains_key(&kind)
    }

    /// (flood, landslide, house collapse) loaded, for [`super::words::hazard_lines`].
    pub fn loaded(&self) -> super::words::Loaded {
        (self.has(LayerKind::Flood), self.has(LayerKind::Landslide), self.has(LayerKind::HouseCollapse))
    }
}

/// How long a process trusts its atlas before asking the database whether it changed.
const RECHECK: Duration = Duration::from_secs(2);

/// The atlases of every tenant this process has looked at.
#[derive(Default)]
pub struct Atlases {
    cache: RwLock<HashMap<i64, (Instant, Arc<Atlas>)>>,
    /// One rebuild at a time: a big layer takes a second and plenty of memory to parse.
    rebuild: tokio::sync::Mutex<()>,
    /// Tenant codes never change, so public look-ups resolve them without the database.
    tenant_ids: RwLock<HashMap<String, i64>>,
}

impl Atlases {
    /// A tenant's id by its code (cached; unknown codes are asked each time).
    pub async fn tenant_id(&self, db: &Db, code: &str) -> Result<i64> {
        if let Some(id) = self.tenant_ids.read().unwrap_or_else(|e| e.into_inner()).get(code) {
            return Ok(*id);
        }
        if code.len() > 64 {
            return Err(AppError::NotFound);
        }
        let id = crate::tenants::id_of(db, code).await?.ok_or(AppError::NotFound)?;
        self.tenant_ids.write().unwrap_or_else(|e| e.into_inner()).insert(code.to_string(), id);
        Ok(id)
    }

    /// The tenant's atlas, rebuilt first if another version has been put in use.
    pub async fn get(&self, db: &Db, tenant_id: i64) -> Result<Arc<Atlas>> {
        if let Some(a) = self.fresh(tenant_id) {
            return Ok(a);
        }
        let _one = self.rebuild.lock().await;
        if let Some(a) = self.fresh(tenant_id) {
            return Ok(a);
        }
        let heads = sqlx::query("SELECT kind, layer_id FROM evac_layer_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(&db.read)
            .await?;
        let mut wanted = HashMap::new();
        for r in &heads {
            if let Some(k) = LayerKind::parse(&r.try_get::<String, _>(0)?) {
                wanted.insert(k, r.try_get::<i64, _>(1)?);
            }
        }
        let current = self.cache_get(tenant_id);
        if let Some(a) = current.as_ref().filter(|a| a.built_from == wanted) {
            self.store(tenant_id, a.clone());
            return Ok(a.clone());
        }
        // Only the layers whose version changed are read and parsed again.
        let unchanged = |kind: &LayerKind| current.as_ref().and_then(|a| a.built_from.get(kind)) == wanted.get(kind);
        let mut texts = Vec::new();
        for (kind, id) in wanted.iter().filter(|(k, _)| !unchanged(k)) {
            let body: String = sqlx::query("SELECT body FROM evac_layers WHERE id = $1")
                .bind(id)
                .fetch_one(&db.read)
                .await?
                .try_get(0)?;
            texts.push((*kind, body));
        }
        let mut atlas = Atlas { built_from: wanted.clone(), ..Atlas::default() };
        if let Some(c) = &current {
            let keep = |k| wanted.contains_key(&k) && unchanged(&k);
            atlas.flood = c.flood.clone().filter(|_| keep(LayerKind::Flood));
            atlas.landslide = c.landslide.clone().filter(|_| keep(LayerKind::Landslide));
            atlas.house_collapse = c.house_collapse.clone().filter(|_| keep(LayerKind::HouseCollapse));
            if keep(LayerKind::Sites) {
                atlas.sites = c.sites.clone();
            }
            if keep(LayerKind::Towns) {
                atlas.towns = c.towns.clone();
            }
        }
        let atlas = tokio::task::spawn_blocking(move || -> Result<Atlas> {
            for (kind, text) in texts {
                match parse(kind, &text).map_err(|e| AppError::Internal(format!("stored {kind:?} layer: {e}")))? {
                    Parsed::Flood(v) => atlas.flood = Some(Arc::new(PolygonIndex::new(v))),
                    Parsed::Landslide(v) => atlas.landslide = Some(Arc::new(PolygonIndex::new(v))),
                    Parsed::HouseCollapse(v) => {
                        atlas.house_collapse =
                            Some(Arc::new(PolygonIndex::new(v.into_iter().map(|p| (p, ())).collect())))
                    }
                    Parsed::Sites(v) => atlas.sites = Arc::new(v),
                    Parsed::Towns(v) => atlas.towns = Arc::new(v),
                }
            }
            atlas.town_at = atlas.towns.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
            atlas.site_at = atlas.sites.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
            Ok(atlas)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        let atlas = Arc::new(atlas);
        self.store(tenant_id, atlas.clone());
        Ok(atlas)
    }

    fn fresh(&self, tenant_id: i64) -> Option<Arc<Atlas>> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache.get(&tenant_id).filter(|(at, _)| at.elapsed() < RECHECK).map(|(_, a)| a.clone())
    }

    fn cache_get(&self, tenant_id: i64) -> Option<Arc<Atlas>> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache.get(&tenant_id).map(|(_, a)| a.clone())
    }

    fn store(&self, tenant_id: i64, atlas: Arc<Atlas>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.insert(tenant_id, (Instant::now(), atlas));
    }

    /// Forgets a tenant's atlas so the next look-up reads the database (after a load here).
    pub fn invalidate(&self, tenant_id: i64) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        match (cache.get_mut(&tenant_id), Instant::now().checked_sub(RECHECK)) {
            (Some(entry), Some(stale)) => entry.0 = stale,
            (Some(_), None) => {
                cache.remove(&tenant_id);
            }
            (None, _) => {}
        }
    }
}
