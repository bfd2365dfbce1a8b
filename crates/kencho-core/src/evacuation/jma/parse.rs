//! Reading one telegram (see the module comment of [`super`] for the elements and sources).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use roxmltree::Node;

use super::kinds::{self, Hazard, KindContext, KindStatus};
use super::{
    municipality_of_area, municipality_of_city_code, AreaReading, Expected, Family, InfoType, JmaError, Kind,
    Operation, Telegram,
};

/// Namespaces as JMA publishes them (気象庁防災情報XMLフォーマット 運用指針 1.1).
pub const NS_REPORT: &str = "http://xml.kishou.go.jp/jmaxml1/";
pub const NS_HEAD: &str = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/";
pub const NS_METEOROLOGY: &str = "http://xml.kishou.go.jp/jmaxml1/body/meteorology1/";

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// All the text inside an element, trimmed (text may be split by comments or CDATA).
fn text(n: Node) -> String {
    let s: String = n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect();
    s.trim().to_string()
}

fn child_text(n: Node, name: &str) -> Option<String> {
    child(n, name).map(text)
}

fn required<'a, 'i>(n: Node<'a, 'i>, name: &str, parent: &str) -> Result<Node<'a, 'i>, JmaError> {
    child(n, name).ok_or_else(|| JmaError::missing(name, parent))
}

fn required_text(n: Node, name: &str, parent: &str) -> Result<String, JmaError> {
    child_text(n, name).filter(|s| !s.is_empty()).ok_or_else(|| JmaError::missing(name, parent))
}

/// `<Name xmlns="…">` as found, for messages; `<Name>` when it has no namespace.
fn describe(n: Node) -> String {
    match n.tag_name().namespace() {
        Some(ns) => format!("<{} xmlns=\"{ns}\">", n.tag_name().name()),
        None => format!("<{}>", n.tag_name().name()),
    }
}

fn expect_ns(n: Node, ns: &str) -> Result<(), JmaError> {
    if n.tag_name().namespace() == Some(ns) {
        Ok(())
    } else {
        Err(JmaError::Element { found: describe(n), expected: format!("<{} xmlns=\"{ns}\">", n.tag_name().name()) })
    }
}

/// `YYYY-MM-DDThh:mm:ss[.fff]` and `Z` or `±hh:mm`, as JMA writes ReportDateTime.
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_char_boundary(19) {
        return false;
    }
    let d = |i: usize| b[i].is_ascii_digit();
    let at = |i: usize, c: u8| b[i] == c;
    let stamp = (0..4).all(d)
        && at(4, b'-')
        && d(5)
        && d(6)
        && at(7, b'-')
        && d(8)
        && d(9)
        && at(10, b'T')
        && d(11)
        && d(12)
        && at(13, b':')
        && d(14)
        && d(15)
        && at(16, b':')
        && d(17)
        && d(18);
    let rest = &s[19..];
    let rest = rest.strip_prefix('.').map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    let o = rest.as_bytes();
    let offset = rest == "Z"
        || (o.len() == 6
            && matches!(o[0], b'+' | b'-')
            && o[1].is_ascii_digit()
            && o[2].is_ascii_digit()
            && o[3] == b':'
            && o[4].is_ascii_digit()
            && o[5].is_ascii_digit());
    stamp && offset
}

