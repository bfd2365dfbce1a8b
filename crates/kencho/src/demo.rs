//! The demo: the prefecture and two municipalities, their procedure catalogue, a resident
//! and staff accounts. Loading it twice changes nothing.

use kencho_core::procedure::ProcedureDef;

use crate::accounts;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::procedures;

pub const TENANTS: [(&str, &str, &str, &str); 3] = [
    ("fukushima-pref", "福島県", "Fukushima Prefecture", "PREF"),
    ("aizuwakamatsu", "会津若松市", "Aizuwakamatsu City", "AIZU"),
    ("minamisoma", "南相馬市", "Minamisoma City", "MINA"),
];

pub const PROCEDURES: [(&str, &str); 8] = [
    ("aizuwakamatsu-juminhyo-shomei.toml", include_str!("../../../demo/procedures/aizuwakamatsu-juminhyo-shomei.toml")),
    (
        "aizuwakamatsu-hojin-setsuritsu.toml",
        include_str!("../../../demo/procedures/aizuwakamatsu-hojin-setsuritsu.toml"),
    ),
    ("fukushima-pref-kenei-jutaku.toml", include_str!("../../../demo/procedures/fukushima-pref-kenei-jutaku.toml")),
    ("fukushima-pref-wana-kyoka.toml", include_str!("../../../demo/procedures/fukushima-pref-wana-kyoka.toml")),
    ("minamisoma-kosodate-hojo.toml", include_str!("../../../demo/procedures/minamisoma-kosodate-hojo.toml")),
    ("minamisoma-risai-shomei.toml", include_str!("../../../demo/procedures/minamisoma-risai-shomei.toml")),
    ("minamisoma-inu-toroku.toml", include_str!("../../../demo/procedures/minamisoma-inu-toroku.toml")),
    (
        "minamisoma-inu-kansatsu-saikofu.toml",
        include_str!("../../../demo/procedures/minamisoma-inu-kansatsu-saikofu.toml"),
    ),
];

/// 全国地方公共団体コード of the demo tenants.
pub const LG_CODES: [(&str, &str); 3] =
    [("fukushima-pref", "070009"), ("aizuwakamatsu", "072028"), ("minamisoma", "072125")];

/// Synthetic マイ避難 layers for 南相馬市 (made-up places; see demo/evacuation/README.md).
pub const EVACUATION_LAYERS: [(&str, &[(&str, &str)]); 5] = [
    ("flood", &[("flood-a31a.sample.geojson", include_str!("../../../demo/evacuation/flood-a31a.sample.geojson"))]),
    (
        "landslide",
        &[("landslide-a33.sample.geojson", include_str!("../../../demo/evacuation/landslide-a33.sample.geojson"))],
    ),
    (
        "house_collapse",
        &[("house-collapse.sample.geojson", include_str!("../../../demo/evacuation/house-collapse.sample.geojson"))],
    ),
    ("sites", &[("sites.sample.csv", include_str!("../../../demo/evacuation/sites.sample.csv"))]),
    (
        "towns",
        &[
            ("mt_town.sample.csv", include_str!("../../../demo/evacuation/mt_town.sample.csv")),
            ("mt_town_pos.sample.csv", include_str!("../../../demo/evacuation/mt_town_pos.sample.csv")),
        ],
    ),
];

pub const RESIDENT_EMAIL: &str = "taro@example.jp";
pub const PASSWORD: &str = "kencho-demo-2026";

/// Complete answers for the demo's 犬の登録申請 (a procedure without attachments), the `i`th
/// dog: the benchmark and the tests submit these.
pub fn inu_toroku_answers(i: u64) -> serde_json::Value {
    serde_json::json!({
        "owner_name": {"family": "福島", "given": "太郎", "family_kana": "ふくしま", "given_kana": "たろう"},
        "owner_address": {"postal_code": "975-8686", "prefecture": "福島県", "city": "南相馬市", "street": "原町区本町二丁目27"},
        "phone": "0244-22-2111",
        "dog_name": format!("ポチ{i}"),
        "breed": "柴犬",
        "sex": "male",
        "kept_since": "2026-10-01"
    })
}

