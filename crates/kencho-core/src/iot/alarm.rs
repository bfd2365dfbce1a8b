//! Alarms from IoT sensors, as pure rules: the alarm state machine, who to notify next, and the
//! checks for silent sensors, low batteries and repeated uplinks.
//!
//! DESIGN: there is at most one open alarm per (device or person, kind). An alarm goes
//! active → acknowledged → cleared; a repeat of the same condition updates the open alarm rather
//! than opening another, so a trap that reports "fired" every ten minutes pages staff once.
//! Cleared is closed: the next raise opens a new alarm.

use serde::{Deserialize, Serialize};

/// What a device is: a trap sensor (わなセンサー), a 見守り sensor (motion, door, power,
/// water) or a call button (呼出ボタン).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Trap,
    Motion,
    Door,
    Power,
    Water,
    Button,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 6] = [
        DeviceKind::Trap,
        DeviceKind::Motion,
        DeviceKind::Door,
        DeviceKind::Power,
        DeviceKind::Water,
        DeviceKind::Button,
    ];

    /// The stored name (also the serde name and the locale key's last part, `iot.device_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Trap => "trap",
            DeviceKind::Motion => "motion",
            DeviceKind::Door => "door",
            DeviceKind::Power => "power",
            DeviceKind::Water => "water",
            DeviceKind::Button => "button",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// A trap fired (わな作動).
    TrapFired,
    /// No uplink within the silence deadline ([`silence_deadline_ms`]).
    SensorSilent,
    /// Battery at or below 20 % ([`battery_low`]).
    LowBattery,
    /// No sign of life (motion, door, power, water) from a watched person within the window.
    Inactivity,
    /// A watched person pressed the call button.
    CallButton,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 5] = [
        AlarmKind::TrapFired,
        AlarmKind::SensorSilent,
        AlarmKind::LowBattery,
        AlarmKind::Inactivity,
        AlarmKind::CallButton,
    ];

    /// The stored name (also the locale key's last part, `iot.kind_<name>`, and the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::TrapFired => "trap_fired",
            AlarmKind::SensorSilent => "sensor_silent",
            AlarmKind::LowBattery => "low_battery",
            AlarmKind::Inactivity => "inactivity",
            AlarmKind::CallButton => "call_button",
        }
    }

    pub fn parse(s: &str) -> Option<AlarmKind> {
        AlarmKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for AlarmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    Active,
    Acknowledged,
    Cleared,
}

impl AlarmState {
    pub const ALL: [AlarmState; 3] = [AlarmState::Active, AlarmState::Acknowledged, AlarmState::Cleared];

    /// Active and acknowledged alarms are open; a cleared one is closed.
    pub fn is_open(self) -> bool {
        matches!(self, AlarmState::Active | AlarmState::Acknowledged)
    }

    /// The stored name (also the locale key's last part, `iot.state_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Active => "active",
            AlarmState::Acknowledged => "acknowledged",
            AlarmState::Cleared => "cleared",
        }
    }

    pub fn parse(s: &str) -> Option<AlarmState> {
        AlarmState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to the (device or person, kind) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The condition started.
    Raise,
    /// The condition was reported again; only updates an open alarm.
    Repeat,
    /// Staff took it on.
    Acknowledge,
    /// Staff or the sensor (e.g. trap reset) ended it.
    Clear,
}

/// What [`step`] did, for the caller to record and notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Opened,
    Updated,
    Acknowledged,
    Cleared,
    Ignored,
}

/// Applies one input to the pair's latest alarm (`None` or `Cleared`: no open alarm).
/// An ignored input leaves the state as it was.
pub fn step(current: Option<AlarmState>, input: Input) -> (Option<AlarmState>, Effect) {
    let open = current.filter(|s| s.is_open());
    match (open, input) {
        (None, Input::Raise) => (Some(AlarmState::Active), Effect::Opened),
        (Some(state), Input::Raise | Input::Repeat) => (Some(state), Effect::Updated),
        (Some(AlarmState::Active), Input::Acknowledge) => (Some(AlarmState::Acknowledged), Effect::Acknowledged),
        (Some(_), Input::Clear) => (Some(AlarmState::Cleared), Effect::Cleared),
        _ => (current, Effect::Ignored),
    }
}

pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// A time window as (start, end) minutes of the day, start included, end excluded; a start
/// after the end runs over midnight. Usable when start < 1440, end ≤ 1440 and start ≠ end
/// (an empty window is refused rather than guessed to mean "all day" or "never").
pub fn window_ok(window: (u16, u16)) -> bool {
    let (start, end) = window;
    start < MINUTES_PER_DAY && end <= MINUTES_PER_DAY && start != end
}

/// Whether the minute of the day falls in the window (see [`window_ok`]). Minutes past 1439
/// wrap into the next day.
pub fn in_window(window: (u16, u16), minute_of_day: u16) -> bool {
    let minute = minute_of_day % MINUTES_PER_DAY;
    let (start, end) = window;
    if start <= end {
        start <= minute && minute < end
    } else {
        minute >= start || minute < end
    }
}

/// Someone to notify, in escalation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub email: String,
    /// Working hours in JST minutes of the day; `None`: always reachable.
    pub hours: Option<(u16, u16)>,
}

/// The next contact after index `after` (`None`: from the first) who is within working hours
/// at the given JST minute of the day; `None` when no one further down the list is.
pub fn next_contact(contacts: &[Contact], after: Option<usize>, minute_of_day_jst: u16) -> Option<usize> {
    let first = match after {
        None => 0,
        Some(i) => i.checked_add(1)?,
    };
    contacts
        .iter()
        .enumerate()
        .skip(first)
        .find(|(_, c)| c.hours.is_none_or(|h| in_window(h, minute_of_day_jst)))
        .map(|(i, _)| i)
}

/// Minutes to wait for an acknowledgement before notifying the next contact: 30–60. Shorter
/// pages people over each other; longer leaves a caught animal or a fallen person waiting.
pub fn escalation_wait_ok(minutes: u32) -> bool {
    (30..=60).contains(&minutes)
}

/// Hours without a sign of life before an inactivity alarm: 4–72. Shorter wakes families for
/// a nap; longer is too late to help.
pub fn inactivity_window_ok(hours: u32) -> bool {
    (4..=72).contains(&hours)
}

/// Whether non-urgent notifications wait (quiet hours, e.g. `(22 * 60, 7 * 60)`); `None`: never.
pub fn in_quiet_hours(quiet: Option<(u16, u16)>, minute_of_day: u16) -> bool {
    quiet.is_some_and(|q| in_window(q, minute_of_day))
}

/// When a sensor last seen at `last_seen_ms` counts as silent: two missed heartbeats, but never
/// more than a day, so a misconfigured long interval still gets noticed.
pub fn silence_deadline_ms(last_seen_ms: i64, heartbeat_interval_s: u32) -> i64 {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let wait_ms = (2 * i64::from(heartbeat_interval_s) * 1000).min(DAY_MS);
    last_seen_ms.saturating_add(wait_ms)
}

/// 20 % leaves a few weeks for a visit to change batteries on typical LoRaWAN sensors.
pub fn battery_low(percent: u8) -> bool {
    percent <= 20
}

/// Whether an uplink was already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dup {
    New,
    Duplicate,
    /// The device restarted its frame counter (reboot, rejoin or wrap-around); accept as new.
    CounterReset,
}

/// A smaller counter within this distance is a late retransmission (another gateway, a
/// network-server retry); further back, the device must have restarted its counter.
pub const LATE_WINDOW: u32 = 100;

/// A counter of 0 or 1 after at least this many frames is a restarted device (a reboot or
/// rejoin starts at 0), not a late copy of its first frames.
pub const RESTART_AFTER: u32 = 10;