/// Parses one telegram. A telegram that does not follow the specification is an error naming
/// the element found and the one expected.
///
/// Areas come from `Body/Warning/Item` and `Head/Headline/Information/Item`. An area's level per
/// hazard is the highest of its kinds in force, raised by the headline's 警戒レベル text
/// (＜警戒レベル４相当情報［土砂災害］＞, 【警戒レベル4】) only for areas with a leveled kind in
/// force — and, when the headline lists municipalities, only for those it lists as in force:
/// a municipality the telegram lifts never takes the headline's level.
///
/// 取消 keeps no areas: it only withdraws what was sent under the same event id (or, with an
/// empty EventID, for the municipalities its body still names, in `cancels`).
pub fn parse(xml: &str) -> Result<Telegram, JmaError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| JmaError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Report" || root.tag_name().namespace() != Some(NS_REPORT) {
        return Err(JmaError::Element { found: describe(root), expected: format!("<Report xmlns=\"{NS_REPORT}\">") });
    }
    let (title, operation, office) = read_control(required(root, "Control", "Report")?)?;
    let head = required(root, "Head", "Report")?;
    let Head { report_time, event_id, info_type, info_kind, head_title, serial } = read_head(head)?;
    let headline_node = child(head, "Headline");
    let headline = headline_node.and_then(|h| child_text(h, "Text")).unwrap_or_default();

    let body = required(root, "Body", "Report")?;
    let family = Family::of(&info_kind, &title);
    let mut c = Collect::new(family.clone());
    if body.tag_name().namespace() == Some(NS_METEOROLOGY) {
        for warning in children(body, "Warning") {
            if warning.attribute("type").is_none_or(str::is_empty) {
                return Err(JmaError::missing("@type", "Body/Warning"));
            }
            for item in children(warning, "Item") {
                c.body_item(item)?;
            }
        }
    } else if !matches!(family, Family::Other(_)) {
        // The types kencho reads all have a meteorology body.
        expect_ns(body, NS_METEOROLOGY)?;
    }
    for info in headline_node.into_iter().flat_map(|h| children(h, "Information")) {
        if info.attribute("type").is_none_or(str::is_empty) {
            return Err(JmaError::missing("@type", "Head/Headline/Information"));
        }
        for item in children(info, "Item") {
            c.headline_item(item)?;
        }
    }
    let (mut areas, mut lifts_event) = c.finish(&headline);
    let mut cancels = Vec::new();
    if info_type == InfoType::Cancel {
        // What a 取消 repeats is withdrawn, never in force.
        for a in areas.drain(..) {
            if !cancels.contains(&a.municipality) {
                cancels.push(a.municipality);
            }
        }
        lifts_event = false;
    }
    Ok(Telegram {
        title,
        head_title,
        operation,
        office,
        event_id,
        info_type,
        info_kind,
        family,
        report_time,
        serial,
        headline,
        areas,
        cancels,
        lifts_event,
    })
}

/// `Control/Title`, `Control/Status` and `Control/EditorialOffice`.
fn read_control(control: Node) -> Result<(String, Operation, String), JmaError> {
    let title = required_text(control, "Title", "Control")?;
    let status = required_text(control, "Status", "Control")?;
    let operation = Operation::parse(&status).ok_or_else(|| JmaError::Value {
        element: "Control/Status".into(),
        found: status.clone(),
        expected: Expected::Operation,
    })?;
    Ok((title, operation, child_text(control, "EditorialOffice").unwrap_or_default()))
}

struct Head {
    report_time: String,
    event_id: String,
    info_type: InfoType,
    info_kind: String,
    head_title: String,
    serial: Option<String>,
}

fn read_head(head: Node) -> Result<Head, JmaError> {
    expect_ns(head, NS_HEAD)?;
    let report_time = required_text(head, "ReportDateTime", "Head")?;
    if !is_datetime(&report_time) {
        return Err(JmaError::Value {
            element: "Head/ReportDateTime".into(),
            found: report_time,
            expected: Expected::DateTime,
        });
    }
    // An empty EventID is what 気象警報・注意報 sends, so only its absence is an error.
    let event_id = child_text(head, "EventID").ok_or_else(|| JmaError::missing("EventID", "Head"))?;
    let info_type = match required_text(head, "InfoType", "Head")?.as_str() {
        "発表" => InfoType::Issue,
        "訂正" => InfoType::Correction,
        "取消" => InfoType::Cancel,
        other => {
            return Err(JmaError::Value {
                element: "Head/InfoType".into(),
                found: other.to_string(),
                expected: Expected::InfoType,
            })
        }
    };
    Ok(Head {
        report_time,
        event_id,
        info_type,
        info_kind: required_text(head, "InfoKind", "Head")?,
        head_title: child_text(head, "Title").unwrap_or_default(),
        serial: child_text(head, "Serial").filter(|s| !s.is_empty()),
    })
}

