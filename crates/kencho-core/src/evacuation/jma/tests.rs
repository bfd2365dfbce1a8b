//! Reading telegrams: the demo telegrams, the test telegrams written from the specification
//! (`crates/kencho/tests/data/jma/`, see its README), and what the parser refuses.

use super::*;
use proptest::prelude::*;

const ISSUE: &str = include_str!("../../../../../demo/evacuation/jma/01-issue.xml");
const CANCEL: &str = include_str!("../../../../../demo/evacuation/jma/02-cancel.xml");
const LANDSLIDE: &str = include_str!("../../../../../demo/evacuation/jma/03-landslide.xml");

macro_rules! data {
    ($f:literal) => {
        include_str!(concat!("../../../../kencho/tests/data/jma/", $f))
    };
}

/// A minimal telegram with the real namespaces; `headline` goes inside Head/Headline.
pub(super) fn telegram(info_type: &str, event_id: &str, headline: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/">
  <Control><Title>気象警報・注意報（Ｒ０６）</Title><Status>通常</Status><EditorialOffice>福島地方気象台</EditorialOffice></Control>
  <Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/">
    <Title>テスト</Title>
    <ReportDateTime>2026-06-01T00:00:00+09:00</ReportDateTime>
    <EventID>{event_id}</EventID>
    <InfoType>{info_type}</InfoType>
    <Serial>3</Serial>
    <InfoKind>気象警報・注意報</InfoKind>
    <Headline>{headline}</Headline>
  </Head>
  <Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">{body}</Body>
</Report>"#
    )
}

/// (area code, area name, [(Kind/Name, Kind/Status)]); an empty name writes no `Name`.
pub(super) type Item<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A Body/Warning with one Item per area.
pub(super) fn warning(items: &[Item]) -> String {
    let mut s = String::from("<Warning type=\"気象警報・注意報（市町村等）\">");
    for (code, name, kinds) in items {
        s.push_str("<Item>");
        for (k, st) in kinds.iter() {
            let name = if k.is_empty() { String::new() } else { format!("<Name>{k}</Name>") };
            s.push_str(&format!("<Kind>{name}<Status>{st}</Status></Kind>"));
        }
        s.push_str(&format!("<Area><Name>{name}</Name><Code>{code}</Code></Area></Item>"));
    }
    s.push_str("</Warning>");
    s
}

fn area<'a>(t: &'a Telegram, code: &str) -> &'a AreaReading {
    t.areas.iter().find(|a| a.code == code).unwrap_or_else(|| panic!("no area {code} in {:?}", t.areas))
}

fn levels(pairs: &[(Hazard, u8)]) -> std::collections::BTreeMap<Hazard, u8> {
    pairs.iter().copied().collect()
}

#[test]
fn conditions_stay_apart_from_names() {
    let body = r#"<Warning type="気象警報・注意報（市町村等）"><Item>
        <Kind><Name>大雨警報</Name><Condition>土砂災害、浸水害</Condition><Status>継続</Status></Kind>
        <Kind><Name>雷注意報</Name><Status>発表</Status></Kind>
        <Area><Name>甲町</Name><Code>0754100</Code></Area></Item></Warning>"#;
    let t = parse(&telegram("発表", "", "<Text>本文</Text>", body)).expect("parses");
    let a = area(&t, "0754100");
    assert_eq!(a.kinds[0].name, "大雨警報");
    assert_eq!(a.kinds[0].condition.as_deref(), Some("土砂災害、浸水害"));
    assert_eq!(a.kinds[0].status, Some(KindStatus::Continued));
    assert_eq!(a.kinds[0].label(&t.family), "大雨警報（土砂災害、浸水害）");
    assert_eq!(a.levels, levels(&[(Hazard::Rain, 3)]));
    assert_eq!((a.municipality.as_str(), t.serial.as_deref(), t.info_type), ("07541", Some("3"), InfoType::Issue));
    assert_eq!(t.unmapped_kinds("07541"), ["雷注意報"]);
}