/// Staff: (tenant, division code, division name, e-mail, name, role).
pub const STAFF: [accounts::demo::DemoStaff; 23] = [
    ("aizuwakamatsu", "shimin", "市民課", "tanto@aizuwakamatsu.example.jp", "会津 花子", "tanto"),
    ("aizuwakamatsu", "shimin", "市民課", "kakaricho@aizuwakamatsu.example.jp", "鶴ヶ城 一郎", "kakaricho"),
    ("aizuwakamatsu", "shimin", "市民課", "kacho@aizuwakamatsu.example.jp", "白虎 次郎", "kacho"),
    ("aizuwakamatsu", "joho", "情報政策課", "admin@aizuwakamatsu.example.jp", "磐梯 三郎", "admin"),
    (
        "fukushima-pref",
        "shizen-hogo",
        "生活環境部自然保護課",
        "kakaricho@pref.fukushima.example.jp",
        "阿武隈 四郎",
        "kakaricho",
    ),
    ("fukushima-pref", "digital", "デジタル変革課", "admin@pref.fukushima.example.jp", "吾妻 五子", "admin"),
    ("minamisoma", "kodomo-katei", "こども家庭課", "kakaricho@minamisoma.example.jp", "相馬 六郎", "kakaricho"),
    ("minamisoma", "joho", "情報政策課", "admin@minamisoma.example.jp", "野馬 七海", "admin"),
    ("minamisoma", "seikatsu-kankyo", "生活環境課", "kacho@minamisoma.example.jp", "真野 八重", "kacho"),
    // 南相馬市 staff for the 電子決裁 demo (the organisation is demo/approval/minamisoma-org.toml).
    ("minamisoma", "minamisoma", "南相馬市", "shicho@minamisoma.example.jp", "原町 一", "admin"),
    ("minamisoma", "minamisoma", "南相馬市", "fukushicho@minamisoma.example.jp", "鹿島 二葉", "kacho"),
    ("minamisoma", "shimin-seikatsu-bu", "市民生活部", "shimin-bucho@minamisoma.example.jp", "小高 三郎", "kacho"),
    ("minamisoma", "seikatsu-kankyo", "生活環境課", "kankyo-hosa@minamisoma.example.jp", "太田 四季", "kacho"),
    ("minamisoma", "seikatsu-kankyo", "生活環境課", "kankyo-kakaricho@minamisoma.example.jp", "石神 五郎", "kakaricho"),
    ("minamisoma", "seikatsu-kankyo", "生活環境課", "kankyo-tanto@minamisoma.example.jp", "高平 六花", "tanto"),
    ("minamisoma", "kodomo-mirai-bu", "こども未来部", "kodomo-bucho@minamisoma.example.jp", "大甕 七生", "kacho"),
    ("minamisoma", "kodomo-katei", "こども家庭課", "kodomo-kacho@minamisoma.example.jp", "萱浜 八雲", "kacho"),
    ("minamisoma", "kodomo-katei", "こども家庭課", "kodomo-tanto@minamisoma.example.jp", "北泉 九", "tanto"),
    ("minamisoma", "somu-bu", "総務部", "somu-bucho@minamisoma.example.jp", "雫 十和", "kacho"),
    ("minamisoma", "zaisei", "財政課", "zaisei-kacho@minamisoma.example.jp", "真野 十一", "kacho"),
    ("minamisoma", "somu", "総務課", "somu-kacho@minamisoma.example.jp", "小池 十二", "kacho"),
    // 会計課: the 会計管理者 (課長 級) and an 出納員, who keep cash and review refund orders.
    ("minamisoma", "kaikei", "会計課", "kaikei-kanrisha@minamisoma.example.jp", "金沢 十二", "kacho"),
    ("minamisoma", "kaikei", "会計課", "suitoin@minamisoma.example.jp", "江井 十三", "kakaricho"),
];

/// The demo organisation, 専決 table and settings of 南相馬市 (made-up people and posts), in
/// the order they must load (the settings name divisions of the organisation).
pub const APPROVAL_SETUP: [(&str, &str); 3] = [
    ("org", include_str!("../../../demo/approval/minamisoma-org.toml")),
    ("rules", include_str!("../../../demo/approval/minamisoma-rules.toml")),
    ("settings", include_str!("../../../demo/approval/minamisoma-settings.toml")),
];

pub struct StaffLogin {
    pub email: String,
    pub role: String,
    pub tenant: String,
    pub totp_secret: String,
}

pub async fn load(db: &Db) -> Result<Vec<StaffLogin>> {
    for (code, name, name_en, prefix) in TENANTS {
        crate::tenants::create(db, code, name, name_en, prefix).await?;
    }
    for (code, lg) in LG_CODES {
        crate::tenants::set_lg_code(db, code, lg).await?;
    }
    let mina = crate::tenants::id_of(db, "minamisoma").await?.ok_or(AppError::NotFound)?;
    load_layers(db, mina).await?;
    load_iot(db, mina).await?;
    bind_demo_applications(db, mina).await?;
    for (file, text) in PROCEDURES {
        let def = ProcedureDef::parse(file, text)?;
        procedures::import(db, &def, "system:demo", None).await?;
    }
    load_accounts(db).await?;
    load_approval(db, mina).await?;
    staff_logins(db).await
}

