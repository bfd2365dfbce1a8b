//! What one tenant's layers in use say, in memory, ready for look-ups ([`Atlas`]), and the atlases
//! of every tenant a process has looked at ([`Atlases`]), rebuilt when another version is put in
//! use (by this process or another one sharing the database).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::layers::{parse, LayerKind, Parsed, Slot};
use super::store::layers as store;
use crate::db::Db;
use crate::error::{AppError, Result};
use kencho_core::evacuation::flood::FloodZones;
use kencho_core::evacuation::geo::{Point, PolygonIndex};
use kencho_core::evacuation::towns::Town;
use kencho_core::evacuation::{DepthRank, DurationRank, FloodScale, FloodScenario, Hazards, Landslide, Site};

/// What one tenant's layers in use say.
#[derive(Default)]
pub struct Atlas {
    /// layer id in use per slot: what this atlas was built from.
    pub built_from: HashMap<Slot, i64>,
    // Each layer is shared between atlas generations: loading a new sites file must not re-read
    // and re-index a prefecture's flood layer.
    pub flood_planned: Option<Arc<PolygonIndex<DepthRank>>>,
    pub flood_maximum: Option<Arc<PolygonIndex<DepthRank>>>,
    pub flood_duration: Option<Arc<PolygonIndex<DurationRank>>>,
    pub landslide: Option<Arc<PolygonIndex<Landslide>>>,
    pub house_collapse: Option<Arc<PolygonIndex<()>>>,
    pub sites: Arc<Vec<Site>>,
    /// Every town of the table, abolished ones too (plans made before still name them); matching
    /// asks [`Town::in_force`].
    pub towns: Arc<Vec<Town>>,
    /// Position of each town and site by id: plans, mails and staff pages look them up often,
    /// and a prefecture's town table has thousands of rows.
    town_at: HashMap<String, usize>,
    site_at: HashMap<String, usize>,
}

/// Which layers a tenant has loaded (or, from [`Atlas::coverage_at`], which speak for a point),
/// so that where one is missing the plan says "no data", never "outside the zone".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// A depth layer (計画規模 or 想定最大規模).
    pub flood: bool,
    pub duration: bool,
    pub landslide: bool,
    pub house_collapse: bool,
}

impl Atlas {
    /// The hazards at a point. The depth comes from the 想定最大規模 layer where it covers the
    /// point and from the 計画規模 layer elsewhere (a river may lack the one or the other).
    pub fn hazards_at(&self, p: &Point) -> Hazards {
        let deepest = |i: &Option<Arc<PolygonIndex<DepthRank>>>| i.as_ref().and_then(|i| i.at(p).copied().max());
        let (flood, flood_scale) = match (deepest(&self.flood_maximum), deepest(&self.flood_planned)) {
            (Some(r), _) => (Some(r), Some(FloodScale::Maximum)),
            (None, Some(r)) => (Some(r), Some(FloodScale::Planned)),
            (None, None) => (None, None),
        };
        let flood_duration = self.flood_duration.as_ref().and_then(|i| i.at(p).copied().max());
        // Prefer a red (特別警戒区域) zone where zones overlap, and a designated one among equals.
        let landslide = self.landslide.as_ref().and_then(|i| i.at(p).copied().max_by_key(|z| (z.red, z.designated)));
        let house_collapse = self.house_collapse.as_ref().is_some_and(|i| i.at(p).next().is_some());
        Hazards { flood, flood_scale, flood_duration, landslide, house_collapse }
    }

    pub fn town(&self, id: &str) -> Option<&Town> {
        self.town_at.get(id).and_then(|i| self.towns.get(*i))
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.site_at.get(id).and_then(|i| self.sites.get(*i))
    }

    /// Whether any layer of `kind` is in use.
    pub fn has(&self, kind: LayerKind) -> bool {
        self.built_from.keys().any(|(k, _)| *k == kind)
    }

    pub fn loaded(&self) -> Loaded {
        Loaded {
            flood: self.flood_planned.is_some() || self.flood_maximum.is_some(),
            duration: self.flood_duration.is_some(),
            landslide: self.has(LayerKind::Landslide),
            house_collapse: self.has(LayerKind::HouseCollapse),
        }
    }

