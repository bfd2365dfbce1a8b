//! The e-mails kencho sends to residents, in the recipient's language. Their texts are in
//! `locales/*.toml` (`mail.*`); `{footer}` is the shared `mail.footer`.

use crate::i18n::{t, tf};

/// The mail's language: Japanese unless English was chosen (the plain-Japanese pages mail in
/// Japanese).
fn mail_lang(lang: &str) -> &'static str {
    if lang == "en" {
        "en"
    } else {
        "ja"
    }
}

/// A mail's subject and body from its `mail.<kind>` keys.
fn mail(lang: &str, kind: &str, args: &[(&str, &str)]) -> (String, String) {
    let lang = mail_lang(lang);
    let footer = t(lang, "mail.footer");
    let mut with_footer = args.to_vec();
    with_footer.push(("footer", &footer));
    (tf(lang, &format!("mail.{kind}.subject"), args), tf(lang, &format!("mail.{kind}.body"), &with_footer))
}

pub fn verify_email(lang: &str, base_url: &str, name: &str, token: &str) -> (String, String) {
    let link = format!("{base_url}/verify?token={token}");
    mail(lang, "verify", &[("name", name), ("link", &link)])
}

pub fn already_registered(lang: &str, base_url: &str) -> (String, String) {
    mail(lang, "registered", &[("base_url", base_url)])
}

/// The link that sets a new password for a forgotten one.
pub fn password_reset(lang: &str, name: &str, link: &str, minutes: i64) -> (String, String) {
    mail(lang, "password_reset", &[("name", name), ("link", link), ("minutes", &minutes.to_string())])
}

/// An administrator's invitation to a new staff account: the link sets its first password.
pub fn staff_invite(lang: &str, (name, tenant): (&str, &str), link: &str, days: i64) -> (String, String) {
    mail(lang, "staff_invite", &[("name", name), ("tenant", tenant), ("link", link), ("days", &days.to_string())])
}

pub struct AppMail<'a> {
    pub base_url: &'a str,
    pub lang: &'a str,
    pub name: &'a str,
    pub procedure_title: &'a str,
    pub tenant_name: &'a str,
    pub receipt_number: &'a str,
    pub application_id: i64,
}

impl AppMail<'_> {
    fn link(&self) -> String {
        format!("{}/applications/{}", self.base_url, self.application_id)
    }
}

pub fn submitted(m: &AppMail<'_>, content_hash: &str) -> (String, String) {
    let link = m.link();
    let args = [
        ("name", m.name),
        ("procedure", m.procedure_title),
        ("tenant", m.tenant_name),
        ("receipt", m.receipt_number),
        ("hash", content_hash),
        ("link", link.as_str()),
    ];
    mail(m.lang, "submitted", &args)
}

/// A status change made by the office or the applicant.
pub fn status_changed(
    m: &AppMail<'_>,
    action_label: &str,
    status_label: &str,
    message: Option<&str>,
) -> (String, String) {
    let link = m.link();
    let message = match message.unwrap_or("") {
        "" => String::new(),
        msg => tf(mail_lang(m.lang), "mail.status.message", &[("message", msg)]),
    };
    let args = [
        ("name", m.name),
        ("action", action_label),
        ("procedure", m.procedure_title),
        ("tenant", m.tenant_name),
        ("receipt", m.receipt_number),
        ("status", status_label),
        ("message", message.as_str()),
        ("link", link.as_str()),
    ];
    mail(m.lang, "status", &args)
}