/// Compares an uplink with the device's last accepted one (`(f_cnt, dedup id)`).
///
/// The same dedup id is a duplicate; the same counter without differing dedup ids is too.
/// A smaller counter is a [`Dup::CounterReset`] when more than [`LATE_WINDOW`] back or 0/1
/// after [`RESTART_AFTER`] frames, otherwise a late duplicate. Without a new counter nothing
/// more can be told: it is new, since dropping an alarm is worse than a repeat (which the
/// alarm machine folds into the open alarm).
pub fn is_duplicate(last: Option<(u32, Option<&str>)>, new_f_cnt: Option<u32>, new_dedup: Option<&str>) -> Dup {
    let Some((last_f_cnt, last_dedup)) = last else { return Dup::New };
    let differing_ids = match (last_dedup, new_dedup) {
        (Some(a), Some(b)) if a == b => return Dup::Duplicate,
        (Some(_), Some(_)) => true,
        _ => false,
    };
    let Some(new_f_cnt) = new_f_cnt else { return Dup::New };
    if new_f_cnt == last_f_cnt {
        return if differing_ids { Dup::New } else { Dup::Duplicate };
    }
    if new_f_cnt > last_f_cnt {
        return Dup::New;
    }
    let back = last_f_cnt - new_f_cnt;
    if back > LATE_WINDOW || (new_f_cnt <= 1 && last_f_cnt >= RESTART_AFTER) {
        Dup::CounterReset
    } else {
        Dup::Duplicate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use AlarmState::{Acknowledged, Active, Cleared};

    #[test]
    fn alarm_lifecycle() {
        assert_eq!(step(None, Input::Raise), (Some(Active), Effect::Opened));
        assert_eq!(step(Some(Active), Input::Repeat), (Some(Active), Effect::Updated));
        assert_eq!(step(Some(Active), Input::Raise), (Some(Active), Effect::Updated));
        assert_eq!(step(Some(Active), Input::Acknowledge), (Some(Acknowledged), Effect::Acknowledged));
        assert_eq!(step(Some(Acknowledged), Input::Repeat), (Some(Acknowledged), Effect::Updated));
        assert_eq!(step(Some(Acknowledged), Input::Acknowledge), (Some(Acknowledged), Effect::Ignored));
        assert_eq!(step(Some(Acknowledged), Input::Clear), (Some(Cleared), Effect::Cleared));
        assert_eq!(step(Some(Active), Input::Clear), (Some(Cleared), Effect::Cleared));
        assert_eq!(step(Some(Cleared), Input::Raise), (Some(Active), Effect::Opened));
        for closed in [None, Some(Cleared)] {
            assert_eq!(step(closed, Input::Repeat), (closed, Effect::Ignored));
            assert_eq!(step(closed, Input::Acknowledge), (closed, Effect::Ignored));
            assert_eq!(step(closed, Input::Clear), (closed, Effect::Ignored));
        }
    }

    /// Every state's stored name reads back as that state, and is its JSON name and display.
    #[test]
    fn state_names_round_trip() {
        for st in AlarmState::ALL {
            assert_eq!(AlarmState::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{}\"", st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
        }
        for bad in ["", "Active", "open", "cleared "] {
            assert_eq!(AlarmState::parse(bad), None, "{bad}");
        }
    }

    /// The same for kinds: the stored name is the JSON name, and nothing else reads as a kind.
    #[test]
    fn kind_names_round_trip() {
        for k in AlarmKind::ALL {
            assert_eq!(AlarmKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
            assert_eq!(k.to_string(), k.as_str());
        }
        for bad in ["", "TrapFired", "trap", "call_button "] {
            assert_eq!(AlarmKind::parse(bad), None, "{bad}");
        }
    }

    /// A device's kind likewise, and an alarm's kind is no device's.
    #[test]
    fn device_kind_names_round_trip() {
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
            assert_eq!(k.to_string(), k.as_str());
        }
        for bad in ["", "Trap", "trap_fired", "button "] {
            assert_eq!(DeviceKind::parse(bad), None, "{bad}");
        }
    }

    fn contact(name: &str, hours: Option<(u16, u16)>) -> Contact {
        Contact { name: name.into(), email: format!("{name}@example.jp"), hours }
    }

    #[test]
    fn escalation_order_and_hours() {
        let contacts = [
            contact("day", Some((8 * 60 + 30, 17 * 60 + 15))),
            contact("night", Some((17 * 60 + 15, 8 * 60 + 30))),
            contact("always", None),
        ];
        assert_eq!(next_contact(&contacts, None, 9 * 60), Some(0));
        assert_eq!(next_contact(&contacts, Some(0), 9 * 60), Some(2));
        assert_eq!(next_contact(&contacts, None, 23 * 60), Some(1));
        assert_eq!(next_contact(&contacts, None, 3 * 60), Some(1));
        assert_eq!(next_contact(&contacts, None, 17 * 60 + 15), Some(1));
        assert_eq!(next_contact(&contacts, Some(1), 3 * 60), Some(2));
        assert_eq!(next_contact(&contacts, Some(2), 3 * 60), None);
        assert_eq!(next_contact(&contacts, Some(usize::MAX), 3 * 60), None);
        assert_eq!(next_contact(&[], None, 0), None);
        assert_eq!(next_contact(&contacts[..2], Some(0), 12 * 60), None);
    }

    #[test]
    fn windows_and_limits() {
        assert!(window_ok((22 * 60, 7 * 60)) && window_ok((9 * 60, 1440)));
        assert!(!window_ok((600, 600)) && !window_ok((1440, 10)) && !window_ok((0, 1441)));
        assert!(in_quiet_hours(Some((22 * 60, 7 * 60)), 23 * 60));
        assert!(in_quiet_hours(Some((22 * 60, 7 * 60)), 0));
        assert!(!in_quiet_hours(Some((22 * 60, 7 * 60)), 7 * 60));
        assert!(!in_quiet_hours(None, 23 * 60));
        assert!(in_window((9 * 60, 1440), 1439) && !in_window((9 * 60, 1440), 1440));
        assert!(!in_window((600, 600), 600));
        assert!(!escalation_wait_ok(29) && escalation_wait_ok(30) && escalation_wait_ok(60) && !escalation_wait_ok(61));
        assert!(
            !inactivity_window_ok(3)
                && inactivity_window_ok(4)
                && inactivity_window_ok(72)
                && !inactivity_window_ok(73)
        );
        assert!(battery_low(20) && battery_low(0) && !battery_low(21));
    }

    #[test]
    fn silence_deadline() {
        assert_eq!(silence_deadline_ms(1_000, 3600), 1_000 + 7_200_000);
        assert_eq!(silence_deadline_ms(1_000, 86_400), 1_000 + 86_400_000);
        assert_eq!(silence_deadline_ms(1_000, 43_200), 1_000 + 86_400_000);
        assert_eq!(silence_deadline_ms(0, u32::MAX), 86_400_000);
        assert_eq!(silence_deadline_ms(i64::MAX - 5, 60), i64::MAX);
    }

    #[test]
    fn duplicates() {
        use Dup::{CounterReset, Duplicate, New};
        assert_eq!(is_duplicate(None, Some(5), Some("a")), New);
        assert_eq!(is_duplicate(Some((5, Some("a"))), Some(9), Some("a")), Duplicate);
        assert_eq!(is_duplicate(Some((5, Some("a"))), Some(5), Some("b")), New);
        assert_eq!(is_duplicate(Some((5, Some("a"))), Some(5), None), Duplicate);
        assert_eq!(is_duplicate(Some((5, None)), Some(5), None), Duplicate);
        assert_eq!(is_duplicate(Some((5, None)), Some(6), None), New);
        assert_eq!(is_duplicate(Some((500, None)), Some(400), None), Duplicate);
        assert_eq!(is_duplicate(Some((500, None)), Some(399), None), CounterReset);
        assert_eq!(is_duplicate(Some((50, None)), Some(0), None), CounterReset);
        assert_eq!(is_duplicate(Some((50, None)), Some(1), None), CounterReset);
        assert_eq!(is_duplicate(Some((50, None)), Some(2), None), Duplicate);
        assert_eq!(is_duplicate(Some((3, None)), Some(0), None), Duplicate);
        assert_eq!(is_duplicate(Some((u32::MAX, None)), Some(0), None), CounterReset);
        assert_eq!(is_duplicate(Some((5, None)), None, None), New);
    }

    fn any_input() -> impl Strategy<Value = Input> {
        proptest::sample::select(vec![Input::Raise, Input::Repeat, Input::Acknowledge, Input::Clear])
    }

    fn any_hours() -> impl Strategy<Value = Option<(u16, u16)>> {
        proptest::option::of((0u16..1440, 0u16..=1440))
    }

    /// The window spelt out minute by minute, to check `in_window` against.
    fn covered(window: (u16, u16), minute: u16) -> bool {
        let (start, end) = (u32::from(window.0), u32::from(window.1));
        let m = u32::from(minute) % 1440;
        (0..1440)
            .map(|k| start + k)
            .take_while(|t| *t < if end >= start { end } else { end + 1440 })
            .any(|t| t % 1440 == m)
    }

    proptest! {
        // One pair's alarm under any input sequence: at most one open alarm, moving only forwards.
        #[test]
        fn alarm_machine_invariants(inputs in proptest::collection::vec(any_input(), 0..40)) {
            let mut state: Option<AlarmState> = None;
            for input in inputs {
                let was_open = state.is_some_and(AlarmState::is_open);
                let (next, effect) = step(state, input);
                prop_assert!(
                    !(state == Some(Acknowledged) && next == Some(Active)),
                    "acknowledged went back to active"
                );
                if input == Input::Clear {
                    prop_assert!(!next.is_some_and(AlarmState::is_open));
                }
                if input == Input::Repeat && was_open {
                    prop_assert_eq!(effect, Effect::Updated);
                    prop_assert_eq!(next, state);
                }
                prop_assert_eq!(effect == Effect::Opened, !was_open && input == Input::Raise);
                if effect == Effect::Opened {
                    prop_assert_eq!(next, Some(Active));
                }
                if effect == Effect::Ignored {
                    prop_assert_eq!(next, state);
                }
                state = next;
            }
        }

        #[test]
        fn next_contact_moves_forward_within_hours(
            hours in proptest::collection::vec(any_hours(), 0..8),
            after in proptest::option::of(0usize..10),
            minute in 0u16..1500,
        ) {
            let contacts: Vec<Contact> = hours.iter().enumerate().map(|(i, h)| contact(&format!("c{i}"), *h)).collect();
            let found = next_contact(&contacts, after, minute);
            if let Some(i) = found {
                prop_assert!(after.is_none_or(|a| i > a));
                prop_assert!(contacts[i].hours.is_none_or(|h| covered(h, minute)));
            }
            // Nobody reachable was skipped.
            let first = after.map_or(0, |a| a + 1);
            let expected = (first..contacts.len()).find(|i| contacts[*i].hours.is_none_or(|h| covered(h, minute)));
            prop_assert_eq!(found, expected);
        }

        #[test]
        fn duplicate_rules_are_consistent(last in any::<u32>(), new in any::<u32>(), id in "[ab]?", new_id in "[ab]?") {
            let last_id = (!id.is_empty()).then_some(id.as_str());
            let new_dedup = (!new_id.is_empty()).then_some(new_id.as_str());
            let dup = is_duplicate(Some((last, last_id)), Some(new), new_dedup);
            if !id.is_empty() && id == new_id {
                prop_assert_eq!(dup, Dup::Duplicate);
            } else if new > last {
                prop_assert_eq!(dup, Dup::New);
            } else if new < last && last - new > LATE_WINDOW {
                prop_assert_eq!(dup, Dup::CounterReset);
            }
        }
    }
}
