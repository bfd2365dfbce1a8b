//! Tests of the Address Base Registry reader, with files in the registry's own column layouts.

use super::*;
use proptest::prelude::*;

/// mt_town as the 2025 正式版 publishes it (ASCII headers, every column of the 町字マスター).
const MT_TOWN: &str = "lg_code,machiaza_id,machiaza_type,pref,pref_kana,pref_roma,county,county_kana,county_roma,city,city_kana,city_roma,ward,ward_kana,ward_roma,oaza_cho,oaza_cho_kana,oaza_cho_roma,chome,chome_kana,chome_number,koaza,koaza_kana,koaza_roma,machiaza_dist,rsdt_addr_flg,rsdt_addr_mtd_code,oaza_cho_aka_flg,koaza_aka_code,oaza_cho_gsi_uncmn,koaza_gsi_uncmn,status_flg,wake_num_flg,efct_date,ablt_date,src_code,post_code,remarks\r
072125,0001001,2,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,本町,ホンマチ,Hommachi,一丁目,1チョウメ,1,,,,,0,,0,0,0,0,1,0,1947-04-17,,0,9750001,\r
072125,0001002,2,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,本町,ホンマチ,Hommachi,二丁目,2チョウメ,2,,,,,0,,0,0,0,0,1,0,1947-04-17,,0,975-0001,\r
072125,0007001,3,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,北原,キタハラ,Kitahara,,,,上ノ台,カミノダイ,Kaminodai,,0,,0,0,0,0,1,0,1947-04-17,,0,,\r
072125,0008000,1,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,旭町,アサヒマチ,Asahimachi,,,,,,,,0,,0,0,0,0,1,0,1947-04-17,2019-04-01,0,9750007,\r
072125,0009000,1,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,無点,ムテン,Muten,,,,,,,,0,,0,0,0,0,1,0,1947-04-17,,0,,\r
";

/// mt_town_pos for the same city and a neighbour (a prefecture's file covers more than one city).
const MT_TOWN_POS: &str = "lg_code,machiaza_id,rsdt_addr_flg,rep_lon,rep_lat,rep_srid\r
072125,0001001,0,140.948,37.6435,EPSG:6668\r
072125,0001002,0,140.956,37.636,EPSG:6668\r
072125,0007001,0,140.979,37.6455,EPSG:4612\r
072125,0008000,0,140.950,37.655,EPSG:6668\r
072095,0003001,0,140.919,37.797,EPSG:6668\r
";

/// The 2022 試験公開版 layout: Japanese headers (as in mt_town_all.csv and mt_town_pos_prefNN.csv).
const MT_TOWN_JA: &str = "全国地方公共団体コード,町字id,町字区分コード,都道府県名,都道府県名_カナ,都道府県名_英字,郡名,郡名_カナ,郡名_英字,市区町村名,市区町村名_カナ,市区町村名_英字,政令市区名,政令市区名_カナ,政令市区名_英字,大字・町名,大字・町名_カナ,大字・町名_英字,丁目名,丁目名_カナ,丁目名_数字,小字名,小字名_カナ,小字名_英字,住居表示フラグ,住居表示方式コード,大字・町名_通称フラグ,小字名_通称フラグ,大字・町名_電子国土基本図外字,小字名_電子国土基本図外字,状態フラグ,起番フラグ,効力発生日,廃止日,原典資料コード,郵便番号,備考
041017,0001001,2,宮城県,ミヤギケン,Miyagi,,,,仙台市,センダイシ,Sendai-shi,青葉区,アオバク,Aoba-ku,本町,ホンチョウ,Honcho,一丁目,１チョウメ,1,,,,1,1,0,0,0,0,0,1,1947-04-17,,0,9800014,
";

const MT_TOWN_POS_JA: &str = "全国地方公共団体コード,町字id,住居表示フラグ,代表点_経度,代表点_緯度,代表点_座標参照系,代表点_地図情報レベル,ポリゴン_ファイル名,ポリゴン_キーコード,ポリゴン_データフォーマット,ポリゴン_座標参照系,ポリゴン_地図情報レベル,位置参照情報_大字町丁目コード,位置参照情報_データ整備年度,国勢調査_境界_小地域（町丁・字等別）,国勢調査_境界_データ整備年度
041017,0001001,1,140.874,38.262,EPSG:6668,2500,,,,,,,,,
";

fn files<'a>(a: (&'a str, &'a str), b: (&'a str, &'a str)) -> [CsvFile<'a>; 2] {
    [CsvFile { name: a.0, text: a.1 }, CsvFile { name: b.0, text: b.1 }]
}

fn two(names: &str, points: &str) -> Result<Vec<Town>, LoadError> {
    from_files(&files(("mt_town_city072125.csv", names), ("mt_town_pos_city072125.csv", points)))
}

