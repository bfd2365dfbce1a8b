//! The electronic receipt (電子領収書): one signed PDF per paid payment.
//!
//! A receipt is an issued document like a decision notice: the same layout code, the same
//! signing path ([`super::issue::sign_and_store`]), the same row in `issued_documents` (kind
//! `receipt`), so the public verification page and API check it unchanged. Its number is
//! derived from the payment ([`receipt_number`]): the table's unique number makes a payment
//! have at most one receipt, and finding a payment's receipt is a lookup by number.

use std::path::Path;

use kencho_core::payment::method::PaymentMethod;
use sqlx::AnyConnection;

use super::issue::{record, sign_and_store, signing_reason, Signing, LANG, VERIFY_PATH};
use super::links::{ApplicationFacts, Links, PaymentFacts};
use super::model::{By, DocumentKind, IssuedDocument};
use super::pdf::{self, Align, Block, Meta, Signature, BODY};
use super::{certificate, keys, store};
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};

/// `MNS-領収-000042`: the tenant's receipt prefix and the payment id, so a payment has one
/// receipt number and the number names its payment.
pub fn receipt_number(prefix: &str, payment_id: i64) -> String {
    format!("{prefix}-領収-{payment_id:06}")
}

/// `3,000円`.
pub fn yen(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}円", if amount < 0 { "-" } else { "" })
}

/// The payment method as the receipt names it (another method by its code).
fn method_name(method: Option<PaymentMethod>) -> String {
    match method {
        Some(m @ (PaymentMethod::Card | PaymentMethod::Qr)) => t(LANG, &format!("doc.receipt.method_{m}")),
        None => "-".into(),
        Some(other) => other.as_str().into(),
    }
}

/// What a receipt says.
#[derive(Debug, Clone)]
pub struct ReceiptContent {
    /// The document number ([`receipt_number`]).
    pub number: String,
    pub payment_id: i64,
    pub tenant_name: String,
    pub division_name: String,
    pub resident_name: String,
    pub procedure_title: String,
    /// The application's 受付番号, if it was submitted.
    pub receipt_number: Option<String>,
    /// Integer yen received.
    pub amount: i64,
    pub revenue_code: String,
    /// `None` before an attempt opened (not on a paid payment).
    pub method: Option<PaymentMethod>,
    /// Epoch milliseconds.
    pub paid_at: i64,
    pub issued_at: i64,
    /// `{base_url}/verify-document`.
    pub verify_url: String,
    pub key_id: String,
}

impl ReceiptContent {
    fn title(&self) -> String {
        tf(LANG, "doc.receipt.title", &[("procedure", &self.procedure_title)])
    }
}

fn blocks(c: &ReceiptContent) -> Vec<Block> {
    let right = |text: String| Block::Para { text, size: BODY, align: Align::Right, indent: 0.0 };
    let item = |text: String| Block::Para { text, size: BODY, align: Align::Left, indent: 12.0 };
    let para = |text: String| Block::Para { text, size: BODY, align: Align::Left, indent: 0.0 };
    let line = |key: &str, name: &str, value: &str| item(tf(LANG, &format!("doc.receipt.{key}"), &[(name, value)]));
    let procedure = c.procedure_title.as_str();
    let mut items = vec![line("payment_no", "id", &c.payment_id.to_string())];
    if let Some(r) = c.receipt_number.as_deref().filter(|r| !r.is_empty()) {
        items.push(line("receipt_no", "receipt", r));
    }
    items.extend([
        line("subject", "procedure", procedure),
        line("revenue", "code", if c.revenue_code.is_empty() { "-" } else { &c.revenue_code }),
        line("method", "method", &method_name(c.method)),
        line("paid_on", "date", &pdf::date_both(c.paid_at)),
    ]);
    let mut out = vec![
        right(c.number.clone()),
        right(tf(LANG, "doc.receipt.issued_on", &[("date", &pdf::date_both(c.issued_at))])),
        Block::Gap(18.0),
        Block::Heading(1, t(LANG, "doc.receipt.heading")),
        Block::Gap(14.0),
        Block::Para { text: pdf::addressee(&c.resident_name), size: 14.0, align: Align::Left, indent: 0.0 },
        Block::Gap(12.0),
        Block::Para {
            text: tf(LANG, "doc.receipt.amount", &[("yen", &yen(c.amount))]),
            size: 18.0,
            align: Align::Center,
            indent: 0.0,
        },
        Block::Gap(8.0),
        Block::Para {
            text: tf(LANG, "doc.receipt.for", &[("procedure", procedure)]),
            size: 12.0,
            align: Align::Center,
            indent: 0.0,
        },
        Block::Gap(6.0),
        para(t(LANG, "doc.receipt.received")),
        Block::Gap(10.0),
        Block::Heading(2, t(LANG, "doc.receipt.details")),
    ];
    out.extend(items);
    out.extend([
        Block::Gap(14.0),
        right(c.tenant_name.clone()),
        right(c.division_name.clone()),
        Block::Gap(8.0),
        para(t(LANG, "doc.receipt.signed")),
    ]);
    let what = t(LANG, "doc.receipt.what");
    out.extend(pdf::signature_section(&Signature {
        what: &what,
        number: &c.number,
        tenant_name: &c.tenant_name,
        division_name: &c.division_name,
        key_id: &c.key_id,
        verify_url: &c.verify_url,
    }));
    out
}

