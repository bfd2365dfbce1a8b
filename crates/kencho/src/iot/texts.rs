//! The mail texts (Japanese; the recipients are local hunters, families and staff), from the
//! locales (`mail.iot_*`). A subject never names a watched person (見守り対象者): mail subjects
//! show in notification previews and lock screens, so they say only "見守り" and the person's
//! number; the name is in the body, which goes to the person's own circle and the staff.

use kencho_core::iot::alarm::DeviceKind;

use super::alarms::map_link;
use crate::i18n::tf;

/// IoT mails go to hunters, families and staff: the office's language.
const LANG: &str = crate::i18n::OFFICE;

fn when(ms: i64) -> String {
    crate::clock::fmt_time(ms)
}

fn pair(key: &str, args: &[(&str, &str)]) -> (String, String) {
    (tf(LANG, &format!("mail.iot_{key}_subject"), args), tf(LANG, &format!("mail.iot_{key}_body"), args))
}

/// What a device is called in a subject: a trap by its label; a 見守り sensor, whose label
/// may carry the person's name or home, only by its DevEUI.
pub fn device_title(kind: DeviceKind, label: &str, area: &str, dev_eui: &str) -> String {
    if kind == DeviceKind::Trap {
        format!("{label}（{area}）")
    } else {
        tf(LANG, "mail.iot_watch_device", &[("eui", dev_eui)])
    }
}

pub fn trap_fired(
    label: &str,
    area: &str,
    place: Option<(f64, f64)>,
    battery: Option<i64>,
    at: i64,
) -> (String, String) {
    let battery = battery.map(|b| format!("{b}%")).unwrap_or_else(|| crate::i18n::t(LANG, "mail.iot_unknown"));
    pair(
        "trap_fired",
        &[("label", label), ("area", area), ("at", &when(at)), ("place", &map_link(place)), ("battery", &battery)],
    )
}

pub fn trap_resend(label: &str, area: &str, place: Option<(f64, f64)>, opened: i64) -> (String, String) {
    pair("trap_resend", &[("label", label), ("area", area), ("at", &when(opened)), ("place", &map_link(place))])
}

pub fn trap_reset(label: &str, area: &str) -> (String, String) {
    pair("trap_reset", &[("label", label), ("area", area)])
}

/// `title`: [`device_title`].
pub fn sensor_silent(title: &str, label: &str, area: &str, last: Option<i64>) -> (String, String) {
    let last = last.map(when).unwrap_or_else(|| crate::i18n::t(LANG, "mail.iot_last_none"));
    pair("sensor_silent", &[("title", title), ("label", label), ("area", area), ("last", &last)])
}

pub fn sensor_back(title: &str, label: &str, area: &str) -> (String, String) {
    pair("sensor_back", &[("title", title), ("label", label), ("area", area)])
}

pub fn low_battery(title: &str, label: &str, area: &str, percent: u8) -> (String, String) {
    pair("low_battery", &[("title", title), ("label", label), ("area", area), ("percent", &percent.to_string())])
}

pub fn inactivity(id: i64, name: &str, area: &str, hours: i64, since: Option<i64>) -> (String, String) {
    let since = since.map(when).unwrap_or_else(|| tf(LANG, "mail.iot_never", &[]));
    pair(
        "inactivity",
        &[("id", &id.to_string()), ("name", name), ("area", area), ("hours", &hours.to_string()), ("since", &since)],
    )
}

pub fn call_button(id: i64, name: &str, area: &str) -> (String, String) {
    pair("call_button", &[("id", &id.to_string()), ("name", name), ("area", area)])
}

pub fn all_clear(id: i64, name: &str, area: &str) -> (String, String) {
    pair("all_clear", &[("id", &id.to_string()), ("name", name), ("area", area)])
}

/// The line under an alarm mail that acknowledges it with one click.
pub fn ack_line(link: &str) -> String {
    tf(LANG, "mail.iot_ack_line", &[("link", link)])
}

/// Where a device is, when it has no coordinates.
pub fn no_place() -> String {
    tf(LANG, "mail.iot_no_place", &[])
}