#[test]
fn joins_the_two_files_in_either_order() {
    let t = two(MT_TOWN, MT_TOWN_POS).unwrap();
    let ids: Vec<&str> = t.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["0721250001001", "0721250001002", "0721250007001", "0721250008000"], "無点 has no point");
    assert_eq!((t[0].name(), t[0].full_name()), ("本町一丁目".into(), "福島県南相馬市本町一丁目".into()));
    assert_eq!(t[1].postcode.as_deref(), Some("9750001"), "the hyphen is dropped");
    assert_eq!(
        (t[2].name(), t[2].postcode.clone(), t[2].at),
        ("北原上ノ台".into(), None, Point::new(140.979, 37.6455))
    );
    assert_eq!(t[3].abolished, Some(time::macros::date!(2019 - 04 - 01)));
    assert_eq!(t[0].effective, Some(time::macros::date!(1947 - 04 - 17)));
    let reversed = from_files(&files(("b.csv", MT_TOWN_POS), ("a.csv", MT_TOWN))).unwrap();
    assert_eq!(reversed, t);
    let ja = from_files(&files(("mt_town_pos_pref04.csv", MT_TOWN_POS_JA), ("mt_town_all.csv", MT_TOWN_JA))).unwrap();
    assert_eq!((ja[0].id.as_str(), ja[0].full_name().as_str()), ("0410170001001", "宮城県仙台市青葉区本町一丁目"));
    assert_eq!(ja[0].at, Point::new(140.874, 38.262));
}

#[test]
fn the_stored_form_reads_back() {
    let t = two(MT_TOWN, MT_TOWN_POS).unwrap();
    let stored = to_csv(&t);
    assert!(stored.starts_with(
        "lg_code,machiaza_id,pref,city,ward,oaza_cho,chome,koaza,post_code,efct_date,ablt_date,rep_lon,rep_lat\n"
    ));
    assert_eq!(parse(&stored).unwrap(), t);
    assert_eq!(from_files(&[CsvFile { name: "stored.csv", text: &stored }]).unwrap(), t, "a joined file alone loads");
}

#[test]
fn kenchos_earlier_joined_format_still_loads() {
    let old = "\u{feff}lg_code,machiaza_id,pref,city,ward,oaza_cho,chome,koaza,post_code,status_flg,rep_lon,rep_lat
072125,0001001,福島県,南相馬市,,本町,一丁目,,9750001,1,140.948,37.6435
072125,0009000,福島県,南相馬市,,旧町,,,,2,,
";
    let t = parse(old).unwrap();
    assert_eq!(t.len(), 1, "status_flg 2 marked a row to skip in that format");
}

/// The error of a file, its line and what is wrong there.
fn row(file: &str, line: usize, problem: Finding) -> LoadError {
    LoadError::Row { line, problem }.in_file(file)
}

#[test]
fn the_wrong_set_of_files_is_named() {
    let err = |f: &[CsvFile]| from_files(f).unwrap_err();
    let one = |name, text| [CsvFile { name, text }];
    fn files_err(code: &'static str, name: &'static str, value: &str) -> LoadError {
        LoadError::Files(Finding::new(code, "").with(name, value))
    }
    assert_eq!(
        err(&one("mt_town_city072125.csv", MT_TOWN)),
        files_err("abr_points_missing", "file", "mt_town_city072125.csv")
    );
    assert_eq!(
        err(&one("mt_town_pos_city072125.csv", MT_TOWN_POS)),
        files_err("abr_names_missing", "file", "mt_town_pos_city072125.csv")
    );
    assert_eq!(
        err(&files(("a.csv", MT_TOWN), ("b.csv", MT_TOWN))),
        files_err("abr_names_twice", "files", "a.csv, b.csv")
    );
    assert_eq!(
        err(&one("sites.csv", "NO,施設・場所名,緯度\n1,x,37\n")),
        files_err("abr_neither", "header", "NO, 施設・場所名, 緯度").in_file("sites.csv")
    );
    let elsewhere = MT_TOWN_POS.replace("072125,", "072133,");
    let none = Finding::new("abr_no_common_town", "")
        .with("rows", 5)
        .with("names", "mt_town_city072125.csv")
        .with("points", "mt_town_pos_city072125.csv");
    assert_eq!(two(MT_TOWN, &elsewhere), Err(LoadError::Files(none)));
    assert_eq!(from_files(&[]).unwrap_err(), LoadError::Empty);
}

