//! Capture permits (捕獲許可) and capture records for wildlife traps, without I/O.
//!
//! The rules come from 鳥獣の保護及び管理並びに狩猟の適正化に関する法律 (鳥獣保護管理法) and its
//! 施行規則:
//! - 法第9条第1項: capturing a wild bird or mammal needs a permit; the permit names the species,
//!   the period, the area and the method (法定猟法: 施行規則第2条第3号 lists the traps:
//!   くくりわな, はこわな, はこおとし, 囲いわな).
//! - 法第9条第13項 (結果の報告): the holder reports the captures of a permit by the day thirty
//!   days counted from the day the permit period ends, that day included ([`report_due`]).
//! - 法第18条: a captured animal may not be left where it was taken, so every capture records
//!   what was done with it ([`Disposition`]).
//! - 錯誤捕獲 (an animal the permit does not cover, e.g. ツキノワグマ in a イノシシ trap):
//!   環境省「鳥獣の保護及び管理を図るための事業を実施するための基本的な指針」 asks for its release
//!   (放獣) or the authority's instruction; [`is_bycatch`] decides it, and the record must say
//!   what was done ([`BycatchAction`]).

use std::collections::BTreeMap;
use std::fmt;

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

/// The report is due 「その日から起算して三十日を経過する日」 (法第9条第13項): the last day of the
/// permit period is day 1 of the thirty, so the due date is 29 days after it.
pub const REPORT_DAYS: i64 = 30;

/// Longest free text kept (names, places, "other" species).
pub const MAX_TEXT: usize = 100;

/// Declares a closed list of kinds with their stored keys.
macro_rules! kinds {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $k:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The stored key (also the locale key's last part).
            pub fn key(self) -> &'static str {
                match self { $($name::$v => $k),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.key() == s.trim())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.key())
            }
        }
    };
}

kinds! {
    /// わな of 施行規則第2条第3号.
    TrapType {
        Kukuri = "kukuri",
        Hako = "hako",
        Hakootoshi = "hakootoshi",
        Kakoi = "kakoi",
    }
}

kinds! {
    /// The species a trap in this region catches, target or not; anything else is `Other`
    /// with its name in [`Species::name`].
    SpeciesKind {
        Inoshishi = "inoshishi",
        Nihonjika = "nihonjika",
        Nihonzaru = "nihonzaru",
        Tsukinowaguma = "tsukinowaguma",
        Hakubishin = "hakubishin",
        Araiguma = "araiguma",
        Tanuki = "tanuki",
        Other = "other",
    }
}

kinds! {
    /// 性別 as the report form asks it.
    Sex { Male = "male", Female = "female", Unknown = "unknown" }
}

kinds! {
    /// 成獣 / 幼獣.
    Age { Adult = "adult", Juvenile = "juvenile", Unknown = "unknown" }
}

kinds! {
    /// What was done with the animal (法第18条: it may not be left where it was taken).
    /// Killed animals are buried, burnt, taken to a 減容化施設 or a meat-processing plant, or
    /// used by the hunter; a released animal is 放獣.
    Disposition {
        Buried = "buried",
        Incinerated = "incinerated",
        ReductionFacility = "reduction_facility",
        MeatFacility = "meat_facility",
        OwnUse = "own_use",
        Released = "released",
        Other = "other",
    }
}

kinds! {
    /// What the hunter did about a 錯誤捕獲.
    BycatchAction {
        /// 放獣: released on the spot.
        Released = "released",
        /// 鳥獣担当に連絡して指示を待つ.
        AwaitingInstruction = "awaiting_instruction",
        Other = "other",
    }
}

/// What a fired trap held, as its record stores it (`iot_captures.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureOutcome {
    /// Nothing: it fired empty.
    Empty,
    /// An animal its permit covers.
    Caught,
    /// 錯誤捕獲: an animal its permit does not cover.
    Bycatch,
}

crate::names!(CaptureOutcome, "capture outcome" { Empty = "empty", Caught = "caught", Bycatch = "bycatch" });

impl CaptureOutcome {
    /// The outcome of an animal its permit's rules accepted.
    pub fn of(verdict: Verdict) -> CaptureOutcome {
        if verdict.bycatch {
            CaptureOutcome::Bycatch
        } else {
            CaptureOutcome::Caught
        }
    }
}