/// One `Area` as written.
struct AreaNode {
    name: String,
    code: String,
    /// 指定河川洪水予報: `Area/City` and `Area/CityCode`.
    city: Option<String>,
    city_code: Option<String>,
}

struct Collect {
    family: Family,
    ctx: KindContext,
    areas: Vec<AreaReading>,
    index: HashMap<String, usize>,
    /// Headline areas listed with a kind in force: the headline's level is theirs.
    scope: HashSet<String>,
    /// 指定河川洪水予報: the river's level kinds, and the municipalities (by CityCode).
    river: Vec<Kind>,
    river_areas: Vec<(String, String, String)>,
}

impl Collect {
    fn new(family: Family) -> Collect {
        Collect {
            ctx: family.context(),
            family,
            areas: Vec::new(),
            index: HashMap::new(),
            scope: HashSet::new(),
            river: Vec::new(),
            river_areas: Vec::new(),
        }
    }

    fn kinds(&self, item: Node, path: &str, with_status: bool) -> Result<Vec<Kind>, JmaError> {
        let mut out = Vec::new();
        for k in children(item, "Kind") {
            let name = child_text(k, "Name").unwrap_or_default();
            let condition = child_text(k, "Condition").filter(|s| !s.is_empty());
            let status = match child_text(k, "Status").filter(|s| !s.is_empty()) {
                Some(s) if with_status => Some(KindStatus::parse(&s).ok_or_else(|| JmaError::Value {
                    element: format!("{path}/Kind/Status"),
                    found: s.clone(),
                    expected: Expected::KindStatus,
                })?),
                _ => None,
            };
            // 発表警報・注意報はなし may come as a Status alone; every other kind has a name.
            if name.is_empty() && status != Some(KindStatus::Nothing) {
                return Err(JmaError::missing("Name", &format!("{path}/Kind")));
            }
            out.push(Kind::new(self.ctx, name, condition, status));
        }
        Ok(out)
    }

    fn area_nodes(item: Node, path: &str) -> Result<Vec<AreaNode>, JmaError> {
        let nodes = children(item, "Area").chain(children(item, "Areas").flat_map(|a| children(a, "Area")));
        let mut out = Vec::new();
        for a in nodes {
            let code = required_text(a, "Code", &format!("{path}/Area"))?;
            let name = child_text(a, "Name").unwrap_or_default();
            let city = child_text(a, "City").filter(|s| !s.is_empty());
            let city_code = child_text(a, "CityCode").filter(|s| !s.is_empty());
            out.push(AreaNode { name, code, city, city_code });
        }
        Ok(out)
    }

    fn add(&mut self, code: &str, municipality: String, name: &str, kinds: &[Kind]) {
        let i = *self.index.entry(code.to_string()).or_insert_with(|| {
            self.areas.push(AreaReading {
                code: code.to_string(),
                municipality,
                name: name.to_string(),
                kinds: Vec::new(),
                levels: BTreeMap::new(),
                lowered: BTreeSet::new(),
            });
            self.areas.len() - 1
        });
        for k in kinds {
            if !self.areas[i].kinds.contains(k) {
                self.areas[i].kinds.push(k.clone());
            }
        }
    }

