//! Just enough geometry for hazard look-ups: polygons (with holes) in longitude/latitude,
//! point-in-polygon, great-circle distance, and an R*-tree over bounding boxes so that a
//! look-up among hundreds of thousands of polygons touches only the few near the point.

use rstar::{RTree, RTreeObject, AABB};

/// A point as (longitude, latitude) in degrees, GeoJSON order.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

impl Point {
    pub fn new(lon: f64, lat: f64) -> Self {
        Point { lon, lat }
    }

    pub fn is_valid(&self) -> bool {
        self.lon.is_finite()
            && self.lat.is_finite()
            && (-180.0..=180.0).contains(&self.lon)
            && (-90.0..=90.0).contains(&self.lat)
    }

    /// Great-circle distance in metres (haversine; plenty for walking distances).
    pub fn distance_m(&self, other: &Point) -> f64 {
        const R: f64 = 6_371_008.8;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dla = la2 - la1;
        let dlo = (other.lon - self.lon).to_radians();
        let a = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// A polygon: an outer ring and optional holes, each a closed list of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub outer: Vec<Point>,
    pub holes: Vec<Vec<Point>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("a ring needs at least 4 positions (closed), found {0}")]
    TooFewPoints(usize),
    #[error("the ring is not closed (first and last positions differ)")]
    NotClosed,
    #[error("a position is outside longitude -180..180 / latitude -90..90")]
    OutOfRange,
}

impl Polygon {
    /// Checks the rings as GeoJSON requires (closed, 4+ positions, valid coordinates).
    pub fn new(outer: Vec<Point>, holes: Vec<Vec<Point>>) -> Result<Polygon, GeometryError> {
        for ring in std::iter::once(&outer).chain(holes.iter()) {
            if ring.len() < 4 {
                return Err(GeometryError::TooFewPoints(ring.len()));
            }
            if ring.first() != ring.last() {
                return Err(GeometryError::NotClosed);
            }
            if !ring.iter().all(Point::is_valid) {
                return Err(GeometryError::OutOfRange);
            }
        }
        Ok(Polygon { outer, holes })
    }

    pub fn contains(&self, p: &Point) -> bool {
        ring_contains(&self.outer, p) && !self.holes.iter().any(|h| ring_contains(h, p))
    }

    fn envelope(&self) -> AABB<[f64; 2]> {
        let (mut min, mut max) = ([f64::MAX, f64::MAX], [f64::MIN, f64::MIN]);
        for q in &self.outer {
            min = [min[0].min(q.lon), min[1].min(q.lat)];
            max = [max[0].max(q.lon), max[1].max(q.lat)];
        }
        AABB::from_corners(min, max)
    }
}

/// Adds the 2次メッシュ an envelope touches (a cell is 1/12° of latitude by 1/8° of longitude).
fn cells_of(e: &AABB<[f64; 2]>, into: &mut std::collections::BTreeSet<u32>) {
    let (lo, hi) = (e.lower(), e.upper());
    const DLAT: f64 = 1.0 / 12.0;
    const DLON: f64 = 1.0 / 8.0;
    let mut lat = (lo[1] / DLAT).floor() * DLAT;
    while lat <= hi[1] {
        let mut lon = (lo[0] / DLON).floor() * DLON;
        while lon <= hi[0] {
            // The middle of the cell, away from rounding at its edges.
            into.insert(mesh2(&Point::new(lon + DLON / 2.0, lat + DLAT / 2.0)));
            lon += DLON;
        }
        lat += DLAT;
    }
}

/// Even-odd ray casting; points exactly on an edge may fall either way.
fn ring_contains(ring: &[Point], p: &Point) -> bool {
    let mut inside = false;
    let mut j = ring.len().saturating_sub(1);
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[j]);
        if (a.lat > p.lat) != (b.lat > p.lat) && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon {
            inside = !inside;
        }
        j = i;
    }
    inside
}

struct Indexed<T> {
    polygon: Polygon,
    value: T,
    envelope: AABB<[f64; 2]>,
}

impl<T> RTreeObject for Indexed<T> {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// The 第2次地域区画 (2次メッシュ, about 10 km square) of a point, by JIS X 0410: the 1次メッシュ
/// is 40′ of latitude by 1° of longitude (code: ⌊lat × 1.5⌋, ⌊lon⌋ − 100), divided 8 × 8.
pub fn mesh2(p: &Point) -> u32 {
    let (lat, lon) = (p.lat * 1.5, p.lon);
    let (p1, u1) = (lat.floor(), lon.floor());
    let q = ((lat - p1) * 8.0).floor().clamp(0.0, 7.0);
    let v = ((lon - u1) * 8.0).floor().clamp(0.0, 7.0);
    let code = p1.clamp(0.0, 99.0) * 10_000.0 + (u1 - 100.0).clamp(0.0, 99.0) * 100.0 + q * 10.0 + v;
    code as u32
}

/// Polygons with a value each (a depth rank, a zone kind), searchable by point.
pub struct PolygonIndex<T> {
    tree: RTree<Indexed<T>>,
    /// The 2次メッシュ the polygons' envelopes touch: where the layer has surveyed anything.
    cells: std::collections::BTreeSet<u32>,
}

impl<T> PolygonIndex<T> {
    /// Builds the index in one go (bulk loading is much faster than inserting one by one).
    pub fn new(items: Vec<(Polygon, T)>) -> Self {
        let mut cells = std::collections::BTreeSet::new();
        let objects = items
            .into_iter()
            .map(|(polygon, value)| {
                let envelope = polygon.envelope();
                cells_of(&envelope, &mut cells);
                Indexed { polygon, value, envelope }
            })
            .collect();
        PolygonIndex { tree: RTree::bulk_load(objects), cells }
    }