/// A species: a known kind, or `Other` with a name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Species {
    pub kind: SpeciesKind,
    /// The name for `Other`; empty for the known kinds.
    pub name: String,
}

impl SpeciesKind {
    /// The Japanese name (what hunters type), for reading an entry; display names come from
    /// the locales.
    pub fn japanese(self) -> &'static str {
        match self {
            SpeciesKind::Inoshishi => "イノシシ",
            SpeciesKind::Nihonjika => "ニホンジカ",
            SpeciesKind::Nihonzaru => "ニホンザル",
            SpeciesKind::Tsukinowaguma => "ツキノワグマ",
            SpeciesKind::Hakubishin => "ハクビシン",
            SpeciesKind::Araiguma => "アライグマ",
            SpeciesKind::Tanuki => "タヌキ",
            SpeciesKind::Other => "その他",
        }
    }

    /// A key or a Japanese name.
    pub fn read(s: &str) -> Option<SpeciesKind> {
        let s = s.trim();
        SpeciesKind::parse(s).or_else(|| SpeciesKind::ALL.iter().copied().find(|k| k.japanese() == s))
    }
}

impl Species {
    pub fn known(kind: SpeciesKind) -> Species {
        Species { kind, name: String::new() }
    }

    /// Reads a kind key and, for `other`, its name (trimmed, 1–100 characters).
    pub fn parse(kind: &str, name: &str) -> Result<Species, CaptureError> {
        let kind = SpeciesKind::read(kind).ok_or(CaptureError::UnknownSpecies)?;
        if kind != SpeciesKind::Other {
            return Ok(Species::known(kind));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_TEXT {
            return Err(CaptureError::OtherSpeciesName);
        }
        Ok(Species { kind, name: name.to_string() })
    }

    /// The name to show: the Japanese name, or the name given for `Other`.
    pub fn label(&self) -> String {
        if self.kind == SpeciesKind::Other {
            self.name.clone()
        } else {
            self.kind.japanese().to_string()
        }
    }

    /// One stored string: the key, or `other:名前`.
    pub fn stored(&self) -> String {
        if self.kind == SpeciesKind::Other {
            format!("other:{}", self.name)
        } else {
            self.kind.key().to_string()
        }
    }

    pub fn from_stored(s: &str) -> Option<Species> {
        match s.strip_prefix("other:") {
            Some(name) => Some(Species { kind: SpeciesKind::Other, name: name.to_string() }),
            None => SpeciesKind::parse(s).filter(|k| *k != SpeciesKind::Other).map(Species::known),
        }
    }
}

/// Why a permit or a capture record is refused; each has a stable code (a locale key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    #[error("the permit number is empty or too long")]
    PermitNumber,
    #[error("the holder's name is empty or too long")]
    HolderName,
    #[error("the permit names no species")]
    NoSpecies,
    #[error("the permit names no trap type")]
    NoTrapType,
    #[error("the permit period is not a pair of dates with the start first")]
    PermitPeriod,
    #[error("the area is empty or too long")]
    PermitArea,
    #[error("not a species of the list")]
    UnknownSpecies,
    #[error("an other species needs its name")]
    OtherSpeciesName,
    #[error("not a trap type of the list")]
    UnknownTrapType,
    #[error("the trap type is not allowed by the permit")]
    TrapTypeNotPermitted,
    #[error("choose sex, age and what was done with the animal")]
    Details,
    #[error("the capture date and time is not a date and time")]
    CaptureTime,
    #[error("the capture time is in the future")]
    CaptureInFuture,
    #[error("the capture time is before the trap fired")]
    CaptureBeforeFiring,
    #[error("the capture time is outside the permit period")]
    CaptureOutsidePermit,
    #[error("a capture of an animal the permit does not cover needs the action taken")]
    BycatchActionMissing,
    #[error("the place is too long or its coordinates are not in range")]
    Place,
    #[error("the trap has no capture permit")]
    NoPermit,
}