/// 南相馬市's evacuation layers, each kind loaded once.
async fn load_layers(db: &Db, mina: i64) -> Result<()> {
    let loaded = crate::evacuation::layers::list(db, mina).await?;
    for (kind, files) in EVACUATION_LAYERS {
        let kind = crate::evacuation::layers::LayerKind::parse(kind).ok_or(AppError::NotFound)?;
        if !loaded.iter().any(|l| l.kind == kind) {
            let files = files.iter().map(|(name, text)| crate::evacuation::upload::Upload::new(*name, *text)).collect();
            crate::evacuation::layers::load(db, mina, kind, files, "system:demo").await?;
        }
    }
    Ok(())
}

/// The demo resident and staff (each staff member with a sealed TOTP secret), and the sandbox
/// as every tenant's payment agent, in one transaction.
async fn load_accounts(db: &Db) -> Result<()> {
    let hash = accounts::hash_password(PASSWORD.to_string()).await?;
    let now = now_ms();
    let keys = db.keys();
    db.transact(move |conn| {
        Box::pin(async move {
            accounts::demo::seed(conn, &keys, (&hash, now), (RESIDENT_EMAIL, "福島 太郎"), &STAFF).await?;
            // The sandbox is the demo's 指定納付受託者 (a made-up 告示), so the demo takes payments.
            for (code, ..) in TENANTS {
                let tenant_id = crate::tenants::id_in(conn, code).await?.ok_or(AppError::NotFound)?;
                crate::payments::agents::designate_demo_sandbox(conn, tenant_id).await?;
            }
            Ok(())
        })
    })
    .await
}

/// The demo staff's sign-ins for the printout, with their TOTP secrets opened.
async fn staff_logins(db: &Db) -> Result<Vec<StaffLogin>> {
    let mut out = Vec::new();
    for (tenant, _, _, email, _, role) in STAFF {
        out.push(StaffLogin {
            email: email.into(),
            role: role.into(),
            tenant: tenant.into(),
            totp_secret: accounts::demo::totp_secret(db, email).await?,
        });
    }
    Ok(out)
}

/// Loads the demo organisation and 専決 table once, as 南相馬市's administrator.
async fn load_approval(db: &Db, tenant: i64) -> Result<()> {
    if crate::approval::setup::is_loaded(db, tenant).await? {
        return Ok(());
    }
    let admin = accounts::staff_by_email(db, "admin@minamisoma.example.jp").await?.ok_or(AppError::NotFound)?;
    let cache = crate::approval::setup::SetupCache::default();
    for (kind, text) in APPROVAL_SETUP {
        crate::approval::setup::load(db, &cache, &admin, kind, text).await?;
    }
    Ok(())
}

/// The network-server applications whose MQTT uplinks are 南相馬市's: a ChirpStack application,
/// a The Things Stack application and the plain format's `kencho/minamisoma/up`.
pub const DEMO_APPLICATIONS: [(&str, &str); 3] =
    [("chirpstack", "0c6fe2cb-0000-4000-8000-000000000001"), ("tts", "kencho-traps@ttn"), ("plain", "minamisoma")];