/// Renders the receipt. The output depends only on `c`.
pub fn render_receipt(c: &ReceiptContent) -> std::result::Result<Vec<u8>, String> {
    let title = c.title();
    let meta = Meta {
        number: &c.number,
        title: &title,
        author: format!("{} {}", c.tenant_name, c.division_name),
        issued_at: c.issued_at,
    };
    pdf::render(&meta, &blocks(c))
}

/// What a receipt is made from: the payment ([`Links::payment`]), its application
/// ([`Links::application`]) and its tenant's letterhead.
struct Facts {
    p: PaymentFacts,
    a: ApplicationFacts,
    office: crate::tenants::Letterhead,
}

async fn facts<L: Links>(conn: &mut AnyConnection, links: &L, payment_id: i64) -> Result<Facts> {
    let p = links.payment(conn, payment_id).await?;
    let a = links.application(conn, p.application_id).await?;
    let office = crate::tenants::letterhead(conn, p.tenant_id).await?;
    Ok(Facts { p, a, office })
}

fn not_paid() -> AppError {
    AppError::Refused("not_paid", detail!("detail.documents.receipt_issued_paid_payment"))
}

/// Issues (renders, signs, stores and records) the receipt of a paid payment, or returns the
/// one already issued: calling it again, or twice at once, never issues a second receipt.
/// A payment that is not `paid` is refused (`not_paid`) unless its receipt exists already.
pub async fn issue_receipt<L: Links>(
    db: &Db,
    links: &L,
    base_url: &str,
    data_dir: &Path,
    payment_id: i64,
) -> Result<IssuedDocument> {
    let f = {
        let mut conn = db.read.acquire().await?;
        facts(&mut conn, links, payment_id).await?
    };
    let number = receipt_number(&f.office.receipt_prefix, payment_id);
    {
        let mut conn = db.read.acquire().await?;
        if let Some(d) = store::find(&mut conn, By::Number(&number)).await? {
            return Ok(d);
        }
    }
    if !f.p.paid {
        return Err(not_paid());
    }
    let key = keys::active(db, f.p.tenant_id).await?;
    let issued_at = now_ms();
    let content = ReceiptContent {
        number: number.clone(),
        payment_id,
        tenant_name: f.office.name.clone(),
        division_name: f.a.division_name.clone(),
        resident_name: f.a.resident_name.clone(),
        procedure_title: f.a.procedure_title.clone(),
        receipt_number: f.a.receipt_number.clone(),
        amount: if f.p.paid_amount > 0 { f.p.paid_amount } else { f.p.amount },
        revenue_code: f.p.revenue_code.clone(),
        method: f.p.method,
        paid_at: f.p.paid_at.unwrap_or(issued_at),
        issued_at,
        verify_url: format!("{}{VERIFY_PATH}", base_url.trim_end_matches('/')),
        key_id: key.key_id.clone(),
    };
    let title = content.title();
    let embedded = certificate::signer(db, f.p.tenant_id, &f.office.name).await?;
    let signing = Signing { key, embedded, reason: signing_reason(&title) };
    let signed =
        sign_and_store(data_dir, signing, &f.office.code, &number, issued_at, move || render_receipt(&content)).await?;
    let mut doc = IssuedDocument {
        id: 0,
        tenant_id: f.p.tenant_id,
        tenant_code: f.office.code,
        tenant_name: f.office.name.clone(),
        number,
        kind: DocumentKind::Receipt,
        application_id: Some(f.p.application_id),
        kian_id: None,
        title,
        issuer: format!("{} {}", f.office.name, f.a.division_name),
        sha256: signed.sha256,
        size: signed.size,
        key_id: signed.key_id,
        signature: signed.signature,
        issued_at,
        disposed_at: None,
    };
    let links = links.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            // Two requests at once: the second waits here, then finds the first one's receipt.
            let paid = links.lock_payment(conn, payment_id).await?;
            if let Some(d) = store::find(conn, By::Number(&doc.number)).await? {
                return Ok(d);
            }
            if !paid {
                return Err(not_paid());
            }
            doc.id = record(conn, &doc, "system").await?;
            Ok(doc)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReceiptContent {
        ReceiptContent {
            number: receipt_number("MNS", 42),
            payment_id: 42,
            tenant_name: "南相馬市".into(),
            division_name: "市民生活課".into(),
            resident_name: "福島 太郎".into(),
            procedure_title: "犬の登録申請".into(),
            receipt_number: Some("MNS-2026-0000042-3".into()),
            amount: 1_234_567,
            revenue_code: "14-02-01 犬登録手数料".into(),
            method: Some(PaymentMethod::Card),
            paid_at: 1_780_000_000_000,
            issued_at: 1_780_000_100_000,
            verify_url: "http://127.0.0.1:8080/verify-document".into(),
            key_id: "minamisoma-20260528-0a1b2c3d".into(),
        }
    }

    #[test]
    fn yen_is_grouped_by_thousands() {
        assert_eq!(yen(0), "0円");
        assert_eq!(yen(300), "300円");
        assert_eq!(yen(3000), "3,000円");
        assert_eq!(yen(1_234_567), "1,234,567円");
        assert_eq!(yen(-1500), "-1,500円");
    }

    #[test]
    fn renders_a_deterministic_pdf_with_the_font_and_the_number() {
        let c = sample();
        let pdf = render_receipt(&c).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(pdf::FONT_NAME) && text.contains("/StructTreeRoot"));
        assert_eq!(pdf::claimed_number(&pdf).as_deref(), Some("MNS-領収-000042"));
        assert_eq!(pdf, render_receipt(&c).unwrap());
        std::fs::write(std::env::temp_dir().join("kencho-receipt-sample.pdf"), &pdf).ok();
    }

    #[test]
    fn the_receipt_says_what_was_paid_for() {
        let lines: Vec<String> = blocks(&sample())
            .into_iter()
            .filter_map(|b| match b {
                Block::Para { text, .. } | Block::Heading(_, text) => Some(text),
                _ => None,
            })
            .collect();
        let all = lines.join("\n");
        for want in [
            "領収書",
            "福島 太郎 様",
            "金 1,234,567円",
            "但し 犬の登録申請 手数料として",
            "領収番号：R-42",
            "受付番号：MNS-2026-0000042-3",
            "歳入科目：14-02-01 犬登録手数料",
            "お支払い方法：クレジットカード",
            "令和8年",
            "2026年",
            "この領収書は電子署名されています",
            "http://127.0.0.1:8080/verify-document",
            "南相馬市",
        ] {
            assert!(all.contains(want), "{want} in\n{all}");
        }
        let mut qr = sample();
        qr.method = Some(PaymentMethod::Qr);
        qr.receipt_number = None;
        let all: String = blocks(&qr)
            .into_iter()
            .filter_map(|b| match b {
                Block::Para { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        assert!(all.contains("QRコード決済") && !all.contains("受付番号"));
    }
}