impl CaptureError {
    /// Stable code (`error.<code>` in the locales).
    pub fn code(self) -> &'static str {
        use CaptureError::*;
        match self {
            PermitNumber => "permit_number",
            HolderName => "permit_holder",
            NoSpecies => "permit_no_species",
            NoTrapType => "permit_no_trap_type",
            PermitPeriod => "permit_period",
            PermitArea => "permit_area",
            UnknownSpecies => "capture_species",
            OtherSpeciesName => "capture_other_species",
            UnknownTrapType => "capture_trap_type",
            TrapTypeNotPermitted => "capture_trap_type_not_permitted",
            Details => "capture_details",
            CaptureTime => "capture_time",
            CaptureInFuture => "capture_in_future",
            CaptureBeforeFiring => "capture_before_firing",
            CaptureOutsidePermit => "capture_outside_permit",
            BycatchActionMissing => "capture_bycatch_action",
            Place => "capture_place",
            NoPermit => "capture_no_permit",
        }
    }

    pub const ALL: [CaptureError; 18] = [
        CaptureError::PermitNumber,
        CaptureError::HolderName,
        CaptureError::NoSpecies,
        CaptureError::NoTrapType,
        CaptureError::PermitPeriod,
        CaptureError::PermitArea,
        CaptureError::UnknownSpecies,
        CaptureError::OtherSpeciesName,
        CaptureError::UnknownTrapType,
        CaptureError::TrapTypeNotPermitted,
        CaptureError::Details,
        CaptureError::CaptureTime,
        CaptureError::CaptureInFuture,
        CaptureError::CaptureBeforeFiring,
        CaptureError::CaptureOutsidePermit,
        CaptureError::BycatchActionMissing,
        CaptureError::Place,
        CaptureError::NoPermit,
    ];
}

/// A 捕獲許可 (法第9条第1項) as the office registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// 許可番号.
    pub number: String,
    /// 許可を受けた者 (or the 従事者 named on the 従事者証).
    pub holder: String,
    pub species: Vec<Species>,
    /// First and last day of the period, inclusive (JST calendar days).
    pub from: Date,
    pub to: Date,
    pub area: String,
    pub trap_types: Vec<TrapType>,
}

fn text_ok(s: &str) -> bool {
    let n = s.chars().count();
    n > 0 && n <= MAX_TEXT && !s.chars().any(char::is_control)
}

impl Permit {
    /// Checks a permit as entered; names the first problem.
    pub fn validate(&self) -> Result<(), CaptureError> {
        if !text_ok(&self.number) || self.number.chars().count() > 40 {
            return Err(CaptureError::PermitNumber);
        }
        if !text_ok(&self.holder) {
            return Err(CaptureError::HolderName);
        }
        if self.species.is_empty() {
            return Err(CaptureError::NoSpecies);
        }
        if self.trap_types.is_empty() {
            return Err(CaptureError::NoTrapType);
        }
        // A permit longer than a few years is a typing mistake, not a permit.
        if self.to < self.from || (self.to - self.from).whole_days() > 3 * 366 {
            return Err(CaptureError::PermitPeriod);
        }
        if !text_ok(&self.area) {
            return Err(CaptureError::PermitArea);
        }
        Ok(())
    }

    /// The period as Unix milliseconds: [start of `from`, end of `to`) in JST.
    pub fn period_ms(&self) -> (i64, i64) {
        (jst_midnight_ms(self.from), jst_midnight_ms(self.to) + 86_400_000)
    }

    pub fn covers(&self, s: &Species) -> bool {
        self.species.iter().any(|p| p == s)
    }
}

/// 錯誤捕獲: an animal of a species the permit does not name.
pub fn is_bycatch(permit: &Permit, captured: &Species) -> bool {
    !permit.covers(captured)
}

/// The date by which the result of a permit is reported: the 30th day counted from its last day
/// (that day included, as 「起算して」 says).
pub fn report_due(to: Date) -> Date {
    to.saturating_add(Duration::days(REPORT_DAYS - 1))
}

/// Whether the report is late on `today` (JST) when it has not been made.
pub fn report_overdue(to: Date, today: Date, reported: bool) -> bool {
    !reported && today > report_due(to)
}

/// What the recorder states about an animal taken from a trap.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureInput {
    /// When the animal was taken, as stated (not when it was typed).
    pub captured_at_ms: i64,
    pub species: Species,
    pub trap_type: TrapType,
    pub sex: Sex,
    pub age: Age,
    pub disposition: Disposition,
    pub bycatch_action: Option<BycatchAction>,
}

/// What the rules make of an acceptable record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub bycatch: bool,
}