#[test]
fn bad_rows_name_the_file_the_line_and_the_value() {
    let names_err = |text: &str| two(text, MT_TOWN_POS).unwrap_err();
    let points_err = |text: &str| two(MT_TOWN, text).unwrap_err();
    let (names, points) = ("mt_town_city072125.csv", "mt_town_pos_city072125.csv");
    let numbers = Finding::new("abr_point_not_numbers", "").with("lon", "east").with("lat", "37.636");
    assert_eq!(points_err(&MT_TOWN_POS.replace("140.956,37.636", "east,37.636")), row(points, 3, numbers));
    let srid =
        Finding::new("abr_srid", "").with("systems", "EPSG:6668, EPSG:4612, EPSG:4326").with("found", "EPSG:6677");
    assert_eq!(points_err(&MT_TOWN_POS.replace("EPSG:4612", "EPSG:6677")), row(points, 4, srid));
    let date =
        Finding::new("abr_date", "").with("column", "ablt_date").with("name", "廃止日").with("found", "2019/04/01");
    assert_eq!(names_err(&MT_TOWN.replace(",1947-04-17,2019-04-01,", ",1947-04-17,2019/04/01,")), row(names, 5, date));
    let check = Finding::new("abr_lg_code_check_digit", "").with("found", "072126");
    assert_eq!(names_err(&MT_TOWN.replacen("072125,0001002", "072126,0001002", 1)), row(names, 3, check));
    let id = Finding::new("abr_machiaza_id", "").with("found", "102");
    assert_eq!(names_err(&MT_TOWN.replacen("0001002", "102", 1)), row(names, 3, id));
    let post = Finding::new("abr_postcode", "").with("found", "976-001");
    assert_eq!(names_err(&MT_TOWN.replace("975-0001", "976-001")), row(names, 3, post));
    let no_city = MT_TOWN.replacen(",南相馬市,ミナミソウマシ", ",,ミナミソウマシ", 1);
    assert_eq!(names_err(&no_city), row(names, 2, Finding::new("abr_no_locality", "")));
    let no_lat = MT_TOWN_POS.replace("rep_lat", "latitude");
    match points_err(&no_lat) {
        LoadError::InFile { file, error } => match *error {
            LoadError::MissingColumn { expected, found } => {
                assert_eq!((file.as_str(), expected.as_str()), (points, "rep_lat"));
                assert_eq!(found[..2], ["lg_code", "machiaza_id"]);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // Blank lines and quoted line breaks are counted as the file has them.
    let post = |found| Finding::new("abr_postcode", "").with("found", found);
    let gap = MT_TOWN.replacen("\r\n072125,0001002", "\r\n\r\n\r\n072125,0001002", 1);
    assert_eq!(names_err(&gap.replace("975-0001", "x")), row(names, 5, post("x")));
    let quoted = MT_TOWN.replacen(",本町,ホンマチ,", ",\"本\n町\",ホンマチ,", 1);
    assert_eq!(names_err(&quoted.replace("975-0001", "x")), row(names, 4, post("x")));
    assert_eq!(row(names, 4, post("x")).to_string(), "mt_town_city072125.csv: line 4: abr_postcode (found = x)");
}

#[test]
fn history_rows_share_an_id_but_two_in_force_do_not() {
    let replaced = format!("{MT_TOWN}072125,0008000,1,福島県,フクシマケン,Fukushima,,,,南相馬市,ミナミソウマシ,Minamisoma-shi,,,,旭町,アサヒマチ,Asahimachi,,,,,,,,0,,0,0,0,0,1,0,2019-04-01,,0,9750007,\r\n");
    let t = two(&replaced, MT_TOWN_POS).unwrap();
    let asahi: Vec<&Town> = t.iter().filter(|t| t.id == "0721250008000").collect();
    assert_eq!(asahi.len(), 1);
    assert_eq!(
        (asahi[0].effective, asahi[0].abolished),
        (Some(time::macros::date!(2019 - 04 - 01)), None),
        "the one in force is kept"
    );
    let twice = format!("{MT_TOWN}{}\r\n", MT_TOWN.lines().nth(1).unwrap_or_default());
    let again = Finding::new("abr_town_twice", "").with("town", "0721250001001").with("first", 2);
    assert_eq!(two(&twice, MT_TOWN_POS), Err(row("mt_town_city072125.csv", 7, again)));
}

proptest! {
    // Whatever the text, the readers answer and never panic.
    #[test]
    fn readers_are_total(s in ".{0,200}", t in ".{0,200}") {
        let _ = parse(&s);
        let _ = from_files(&files(("a", &s), ("b", &t)));
        let _ = two(&format!("{}\n{s}", MT_TOWN.lines().next().unwrap_or_default()), MT_TOWN_POS);
        let _ = two(MT_TOWN, &format!("{}\n{t}", MT_TOWN_POS.lines().next().unwrap_or_default()));
    }

    // Towns written in the stored form read back unchanged, whatever their names, dates and points.
    #[test]
    fn stored_form_round_trips(rows in proptest::collection::vec(
        ("[ぁ-ん一-龠a-z ,\"]{1,8}", "[ぁ-ん]{0,4}", proptest::option::of(0u32..30_000), proptest::option::of(0u32..30_000), -180.0f64..180.0, -90.0f64..90.0),
        1..8,
    )) {
        let towns: Vec<Town> = rows.iter().enumerate().map(|(i, (oaza, chome, eff, abl, lon, lat))| {
            let day = |n: &u32| time::macros::date!(1900 - 01 - 01) + time::Duration::days(i64::from(*n));
            Town {
                id: format!("072125{:07}", i),
                lg_code: "072125".into(),
                pref: "福島県".into(),
                city: "南相馬市".into(),
                ward: String::new(),
                oaza: oaza.trim().to_string(),
                chome: chome.clone(),
                koaza: "字".into(),
                postcode: (i % 2 == 0).then(|| "9750001".to_string()),
                at: Point::new(*lon, *lat),
                effective: eff.as_ref().map(day),
                abolished: abl.as_ref().map(day),
            }
        }).collect();
        prop_assert_eq!(parse(&to_csv(&towns)).unwrap(), towns);
    }
}
