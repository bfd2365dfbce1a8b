//! The texts of the e-mails kencho sends, in the recipient's language.

fn ja(lang: &str) -> bool {
    lang != "en"
}

const FOOTER_JA: &str =
    "\n\n--\nこのメールは kencho（デジタル県庁）から自動送信されています。\n心当たりのない場合は破棄してください。";
const FOOTER_EN: &str =
    "\n\n--\nThis message was sent automatically by kencho.\nIf you did not expect it, please ignore it.";

pub fn verify_email(lang: &str, base_url: &str, name: &str, token: &str) -> (String, String) {
    let link = format!("{base_url}/verify?token={token}");
    if ja(lang) {
        (
            "【kencho】メールアドレスの確認".into(),
            format!("{name} 様\n\nkencho へのご登録ありがとうございます。\n次のリンクを開いて、メールアドレスの確認を完了してください（24時間有効）。\n\n{link}{FOOTER_JA}"),
        )
    } else {
        (
            "[kencho] Confirm your e-mail address".into(),
            format!("Dear {name},\n\nThank you for signing up to kencho.\nOpen this link to confirm your e-mail address (valid for 24 hours):\n\n{link}{FOOTER_EN}"),
        )
    }
}

pub fn already_registered(lang: &str, base_url: &str) -> (String, String) {
    if ja(lang) {
        (
            "【kencho】登録のお申込みについて".into(),
            format!("このメールアドレスは既に登録されています。\nパスワードをお忘れの場合は窓口にお問い合わせください。\nログイン: {base_url}/login{FOOTER_JA}"),
        )
    } else {
        (
            "[kencho] About your sign-up".into(),
            format!("This e-mail address is already registered.\nSign in: {base_url}/login{FOOTER_EN}"),
        )
    }
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

pub fn submitted(m: &AppMail<'_>, content_hash: &str) -> (String, String) {
    let link = format!("{}/applications/{}", m.base_url, m.application_id);
    if ja(m.lang) {
        (
            format!("【kencho】申請を受け付けました（受付番号 {}）", m.receipt_number),
            format!(
                "{} 様\n\n次の申請を受け付けました。\n\n手続き: {}（{}）\n受付番号: {}\n内容のハッシュ値(SHA-256): {}\n\n申請の状況は次のページで確認できます。\n{}{}",
                m.name, m.procedure_title, m.tenant_name, m.receipt_number, content_hash, link, FOOTER_JA
            ),
        )
    } else {
        (
            format!("[kencho] Application received (receipt {})", m.receipt_number),
            format!(
                "Dear {},\n\nWe have received your application.\n\nProcedure: {} ({})\nReceipt number: {}\nContent hash (SHA-256): {}\n\nFollow its status here:\n{}{}",
                m.name, m.procedure_title, m.tenant_name, m.receipt_number, content_hash, link, FOOTER_EN
            ),
        )
    }
}

/// A status change made by the office or the applicant.
pub fn status_changed(
    m: &AppMail<'_>,
    action_label: &str,
    status_label: &str,
    message: Option<&str>,
) -> (String, String) {
    let link = format!("{}/applications/{}", m.base_url, m.application_id);
    let msg = message.unwrap_or("");
    if ja(m.lang) {
        let msg = if msg.is_empty() { String::new() } else { format!("\n担当課からのメッセージ:\n{msg}\n") };
        (
            format!("【kencho】{}（受付番号 {}）", action_label, m.receipt_number),
            format!(
                "{} 様\n\n申請の状況が変わりました。\n\n手続き: {}（{}）\n受付番号: {}\n状況: {}\n{}\n詳しくは次のページをご覧ください。\n{}{}",
                m.name, m.procedure_title, m.tenant_name, m.receipt_number, status_label, msg, link, FOOTER_JA
            ),
        )
    } else {
        let msg = if msg.is_empty() { String::new() } else { format!("\nMessage from the office:\n{msg}\n") };
        (
            format!("[kencho] {} (receipt {})", action_label, m.receipt_number),
            format!(
                "Dear {},\n\nThe status of your application has changed.\n\nProcedure: {} ({})\nReceipt number: {}\nStatus: {}\n{}\nSee the details here:\n{}{}",
                m.name, m.procedure_title, m.tenant_name, m.receipt_number, status_label, msg, link, FOOTER_EN
            ),
        )
    }
}