/// Checks a capture against its permit: the stated time is not in the future, not before the
/// trap fired and inside the permit period; the trap type is one the permit allows; a
/// 錯誤捕獲 says what was done about it.
pub fn check_capture(
    permit: &Permit,
    c: &CaptureInput,
    fired_at_ms: i64,
    now_ms: i64,
) -> Result<Verdict, CaptureError> {
    // A minute's grace: the recorder's clock and ours differ a little.
    if c.captured_at_ms > now_ms + 60_000 {
        return Err(CaptureError::CaptureInFuture);
    }
    // The time is entered to the minute; the trap fired within that minute at the latest.
    if c.captured_at_ms < fired_at_ms - fired_at_ms.rem_euclid(60_000) {
        return Err(CaptureError::CaptureBeforeFiring);
    }
    let (start, end) = permit.period_ms();
    if c.captured_at_ms < start || c.captured_at_ms >= end {
        return Err(CaptureError::CaptureOutsidePermit);
    }
    if !permit.trap_types.contains(&c.trap_type) {
        return Err(CaptureError::TrapTypeNotPermitted);
    }
    let bycatch = is_bycatch(permit, &c.species);
    if bycatch && c.bycatch_action.is_none() {
        return Err(CaptureError::BycatchActionMissing);
    }
    Ok(Verdict { bycatch })
}

fn jst() -> UtcOffset {
    UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Unix milliseconds of 00:00 JST on `d`.
pub fn jst_midnight_ms(d: Date) -> i64 {
    d.midnight().assume_offset(jst()).unix_timestamp() * 1000
}

/// The JST calendar day of a moment.
pub fn jst_date(ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map(|t| t.to_offset(jst()).date()).unwrap_or(Date::MIN)
}

/// Reads a date (`YYYY-MM-DD`) and a time (`HH:MM`) entered in JST; full-width digits and
/// `／` are accepted.
pub fn parse_jst(date: &str, time_of_day: &str) -> Result<i64, CaptureError> {
    let norm = |s: &str| -> String {
        s.trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '／' | '/' => '-',
                '：' => ':',
                other => other,
            })
            .collect()
    };
    let (date, tod) = (norm(date), norm(time_of_day));
    let mut d = date.split('-');
    let num = |p: Option<&str>, max: u32| -> Result<u32, CaptureError> {
        let p = p.ok_or(CaptureError::CaptureTime)?;
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CaptureError::CaptureTime);
        }
        p.parse::<u32>().ok().filter(|v| *v <= max).ok_or(CaptureError::CaptureTime)
    };
    let (y, m, day) = (num(d.next(), 9999)?, num(d.next(), 12)?, num(d.next(), 31)?);
    let mut t = tod.split(':');
    let (h, min) = (num(t.next(), 23)?, num(t.next(), 59)?);
    if d.next().is_some() || t.next().is_some() || y < 2000 {
        return Err(CaptureError::CaptureTime);
    }
    let month = Month::try_from(m as u8).map_err(|_| CaptureError::CaptureTime)?;
    let date = Date::from_calendar_date(y as i32, month, day as u8).map_err(|_| CaptureError::CaptureTime)?;
    Ok(jst_midnight_ms(date) + i64::from(h) * 3_600_000 + i64::from(min) * 60_000)
}

/// One animal recorded under a permit, as the report counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub species: Species,
    pub sex: Sex,
    pub age: Age,
    pub count: i64,
    pub captured_at_ms: i64,
}

/// One line of the report: how many of a species, sex and age were taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub species: Species,
    pub sex: Sex,
    pub age: Age,
    pub count: i64,
}