    /// Which layers speak for a point: a flood, duration or house-collapse layer where it has
    /// zones in the point's 2次メッシュ (those are surveyed river by river); the landslide layer
    /// there too and anywhere within its extent (zones are designated across a prefecture).
    /// Elsewhere "no zone" is "no data".
    pub fn coverage_at(&self, p: &Point) -> Loaded {
        let covers = |i: &Option<Arc<PolygonIndex<DepthRank>>>| i.as_ref().is_some_and(|i| i.covers(p));
        Loaded {
            flood: covers(&self.flood_planned) || covers(&self.flood_maximum),
            duration: self.flood_duration.as_ref().is_some_and(|i| i.covers(p)),
            landslide: self.landslide.as_ref().is_some_and(|i| i.covers(p) || i.spans(p)),
            house_collapse: self.house_collapse.as_ref().is_some_and(|i| i.covers(p)),
        }
    }

    fn put(&mut self, parsed: Parsed) {
        match parsed {
            Parsed::Flood(FloodZones::Depth { scale: FloodScale::Planned, zones }) => {
                self.flood_planned = Some(Arc::new(PolygonIndex::new(zones)))
            }
            Parsed::Flood(FloodZones::Depth { scale: FloodScale::Maximum, zones }) => {
                self.flood_maximum = Some(Arc::new(PolygonIndex::new(zones)))
            }
            Parsed::Flood(FloodZones::Duration(zones)) => {
                self.flood_duration = Some(Arc::new(PolygonIndex::new(zones)))
            }
            Parsed::Landslide(v) => self.landslide = Some(Arc::new(PolygonIndex::new(v))),
            Parsed::HouseCollapse(v) => {
                self.house_collapse = Some(Arc::new(PolygonIndex::new(v.into_iter().map(|p| (p, ())).collect())))
            }
            Parsed::Sites(v) => self.sites = Arc::new(v),
            Parsed::Towns(v) => self.towns = Arc::new(v),
        }
    }

    /// Takes over from `old` the layers whose version did not change.
    fn keep(&mut self, old: &Atlas, same: impl Fn(Slot) -> bool) {
        let flood = |s| same((LayerKind::Flood, Some(s)));
        self.flood_planned = old.flood_planned.clone().filter(|_| flood(FloodScenario::Planned));
        self.flood_maximum = old.flood_maximum.clone().filter(|_| flood(FloodScenario::Maximum));
        self.flood_duration = old.flood_duration.clone().filter(|_| flood(FloodScenario::Duration));
        self.landslide = old.landslide.clone().filter(|_| same((LayerKind::Landslide, None)));
        self.house_collapse = old.house_collapse.clone().filter(|_| same((LayerKind::HouseCollapse, None)));
        if same((LayerKind::Sites, None)) {
            self.sites = old.sites.clone();
        }
        if same((LayerKind::Towns, None)) {
            self.towns = old.towns.clone();
        }
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
        let wanted = store::heads(db, tenant_id).await?;
        let current = self.cache_get(tenant_id);
        if let Some(a) = current.as_ref().filter(|a| a.built_from == wanted) {
            self.store(tenant_id, a.clone());
            return Ok(a.clone());
        }
        // Only the layers whose version changed are read and parsed again.
        let unchanged = |slot: &Slot| current.as_ref().and_then(|a| a.built_from.get(slot)) == wanted.get(slot);
        let mut texts = Vec::new();
        for (slot, id) in wanted.iter().filter(|(s, _)| !unchanged(s)) {
            let body = store::body(db, *id).await?;
            texts.push((*slot, body));
        }
        let mut atlas = Atlas { built_from: wanted.clone(), ..Atlas::default() };
        if let Some(c) = &current {
            atlas.keep(c, |s| wanted.contains_key(&s) && unchanged(&s));
        }
        let atlas = tokio::task::spawn_blocking(move || -> Result<Atlas> {
            for ((kind, scenario), text) in texts {
                let parsed = parse(kind, &text).map_err(|e| AppError::failed(format!("stored {kind:?} layer"), e))?;
                if let Parsed::Flood(z) = &parsed {
                    if Some(z.scenario()) != scenario {
                        return Err(AppError::Internal(format!(
                            "stored flood layer is {:?}, kept as {scenario:?}",
                            z.scenario()
                        )));
                    }
                }
                atlas.put(parsed);
            }
            atlas.town_at = atlas.towns.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
            atlas.site_at = atlas.sites.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
            Ok(atlas)
        })
        .await
        .map_err(AppError::unexpected)??;
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