async fn bind_demo_applications(db: &Db, tenant: i64) -> Result<()> {
    use crate::iot::applications::{self, Binding};
    for (format, application) in DEMO_APPLICATIONS {
        let b = Binding { id: 0, format: format.into(), application: application.into() };
        match applications::bind(db, tenant, &b, "demo").await {
            Ok(_) | Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The demo's 捕獲許可 (鳥獣保護管理法 第9条) for this fiscal year, イノシシ and ニホンジカ with
/// くくりわな and 箱わな; the three demo traps work under it as くくりわな.
async fn demo_permit(db: &Db, tenant: i64, traps: &[i64]) -> Result<()> {
    use crate::iot::permits::{self, NewPermit};
    let today = crate::clock::date_at(crate::db::now_ms());
    let year = if (today.month() as u8) < 4 { today.year() - 1 } else { today.year() };
    let p = NewPermit {
        number: format!("南相馬市指令第{year}-101号"),
        holder: "猟友会 一郎".into(),
        holder_email: "ichiro@example.jp".into(),
        species: vec!["inoshishi".into(), "nihonjika".into()],
        valid_from: format!("{year}-04-01"),
        valid_to: format!("{}-03-31", year + 1),
        area: "南相馬市全域".into(),
        trap_types: vec!["kukuri".into(), "hako".into()],
    };
    let id = permits::add(db, tenant, &p, "system:demo").await?;
    for t in traps {
        permits::assign_device(db, tenant, id, *t, "kukuri", "system:demo").await?;
    }
    Ok(())
}

/// Demo IoT devices for 南相馬市: three traps with their hunters, and one watched person with a
/// motion sensor and a call button (made-up DevEUIs in the 70B3D5FFFE00000x range).
async fn load_iot(db: &Db, tenant: i64) -> Result<()> {
    // Loaded once: a demo whose devices are in service already keeps them.
    if !crate::iot::registry::list_devices(db, tenant).await?.is_empty() {
        return Ok(());
    }
    let traps = demo_traps(db, tenant).await?;
    demo_permit(db, tenant, &traps).await?;
    demo_watch(db, tenant).await
}

/// The three demo traps and their hunters. Returns the traps' ids.
async fn demo_traps(db: &Db, tenant: i64) -> Result<Vec<i64>> {
    use crate::iot::registry::{self, NewContact, NewDevice};
    let hunter = |n: &str, e: &str| NewContact { name: n.into(), email: e.into(), role: "hunter".into(), hours: None };
    let trap = |eui: &str, label: &str, area: &str, lat: f64, lon: f64, hunters: Vec<NewContact>| NewDevice {
        dev_eui: eui.into(),
        kind: "trap".into(),
        label: label.into(),
        area: area.into(),
        lat: Some(lat),
        lon: Some(lon),
        heartbeat_s: Some(3600),
        person_id: None,
        hunters,
    };
    registry::add_devices(
        db,
        tenant,
        vec![
            trap(
                "70B3D5FFFE000001",
                "くくりわな 1号",
                "鹿島区",
                37.7050,
                140.9410,
                vec![hunter("猟友会 一郎", "ichiro@example.jp")],
            ),
            trap(
                "70B3D5FFFE000002",
                "箱わな 2号",
                "原町区",
                37.6420,
                140.9160,
                vec![hunter("猟友会 二郎", "jiro@example.jp")],
            ),
            trap(
                "70B3D5FFFE000003",
                "くくりわな 3号",
                "小高区",
                37.5630,
                140.9560,
                vec![hunter("猟友会 一郎", "ichiro@example.jp"), hunter("猟友会 三郎", "saburo@example.jp")],
            ),
        ],
        "system:demo",
    )
    .await
}

/// The demo watched person (見守り), her contacts, and her motion sensor and call button.
async fn demo_watch(db: &Db, tenant: i64) -> Result<()> {
    use crate::iot::registry::{self, NewContact, NewDevice, NewPerson};
    let person = registry::add_person(
        db,
        tenant,
        NewPerson {
            name: "小高 ハル".into(),
            area: "小高区".into(),
            inactivity_hours: Some(12),
            quiet_hours: Some("23:00-05:00".into()),
            escalation_wait_min: Some(30),
            consent: "2026-11-01 本人と長男が書面で同意（デモ）".into(),
            contacts: vec![
                NewContact {
                    name: "長男".into(), email: "son@example.jp".into(), role: "family".into(), hours: None
                },
                NewContact {
                    name: "民生委員 相馬".into(),
                    email: "minsei@example.jp".into(),
                    role: "minsei".into(),
                    hours: Some("08:00-20:00".into()),
                },
                NewContact {
                    name: "南相馬市 長寿福祉課".into(),
                    email: "choju@minamisoma.example.jp".into(),
                    role: "municipality".into(),
                    hours: Some("08:30-17:15".into()),
                },
            ],
        },
        "system:demo",
    )
    .await?;
    let sensor = |eui: &str, kind: &str, label: &str| NewDevice {
        dev_eui: eui.into(),
        kind: kind.into(),
        label: label.into(),
        area: "小高区".into(),
        lat: None,
        lon: None,
        heartbeat_s: Some(3600),
        person_id: Some(person),
        hunters: vec![],
    };
    registry::add_devices(
        db,
        tenant,
        vec![
            sensor("70B3D5FFFE000011", "motion", "居間 人感センサー"),
            sensor("70B3D5FFFE000012", "button", "呼出ボタン"),
        ],
        "system:demo",
    )
    .await?;
    Ok(())
}