/// The lines of a permit's report: captures inside its period, counted per species, sex and
/// age, in a fixed order (species, sex, age).
pub fn report_lines(permit: &Permit, captures: &[Counted]) -> Vec<ReportLine> {
    let (start, end) = permit.period_ms();
    let mut table: BTreeMap<(Species, Sex, Age), i64> = BTreeMap::new();
    // 錯誤捕獲 is not a capture under the permit: it is counted apart (the report's bycatch).
    let counted =
        |c: &&Counted| c.captured_at_ms >= start && c.captured_at_ms < end && c.count > 0 && permit.covers(&c.species);
    for c in captures.iter().filter(counted) {
        *table.entry((c.species.clone(), c.sex, c.age)).or_default() += c.count;
    }
    table.into_iter().map(|((species, sex, age), count)| ReportLine { species, sex, age, count }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
    }

    #[test]
    fn capture_outcomes_round_trip() {
        crate::name::check_names::<CaptureOutcome>();
        assert_eq!(CaptureOutcome::of(Verdict { bycatch: true }), CaptureOutcome::Bycatch);
        assert_eq!(CaptureOutcome::of(Verdict { bycatch: false }), CaptureOutcome::Caught);
    }

    fn permit() -> Permit {
        Permit {
            number: "南相馬第2026-15号".into(),
            holder: "猟友会 一郎".into(),
            species: vec![Species::known(SpeciesKind::Inoshishi), Species::known(SpeciesKind::Nihonjika)],
            from: d(2026, 11, 1),
            to: d(2026, 11, 30),
            area: "鹿島区".into(),
            trap_types: vec![TrapType::Kukuri, TrapType::Hako],
        }
    }

    fn input(at: i64, species: SpeciesKind) -> CaptureInput {
        CaptureInput {
            captured_at_ms: at,
            species: Species::known(species),
            trap_type: TrapType::Kukuri,
            sex: Sex::Male,
            age: Age::Adult,
            disposition: Disposition::Buried,
            bycatch_action: None,
        }
    }

    #[test]
    fn times_are_read_in_jst_and_checked() {
        let at = parse_jst("2026-11-29", "06:30").unwrap();
        assert_eq!(at, parse_jst("２０２６／１１／２９", "０６：３０").unwrap());
        assert_eq!(jst_date(at), d(2026, 11, 29));
        assert_eq!(parse_jst("2026-11-31", "06:30"), Err(CaptureError::CaptureTime));
        assert_eq!(parse_jst("2026-11-29", "24:00"), Err(CaptureError::CaptureTime));
        let p = permit();
        let fired = at - 3_600_000;
        assert!(check_capture(&p, &input(at, SpeciesKind::Inoshishi), fired, at + 1000).is_ok());
        assert_eq!(
            check_capture(&p, &input(at, SpeciesKind::Inoshishi), fired, at - 3_600_000),
            Err(CaptureError::CaptureInFuture)
        );
        assert_eq!(
            check_capture(&p, &input(fired - 120_000, SpeciesKind::Inoshishi), fired, at),
            Err(CaptureError::CaptureBeforeFiring)
        );
        let dec = parse_jst("2026-12-01", "00:00").unwrap();
        assert_eq!(
            check_capture(&p, &input(dec, SpeciesKind::Inoshishi), fired, dec + 1),
            Err(CaptureError::CaptureOutsidePermit)
        );
        // The last minute of the last day is inside.
        let last = parse_jst("2026-11-30", "23:59").unwrap();
        assert!(check_capture(&p, &input(last, SpeciesKind::Inoshishi), fired, last).is_ok());
    }

    #[test]
    fn a_bear_in_a_boar_trap_is_bycatch_and_needs_the_action() {
        let p = permit();
        let at = parse_jst("2026-11-20", "07:00").unwrap();
        let mut c = input(at, SpeciesKind::Tsukinowaguma);
        assert_eq!(check_capture(&p, &c, at, at), Err(CaptureError::BycatchActionMissing));
        c.bycatch_action = Some(BycatchAction::AwaitingInstruction);
        assert_eq!(check_capture(&p, &c, at, at), Ok(Verdict { bycatch: true }));
        let mut c = input(at, SpeciesKind::Inoshishi);
        c.trap_type = TrapType::Kakoi;
        assert_eq!(check_capture(&p, &c, at, at), Err(CaptureError::TrapTypeNotPermitted));
        assert!(is_bycatch(&p, &Species::parse("other", "キツネ").unwrap()));
        assert_eq!(Species::parse("other", " "), Err(CaptureError::OtherSpeciesName));
    }

    #[test]
    fn the_report_is_due_thirty_days_after_the_period() {
        // 11月30日 is day 1; day 30 is 12月29日.
        assert_eq!(report_due(d(2026, 11, 30)), d(2026, 12, 29));
        assert!(!report_overdue(d(2026, 11, 30), d(2026, 12, 29), false));
        assert!(report_overdue(d(2026, 11, 30), d(2026, 12, 30), false));
        assert!(!report_overdue(d(2026, 11, 30), d(2027, 1, 31), true));
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<&str> = CaptureError::ALL.iter().map(|e| e.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CaptureError::ALL.len());
    }

    fn arb_species() -> impl Strategy<Value = Species> {
        prop_oneof![
            proptest::sample::select(SpeciesKind::ALL.to_vec())
                .prop_filter("known", |k| *k != SpeciesKind::Other)
                .prop_map(Species::known),
            "[ア-ン]{1,5}".prop_map(|n| Species { kind: SpeciesKind::Other, name: n }),
        ]
    }

    proptest! {
        /// The due date is always the 30th day counted from the last day, and a report is
        /// overdue exactly on the days after it.
        #[test]
        fn due_is_thirty_days_on(days in 0i64..40_000, offset in -100i64..100) {
            let to = d(2000, 1, 1) + Duration::days(days);
            prop_assert_eq!((report_due(to) - to).whole_days() + 1, REPORT_DAYS);
            let today = report_due(to) + Duration::days(offset);
            prop_assert_eq!(report_overdue(to, today, false), offset > 0);
            prop_assert!(!report_overdue(to, today, true));
        }

        /// 錯誤捕獲 is exactly "the permit does not name the species".
        #[test]
        fn bycatch_is_species_not_on_the_permit(allowed in proptest::collection::vec(arb_species(), 1..4), caught in arb_species()) {
            let p = Permit { species: allowed.clone(), ..permit() };
            prop_assert_eq!(is_bycatch(&p, &caught), !allowed.contains(&caught));
        }

        /// A capture is accepted only inside the permit period, not before firing and not in
        /// the future; an accepted bycatch always carries an action.
        #[test]
        fn accepted_captures_are_in_time(day in -5i64..40, minute in 0i64..1440, fired_back in 0i64..3_000_000, now_ahead in -3_000_000i64..3_000_000, action in proptest::option::of(0usize..3), species in arb_species()) {
            let p = permit();
            let at = jst_midnight_ms(p.from) + day * 86_400_000 + minute * 60_000;
            let mut c = input(at, SpeciesKind::Inoshishi);
            c.species = species;
            c.bycatch_action = action.map(|i| BycatchAction::ALL[i]);
            let (start, end) = p.period_ms();
            let (fired, now) = (at - fired_back, at + now_ahead);
            match check_capture(&p, &c, fired, now) {
                Ok(v) => {
                    prop_assert!(at >= start && at < end && at <= now + 60_000 && at >= fired - 60_000);
                    prop_assert_eq!(v.bycatch, is_bycatch(&p, &c.species));
                    prop_assert!(!v.bycatch || c.bycatch_action.is_some());
                }
                Err(_) => prop_assert!(at < start || at >= end || at > now + 60_000 || at < fired - fired.rem_euclid(60_000) || (is_bycatch(&p, &c.species) && c.bycatch_action.is_none())),
            }
        }

        /// The report counts every animal of the period that the permit covers once, and
        /// nothing outside it or of another species (錯誤捕獲 is counted apart).
        #[test]
        fn report_counts_every_animal_once(caps in proptest::collection::vec((arb_species(), 0usize..3, 0usize..3, 1i64..5, -10i64..45), 0..30)) {
            let p = permit();
            let counted: Vec<Counted> = caps.iter().map(|(s, sex, age, n, day)| Counted {
                species: s.clone(), sex: Sex::ALL[*sex], age: Age::ALL[*age], count: *n,
                captured_at_ms: jst_midnight_ms(p.from) + day * 86_400_000 + 3_600_000,
            }).collect();
            let lines = report_lines(&p, &counted);
            let (start, end) = p.period_ms();
            let inside: i64 = counted
                .iter()
                .filter(|c| c.captured_at_ms >= start && c.captured_at_ms < end && p.covers(&c.species))
                .map(|c| c.count)
                .sum();
            prop_assert_eq!(lines.iter().map(|l| l.count).sum::<i64>(), inside);
            for w in lines.windows(2) {
                prop_assert!((&w[0].species, w[0].sex, w[0].age) < (&w[1].species, w[1].sex, w[1].age));
            }
        }

        /// Stored species read back as themselves.
        #[test]
        fn species_round_trip(s in arb_species()) {
            prop_assert_eq!(Species::from_stored(&s.stored()), Some(s));
        }
    }
}