    fn body_item(&mut self, item: Node) -> Result<(), JmaError> {
        const PATH: &str = "Body/Warning/Item";
        let kinds = self.kinds(item, PATH, true)?;
        if kinds.is_empty() {
            return Err(JmaError::missing("Kind", PATH));
        }
        let areas = Self::area_nodes(item, PATH)?;
        if areas.is_empty() {
            return Err(JmaError::missing("Area", PATH));
        }
        if self.family == Family::RiverFlood {
            // Area/Code is a station or river section; the municipalities are in CityCode.
            for a in &areas {
                if let Some(cc) = &a.city_code {
                    let m = municipality_of_city_code(cc).ok_or_else(|| JmaError::Value {
                        element: format!("{PATH}/Areas/Area/CityCode"),
                        found: cc.clone(),
                        expected: Expected::CityCode,
                    })?;
                    let name = a.city.clone().unwrap_or_else(|| a.name.clone());
                    self.river_areas.push((cc.clone(), m, name));
                }
            }
            // 浸水想定地区 lists places, not a level.
            if !kinds.iter().any(|k| k.name.starts_with("浸水想定地区")) {
                self.river.extend(kinds);
            }
            return Ok(());
        }
        for a in &areas {
            if let Some(m) = municipality_of_area(&a.code) {
                self.add(&a.code, m, &a.name, &kinds);
            }
        }
        Ok(())
    }

    fn headline_item(&mut self, item: Node) -> Result<(), JmaError> {
        const PATH: &str = "Head/Headline/Information/Item";
        let kinds = self.kinds(item, PATH, false)?;
        let areas = Self::area_nodes(item, PATH)?;
        if self.family == Family::RiverFlood {
            self.river.extend(kinds);
            return Ok(());
        }
        let on = kinds.iter().any(Kind::in_force);
        for a in &areas {
            if let Some(m) = municipality_of_area(&a.code) {
                self.add(&a.code, m, &a.name, &kinds);
                if on {
                    self.scope.insert(a.code.clone());
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, headline: &str) -> (Vec<AreaReading>, bool) {
        let mut lifts_event = false;
        if self.family == Family::RiverFlood {
            let river = std::mem::take(&mut self.river);
            let leveled: Vec<&Kind> = river.iter().filter(|k| k.level.is_some()).collect();
            lifts_event = !leveled.is_empty()
                && leveled.iter().all(|k| !k.in_force())
                && leveled.iter().any(|k| k.lowers().is_some());
            for (code, m, name) in std::mem::take(&mut self.river_areas) {
                self.add(&code, m, &name, &river);
            }
        }
        let headline_levels: Vec<(u8, Option<Hazard>)> = kinds::levels_in_text(headline).collect();
        for area in &mut self.areas {
            for k in &area.kinds {
                if let Some((h, l)) = k.in_force_level() {
                    let e = area.levels.entry(h).or_insert(l);
                    *e = (*e).max(l);
                }
                if let Some(h) = k.lowers() {
                    area.lowered.insert(h);
                }
            }
            // The headline speaks for areas in force with a leveled kind, and only for the
            // hazards they have; when it lists municipalities, only for those.
            if area.levels.is_empty() || (!self.scope.is_empty() && !self.scope.contains(&area.code)) {
                continue;
            }
            for (level, bracket) in &headline_levels {
                let top = area.levels.iter().max_by_key(|(_, l)| **l).map(|(h, _)| *h);
                let hazard = match bracket {
                    Some(h) if area.levels.contains_key(h) => *h,
                    Some(_) => continue,
                    None => match top {
                        Some(h) => h,
                        None => continue,
                    },
                };
                let e = area.levels.entry(hazard).or_insert(*level);
                *e = (*e).max(*level);
            }
        }
        (self.areas, lifts_event)
    }
}

#[cfg(test)]
mod tests {
    use super::is_datetime;

    #[test]
    fn datetimes() {
        assert!(is_datetime("2026-05-29T10:00:00+09:00"));
        assert!(is_datetime("2026-05-29T01:00:00Z"));
        assert!(is_datetime("2026-05-29T10:00:00.5+09:00"));
        assert!(!is_datetime("2026-05-29 10:00:00+09:00"));
        assert!(!is_datetime("2026-05-29T10:00:00"));
        assert!(!is_datetime("2026-05-29T10:00:00+0900"));
        assert!(!is_datetime("２０２６-05-29T10:00:00+09:00"));
        assert!(!is_datetime(""));
    }
}