#[test]
fn the_headline_level_is_for_areas_in_force_only() {
    // The headline's level 4 is scoped to 甲市; 乙市 keeps the level of its own kinds.
    let headline = r#"<Text>【警戒レベル4】甲市では厳重に警戒してください。</Text>
        <Information type="x"><Item><Kind><Name>大雨注意報</Name></Kind>
          <Areas><Area><Name>甲市</Name><Code>0720100</Code></Area></Areas></Item></Information>"#;
    let body = warning(&[
        ("0720100", "甲市", &[("大雨注意報", "発表")]),
        ("0720300", "乙市", &[("洪水警報", "発表"), ("強風注意報", "継続")]),
    ]);
    let t = parse(&telegram("発表", "", headline, &body)).expect("parses");
    assert_eq!(area(&t, "0720100").level(), Some(4));
    assert_eq!(area(&t, "0720300").levels, levels(&[(Hazard::Flood, 3)]));

    // Without Information the headline speaks for every area with a leveled kind in force,
    // never for one whose kinds are lifted or map to no level.
    let body = warning(&[
        ("0720100", "甲市", &[("大雨注意報", "発表")]),
        ("0720300", "乙市", &[("大雨注意報", "解除")]),
        ("0720400", "丙市", &[("強風注意報", "発表")]),
    ]);
    let t = parse(&telegram("訂正", "", "<Text>＜警戒レベル３相当情報［洪水］＞</Text>", &body)).expect("parses");
    assert_eq!(t.info_type, InfoType::Correction);
    assert_eq!(area(&t, "0720100").level(), Some(2), "the bracket names a hazard 甲市 has not");
    let t = parse(&telegram("発表", "", "<Text>＜警戒レベル３相当＞</Text>", &body)).expect("parses");
    assert_eq!(area(&t, "0720100").levels, levels(&[(Hazard::Rain, 3)]));
    assert_eq!(area(&t, "0720300").level(), None, "a lifted area takes no level from the headline");
    assert_eq!(area(&t, "0720300").lowered, [Hazard::Rain].into());
    assert_eq!(area(&t, "0720400").level(), None, "an unmapped kind takes no level from the headline");
}

#[test]
fn old_names_issue_downgrade_lift() {
    let t = parse(data!("vpww54-1-issue.xml")).expect("parses");
    assert_eq!((t.family.clone(), t.event_id.as_str(), t.serial.as_deref()), (Family::Warnings, "", None));
    assert_eq!(t.areas.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["0721200", "0720200", "0720900"]);
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Rain, 3), (Hazard::Flood, 3)]));
    assert_eq!(t.kinds_in_force("07212"), ["大雨警報（土砂災害）", "洪水警報"]);
    assert_eq!(area(&t, "0720200").levels, levels(&[(Hazard::Rain, 2)]));
    let soma = area(&t, "0720900");
    assert!(soma.levels.is_empty() && soma.lowered.is_empty(), "「発表警報・注意報はなし」 lowers nothing: {soma:?}");

    let t = parse(data!("vpww54-2-downgrade.xml")).expect("parses");
    let a = area(&t, "0721200");
    assert_eq!(a.levels, levels(&[(Hazard::Rain, 2), (Hazard::Flood, 3)]));
    assert_eq!(a.lowered, [Hazard::Rain].into());
    assert_eq!(a.kinds[0].status, Some(KindStatus::Changed("警報から注意報".into())));

    let t = parse(data!("vpww54-3-lift.xml")).expect("parses");
    let a = area(&t, "0721200");
    assert_eq!(a.levels, levels(&[(Hazard::Rain, 2)]));
    assert_eq!(a.lowered, [Hazard::Flood].into());
}

