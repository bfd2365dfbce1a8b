//! What the fuzz targets share: the repository's demo data, loaded once, as the fixed context
//! some parsers are checked against (a form is read against a real procedure, a 専決 table
//! against a real organisation).

use std::path::PathBuf;
use std::sync::OnceLock;

use kencho_core::approval::doc::{parse_org, parse_rules};
use kencho_core::approval::org::{Org, PersonId};
use kencho_core::approval::rules::RuleRow;
use kencho_core::evacuation::abr::{self, CsvFile};
use kencho_core::evacuation::towns::Town;
use kencho_core::evacuation::{data, Site};
use kencho_core::procedure::ProcedureDef;

/// A path inside the repository (the fuzz crate sits at its top level).
pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every demo procedure, in file-name order.
pub fn procedures() -> &'static [ProcedureDef] {
    static DEFS: OnceLock<Vec<ProcedureDef>> = OnceLock::new();
    DEFS.get_or_init(|| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo("demo/procedures"))
            .expect("demo/procedures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml" || x == "json"))
            .collect();
        files.sort();
        let defs: Vec<ProcedureDef> = files
            .iter()
            .map(|p| {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).expect("readable");
                ProcedureDef::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        assert!(!defs.is_empty(), "no demo procedures");
        defs
    })
}

/// Staff look-up for organisation files: any address with an `@` is a member of staff.
pub fn staff(email: &str) -> Option<PersonId> {
    email.contains('@').then(|| PersonId(email.to_string()))
}

/// The demo organisation (南相馬市) and its 専決 table.
pub fn org_and_rules() -> &'static (Org, Vec<RuleRow>) {
    static ORG: OnceLock<(Org, Vec<RuleRow>)> = OnceLock::new();
    ORG.get_or_init(|| {
        let org = parse_org(&read("demo/approval/minamisoma-org.toml"), staff).expect("demo org");
        let rules = parse_rules(&read("demo/approval/minamisoma-rules.toml"), &org).expect("demo rules");
        (org, rules)
    })
}

/// The demo 町字 table.
pub fn towns() -> &'static [Town] {
    static TOWNS: OnceLock<Vec<Town>> = OnceLock::new();
    TOWNS.get_or_init(|| {
        let (names, points) = (read("demo/evacuation/mt_town.sample.csv"), read("demo/evacuation/mt_town_pos.sample.csv"));
        abr::from_files(&[CsvFile { name: "mt_town", text: &names }, CsvFile { name: "mt_town_pos", text: &points }])
            .expect("demo towns")
    })
}

/// The demo designated emergency sites.
pub fn sites() -> &'static [Site] {
    static SITES: OnceLock<Vec<Site>> = OnceLock::new();
    SITES.get_or_init(|| data::sites(&read("demo/evacuation/sites.sample.csv")).expect("demo sites"))
}

/// The input as text for parsers that take `&str`: invalid UTF-8 becomes U+FFFD, so that no
/// input is wasted (the server refuses or replaces such bytes before these parsers run).
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}