    /// Whether the layer speaks for the point: it has a zone in the point's 2次メッシュ. A flood
    /// or house-collapse layer is surveyed river by river, so outside the cells where it has
    /// zones "no zone" means "not surveyed", not "safe".
    pub fn covers(&self, p: &Point) -> bool {
        self.cells.contains(&mesh2(p))
    }

    /// Whether the point lies within the layer's whole extent (for layers surveyed area-wide,
    /// such as 土砂災害警戒区域 designated across a prefecture).
    pub fn spans(&self, p: &Point) -> bool {
        let e = self.tree.root().envelope();
        let (lo, hi) = (e.lower(), e.upper());
        self.tree.size() > 0 && lo[0] <= p.lon && p.lon <= hi[0] && lo[1] <= p.lat && p.lat <= hi[1]
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Values of every polygon containing the point.
    pub fn at<'a>(&'a self, p: &Point) -> impl Iterator<Item = &'a T> + 'a {
        let probe = AABB::from_point([p.lon, p.lat]);
        let p = *p;
        self.tree.locate_in_envelope_intersecting(&probe).filter(move |o| o.polygon.contains(&p)).map(|o| &o.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn square(x: f64, y: f64, size: f64) -> Polygon {
        let pts = vec![
            Point::new(x, y),
            Point::new(x + size, y),
            Point::new(x + size, y + size),
            Point::new(x, y + size),
            Point::new(x, y),
        ];
        Polygon::new(pts, vec![]).unwrap()
    }

    #[test]
    fn contains_with_holes() {
        let mut p = square(140.0, 37.0, 1.0);
        p.holes.push(square(140.4, 37.4, 0.2).outer);
        assert!(p.contains(&Point::new(140.1, 37.1)));
        assert!(!p.contains(&Point::new(140.5, 37.5)), "in the hole");
        assert!(!p.contains(&Point::new(141.5, 37.5)));
        assert_eq!(Polygon::new(vec![Point::new(0.0, 0.0)], vec![]), Err(GeometryError::TooFewPoints(1)));
        let open = vec![Point::new(0.0, 0.0), Point::new(1.0, 0.0), Point::new(1.0, 1.0), Point::new(0.0, 1.0)];
        assert_eq!(Polygon::new(open, vec![]), Err(GeometryError::NotClosed));
    }

    #[test]
    fn mesh_codes_follow_jis_x_0410() {
        // 福島県庁 (37.7503N, 140.4676E): 1次 5640; q = ⌊(56.625 − 56) × 8⌋ = 5, v = ⌊0.4676 × 8⌋ = 3.
        assert_eq!(mesh2(&Point::new(140.4676, 37.7503)), 564053);
        // 東京駅 (35.6812N, 139.7671E): 1次 5339, q = ⌊(53.5218 − 53) × 8⌋ = 4, v = ⌊0.7671 × 8⌋ = 6.
        assert_eq!(mesh2(&Point::new(139.7671, 35.6812)), 533946);
    }

    #[test]
    fn a_layer_covers_the_cells_where_it_has_zones() {
        let index = PolygonIndex::new(vec![(square(140.9, 37.6, 0.01), ())]);
        assert!(index.covers(&Point::new(140.95, 37.62)), "same 2次メッシュ, outside the zone");
        assert!(!index.covers(&Point::new(140.3, 37.62)), "another river's country");
        assert!(index.spans(&Point::new(140.905, 37.605)));
        assert!(!index.spans(&Point::new(140.95, 37.62)));
        let empty: PolygonIndex<()> = PolygonIndex::new(vec![]);
        assert!(!empty.covers(&Point::new(140.9, 37.6)) && !empty.spans(&Point::new(140.9, 37.6)));
    }

    #[test]
    fn distance_is_about_right() {
        // Fukushima prefectural office to Aizuwakamatsu city hall: about 63 km.
        let d = Point::new(140.4676, 37.7503).distance_m(&Point::new(139.9298, 37.4947));
        assert!((55_000.0..70_000.0).contains(&d), "{d}");
    }

    proptest! {
        // The index finds exactly what a scan over every polygon finds.
        #[test]
        fn index_agrees_with_a_scan(cells in proptest::collection::vec((0u8..20, 0u8..20, 1u8..4), 1..60), px in 0.0f64..22.0, py in 0.0f64..22.0) {
            let polys: Vec<(Polygon, usize)> = cells.iter().enumerate().map(|(i, (x, y, s))| (square(f64::from(*x), f64::from(*y), f64::from(*s)), i)).collect();
            let p = Point::new(px, py);
            let mut scan: Vec<usize> = polys.iter().filter(|(poly, _)| poly.contains(&p)).map(|(_, i)| *i).collect();
            let index = PolygonIndex::new(polys);
            let mut found: Vec<usize> = index.at(&p).copied().collect();
            scan.sort_unstable();
            found.sort_unstable();
            prop_assert_eq!(scan, found);
        }

        // Every point inside a polygon is covered by the layer.
        #[test]
        fn a_zone_is_always_covered(x in 139.0f64..142.0, y in 36.0f64..38.0, size in 0.001f64..0.5, fx in 0.0f64..1.0, fy in 0.0f64..1.0) {
            let index = PolygonIndex::new(vec![(square(x, y, size), ())]);
            let p = Point::new(x + size * fx, y + size * fy);
            prop_assert!(index.covers(&p));
            prop_assert!(index.spans(&p));
        }
    }
}