#[test]
fn names_of_2026() {
    let t = parse(data!("vpww55-1-rain.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Rain, 3)]));
    assert_eq!(t.kinds_in_force("07212"), ["レベル３大雨警報"]);
    assert_eq!(area(&t, "0720200").levels, levels(&[(Hazard::Rain, 2)]));
    let t = parse(data!("vpww56-1-landslide.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Landslide, 4)]));
    assert_eq!(area(&t, "0720200").levels, levels(&[(Hazard::Landslide, 3)]));
    let t = parse(data!("vpww58-2-wind.xml")).expect("parses");
    assert!(t.areas.iter().all(|a| a.levels.is_empty() && a.lowered.is_empty()));
    assert_eq!(t.unmapped_kinds("07212"), ["強風注意報"]);
    let t = parse(data!("vpww55-3-rain-lift.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Rain, 2)]));
    assert_eq!(area(&t, "0721200").lowered, [Hazard::Rain].into());
    assert_eq!((area(&t, "0720200").level(), area(&t, "0720200").lowered.len()), (None, 1));
    let t = parse(data!("vpww56-4-landslide-down.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Landslide, 3)]));
    assert_eq!(area(&t, "0721200").lowered, [Hazard::Landslide].into());
}

#[test]
fn landslide_sequence_lifts_per_area() {
    let t = parse(data!("vxww50-1-issue.xml")).expect("parses");
    assert_eq!((t.family.clone(), t.event_id.as_str()), (Family::Landslide, "20260701_0700_dosha"));
    for code in ["0721200", "0720200"] {
        assert_eq!(area(&t, code).levels, levels(&[(Hazard::Landslide, 4)]), "{code}");
    }
    assert_eq!(t.kinds_in_force("07212"), ["土砂災害警戒情報"]);
    let headline_kind = area(&t, "0721200").kinds.iter().find(|k| k.status.is_none()).expect("headline kind");
    assert_eq!((headline_kind.name.as_str(), headline_kind.condition.as_deref()), ("警戒", Some("発表")));
    assert!(area(&t, "0720900").levels.is_empty());

    let t = parse(data!("vxww50-2-continue.xml")).expect("parses");
    assert_eq!(area(&t, "0720200").levels, levels(&[(Hazard::Landslide, 4)]));
    assert!(area(&t, "0720200").lowered.is_empty());

    // The headline still says 警戒レベル４; 会津若松市 is lifted all the same.
    let t = parse(data!("vxww50-3-partial-lift.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Landslide, 4)]));
    let aizu = area(&t, "0720200");
    assert_eq!((aizu.level(), aizu.lowered.clone()), (None, [Hazard::Landslide].into()));
    assert!(aizu.kinds.iter().all(|k| !k.in_force()), "{:?}", aizu.kinds);

    let t = parse(data!("vxww50-4-lift.xml")).expect("parses");
    assert_eq!(area(&t, "0721200").lowered, [Hazard::Landslide].into());
    assert!(area(&t, "0720200").lowered.is_empty(), "「なし」 lifts nothing by itself");
}

#[test]
fn river_flood_is_matched_by_city_code() {
    let t = parse(data!("vxko-1-danger.xml")).expect("parses");
    assert_eq!(t.family, Family::RiverFlood);
    let codes: Vec<&str> = t.areas.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["0721200", "0720900"], "CityCode, not the station's Area/Code");
    assert_eq!(area(&t, "0721200").levels, levels(&[(Hazard::Flood, 4)]));
    assert_eq!(area(&t, "0721200").name, "南相馬市");
    assert!(!t.lifts_event);

    let t = parse(data!("vxko-2-warning.xml")).expect("parses");
    assert_eq!(area(&t, "0720900").levels, levels(&[(Hazard::Flood, 3)]));
    assert!(area(&t, "0720900").lowered.is_empty());

    let t = parse(data!("vxko-3-lift.xml")).expect("parses");
    assert!(t.areas.is_empty() && t.lifts_event);

    // The names before 2026 read the same way.
    let old = data!("vxko-1-danger.xml").replace("レベル４氾濫危険警報", "氾濫危険情報");
    assert_eq!(area(&parse(&old).unwrap(), "0721200").levels, levels(&[(Hazard::Flood, 4)]));
    let old = data!("vxko-3-lift.xml").replace("レベル２氾濫注意報解除", "氾濫注意情報解除");
    assert!(parse(&old).unwrap().lifts_event);
    // A 6-digit 全国地方公共団体コード in CityCode is read too; a bad one is refused.
    let lg = data!("vxko-1-danger.xml").replace("<CityCode>0721200</CityCode>", "<CityCode>072125</CityCode>");
    assert_eq!(parse(&lg).unwrap().areas[0].municipality, "07212");
    let bad = data!("vxko-1-danger.xml").replace("<CityCode>0721200</CityCode>", "<CityCode>南相馬</CityCode>");
    assert!(
        matches!(parse(&bad), Err(JmaError::Value { ref element, ref found, .. }) if element.ends_with("Area/CityCode") && found == "南相馬")
    );
}

#[test]
fn cancellation_keeps_no_areas() {
    let t = parse(&telegram("取消", "test_event", "<Text>取り消します。</Text>", "")).expect("parses");
    assert_eq!((t.info_type, t.event_id.as_str()), (InfoType::Cancel, "test_event"));
    assert!(t.areas.is_empty() && t.cancels.is_empty());
    // A cancel that repeats a body: what it withdraws is never read as in force.
    let body = warning(&[("0720100", "甲市", &[("洪水警報", "発表")])]);
    let t = parse(&telegram("取消", "", "", &body)).expect("parses");
    assert!(t.areas.is_empty());
    assert_eq!(t.cancels, ["07201"]);
}

#[test]
fn municipality_codes() {
    assert_eq!(municipality_of_lg_code("072125").as_deref(), Some("07212")); // 南相馬市
    assert_eq!(municipality_of_lg_code("072028").as_deref(), Some("07202")); // 会津若松市
    assert_eq!(municipality_of_lg_code("131016").as_deref(), Some("13101")); // 千代田区
    assert_eq!(municipality_of_lg_code("072126"), None, "bad check digit");
    assert_eq!(municipality_of_lg_code("07212"), None, "check digit required");
    assert_eq!(municipality_of_area("0721200").as_deref(), Some("07212"));
    assert_eq!(municipality_of_area("072120"), None, "JMA codes have 7 digits");
    assert_eq!(municipality_of_area("０７２１２００"), None);
    assert_eq!(municipality_of_city_code("07212").as_deref(), Some("07212"));
    assert_eq!(municipality_of_city_code("072126"), None);
}

#[test]
fn errors_name_the_element_found_and_expected() {
    use JmaError::*;
    assert!(matches!(parse("not xml"), Err(NotXml(_))));
    let err = parse("<Other/>").unwrap_err();
    assert_eq!(err.to_string(), "found <Other>, expected <Report xmlns=\"http://xml.kishou.go.jp/jmaxml1/\">");
    assert_eq!(err.code(), "jma_element");
    let t = telegram("発表", "test_event", "", "");
    let ns = t.replace("jmaxml1/informationBasis1/", "jmaxml1/informationBasis2/");
    assert_eq!(
        parse(&ns),
        Err(Element {
            found: "<Head xmlns=\"http://xml.kishou.go.jp/jmaxml1/informationBasis2/\">".into(),
            expected: "<Head xmlns=\"http://xml.kishou.go.jp/jmaxml1/informationBasis1/\">".into()
        })
    );
    assert_eq!(parse(&t.replace("<EventID>test_event</EventID>", "")), Err(JmaError::missing("EventID", "Head")));
    assert_eq!(parse(&t.replace("<InfoType>発表</InfoType>", "")), Err(JmaError::missing("InfoType", "Head")));
    assert_eq!(
        parse(&t.replace("<InfoKind>気象警報・注意報</InfoKind>", "")),
        Err(JmaError::missing("InfoKind", "Head"))
    );
    assert_eq!(
        parse(&t.replace("2026-06-01T00:00:00+09:00", "")),
        Err(JmaError::missing("ReportDateTime", "Head")),
        "an empty time is as bad as none"
    );
    assert!(
        matches!(parse(&t.replace("2026-06-01T00:00:00+09:00", "6月1日")), Err(Value { ref element, .. }) if element == "Head/ReportDateTime")
    );
    assert_eq!(
        parse(&telegram("遅延", "", "", "")),
        Err(Value { element: "Head/InfoType".into(), found: "遅延".into(), expected: Expected::InfoType })
    );
    assert!(
        matches!(parse(&t.replace("<Status>通常</Status>", "<Status>本番</Status>")), Err(Value { ref element, .. }) if element == "Control/Status")
    );
    let body = warning(&[("0720100", "甲市", &[("大雨警報", "発令")])]);
    assert_eq!(
        parse(&telegram("発表", "", "", &body)),
        Err(Value {
            element: "Body/Warning/Item/Kind/Status".into(),
            found: "発令".into(),
            expected: Expected::KindStatus
        })
    );
    let body = warning(&[("0720100", "甲市", &[("", "発表")])]);
    assert_eq!(parse(&telegram("発表", "", "", &body)), Err(JmaError::missing("Name", "Body/Warning/Item/Kind")));
    let body = "<Warning type=\"x\"><Item><Kind><Name>大雨警報</Name></Kind></Item></Warning>";
    assert_eq!(parse(&telegram("発表", "", "", body)), Err(JmaError::missing("Area", "Body/Warning/Item")));
    let body =
        "<Warning type=\"x\"><Item><Kind><Name>大雨警報</Name></Kind><Area><Name>甲</Name></Area></Item></Warning>";
    assert_eq!(parse(&telegram("発表", "", "", body)), Err(JmaError::missing("Code", "Body/Warning/Item/Area")));
    let body = "<Warning><Item/></Warning>";
    assert_eq!(parse(&telegram("発表", "", "", body)), Err(JmaError::missing("@type", "Body/Warning")));
    assert_eq!(
        parse(&t.replace("<Body xmlns=\"http://xml.kishou.go.jp/jmaxml1/body/meteorology1/\"></Body>", "")),
        Err(JmaError::missing("Body", "Report"))
    );
    // An empty EventID is accepted: 気象警報・注意報 sends one.
    assert_eq!(parse(&t.replace("test_event", "")).map(|t| t.event_id), Ok(String::new()));
    let e = Value { element: "a".into(), found: "b".into(), expected: Expected::DateTime };
    assert_eq!((e.code(), e.to_string().as_str()), ("jma_value", "a is \"b\", expected DateTime"));
}

#[test]
fn demo_telegrams() {
    let issue = parse(ISSUE).expect("01-issue parses");
    assert_eq!(issue.event_id, "20261129_sample_001");
    assert_eq!((issue.info_type, issue.operation), (InfoType::Issue, Operation::Normal));
    assert!(issue.is_operational());
    assert_eq!(issue.title, "気象警報・注意報（Ｈ２７）");
    assert_eq!(issue.report_time, "2026-11-29T10:00:00+09:00");
    let codes: Vec<&str> = issue.areas.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["0721200", "0720200"], "the prefecture-wide 070000 is not a municipality");
    let minamisoma = area(&issue, "0721200");
    assert_eq!((minamisoma.name.as_str(), minamisoma.level()), ("南相馬市", Some(3)));
    assert_eq!(issue.kinds_in_force("07212"), ["大雨警報（土砂災害）", "洪水警報"]);
    assert_eq!(area(&issue, "0720200").level(), Some(2));

    let cancel = parse(CANCEL).expect("02-cancel parses");
    assert_eq!((cancel.info_type, cancel.event_id.as_str()), (InfoType::Cancel, issue.event_id.as_str()));
    assert!(cancel.areas.is_empty());
    assert_eq!(cancel.serial, None);

    let landslide = parse(LANDSLIDE).expect("03-landslide parses");
    assert_eq!(landslide.family, Family::Landslide);
    assert_eq!(area(&landslide, "0721200").level(), Some(4));
    assert_eq!(area(&landslide, "0720900").level(), None);
}

/// Edits that keep a telegram near-valid, so mutations reach the parser's own code.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("<".to_string()),
        Just("</Item>".to_string()),
        Just("<Area><Code>0721200</Code></Area>".to_string()),
        Just("<CityCode>0721200</CityCode>".to_string()),
        Just("<Kind><Name>警戒レベル".to_string()),
        Just("レベル５".to_string()),
        Just("解除".to_string()),
        Just("から".to_string()),
        Just("&amp;".to_string()),
        Just("]]>".to_string()),
        "\\PC{0,4}",
    ]
}

const SAMPLES: [&str; 6] = [
    ISSUE,
    LANDSLIDE,
    data!("vpww54-2-downgrade.xml"),
    data!("vxww50-3-partial-lift.xml"),
    data!("vxko-1-danger.xml"),
    data!("vpww56-4-landslide-down.xml"),
];

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC*") {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_arbitrary_chars(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_mutated_samples(which in 0usize..SAMPLES.len(),
                                       edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..40, fragment()), 1..6)) {
        let mut chars: Vec<char> = SAMPLES[which].chars().collect();
        for (at, cut, insert) in edits {
            let start = at.index(chars.len() + 1);
            let end = (start + cut).min(chars.len());
            chars.splice(start..end, insert.chars());
        }
        let mutated: String = chars.into_iter().collect();
        let _ = parse(&mutated);
    }
}

#[test]
fn feed_links_are_read_in_order() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
        <entry><title>気象警報・注意報</title><link type="application/xml" href="https://example.jp/a.xml"/></entry>
        <entry><title>x</title><link href="javascript:alert(1)"/></entry>
        <entry><title>土砂災害警戒情報</title><link href="http://example.jp/b.xml"/></entry></feed>"#;
    assert_eq!(feed_links(atom).expect("feed"), ["https://example.jp/a.xml", "http://example.jp/b.xml"]);
    assert!(feed_links("<Report/>").is_err());
}
