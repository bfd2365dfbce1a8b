//! What a written 処分 must say besides the decision: who decided it (the 行政庁, not the
//! section that did the work) and the 教示 — that it can be appealed, to whom and by when
//! (行政不服審査法 82条 1項; 行政事件訴訟法 46条 1項).

use serde::{Deserialize, Serialize};

use crate::application::Status;
use crate::payment::method::PaymentMethod;

/// The 行政庁 of a local public body, named as notices name it: the head of the body
/// (地方自治法 139条, 147条: 知事 of a 都道府県, 市町村長 of a 市町村, 区長 of a 特別区).
/// `南相馬市` → `南相馬市長`, `福島県` → `福島県知事`. A name without those endings (a 組合,
/// an office's own label) gets `の長`.
pub fn authority(body_name: &str) -> String {
    let name = body_name.trim();
    if ["県", "都", "道", "府"].iter().any(|s| name.ends_with(s)) {
        format!("{name}知事")
    } else if ["市", "町", "村", "区"].iter().any(|s| name.ends_with(s)) {
        format!("{name}長")
    } else {
        format!("{name}の長")
    }
}

/// The heading and the decision word a notice of `outcome` carries.
pub fn outcome_words(outcome: Status) -> Option<(&'static str, &'static str)> {
    match outcome {
        Status::Approved => Some(("決定通知書", "承認")),
        Status::Denied => Some(("決定通知書", "不承認")),
        Status::Rejected => Some(("却下通知書", "却下")),
        _ => None,
    }
}

/// The 教示 for a 処分 by `authority` of the body `body_name`: 審査請求 to the 行政庁 itself,
/// which has no superior 行政庁 (行政不服審査法 4条 1号), within three months of the day after
/// the applicant learned of the 処分 (18条 1項); and the 取消訴訟 against the body, represented
/// by the 行政庁, within six months (行政事件訴訟法 11条 1項・4項, 14条 1項). A statute that
/// provides otherwise for a particular procedure overrides this, which is why the procedure
/// can carry its own text.
pub fn kyouji(authority: &str, body_name: &str) -> [String; 2] {
    [
        format!(
            "1　この処分に不服がある場合は、この処分があったことを知った日の翌日から起算して3か月以内に、\
             {authority}に対して審査請求をすることができます（行政不服審査法第4条、第18条）。"
        ),
        format!(
            "2　この処分の取消しを求める訴訟は、この処分があったことを知った日の翌日から起算して6か月以内に、\
             {body_name}を被告として（訴訟において{body_name}を代表する者は{authority}となります。）提起することができます\
             （行政事件訴訟法第11条、第14条）。ただし、上記1の審査請求をした場合には、その審査請求に対する裁決があったことを\
             知った日の翌日から起算して6か月以内に提起することができます。"
        ),
    ]
}

/// What a notice or a receipt prints of an application: read by the binary's `applications`,
/// printed by its `documents` (one type, so neither names the other).
#[derive(Debug, Clone)]
pub struct ApplicationFacts {
    pub tenant_id: i64,
    /// The division that handles it (named as the contact and the issuer).
    pub division_name: String,
    pub resident_name: String,
    pub procedure_title: String,
    /// The 受付番号, once submitted.
    pub receipt_number: Option<String>,
    /// Epoch milliseconds.
    pub submitted_at: Option<i64>,
    pub status: Status,
    /// The revision a notice is made from (a notice prepared before a decision is recorded
    /// only if nothing changed meanwhile).
    pub revision: i64,
}

/// What a receipt prints of a payment: read by `payments`, printed by `documents`.
#[derive(Debug, Clone)]
pub struct PaymentFacts {
    pub tenant_id: i64,
    pub application_id: i64,
    pub revenue_code: String,
    /// Integer yen due, and received (0 until paid).
    pub amount: i64,
    pub paid_amount: i64,
    /// `None` until an attempt opens at a provider.
    pub method: Option<PaymentMethod>,
    /// Whether the payment is paid now.
    pub paid: bool,
    /// Epoch milliseconds.
    pub paid_at: Option<i64>,
}

/// What a signed document kencho issued is (`issued_documents.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A decision's notice (決定通知書, 却下通知書 …).
    DecisionNotice,
    /// A payment's receipt (領収書).
    Receipt,
}

crate::names!(DocumentKind, "document kind" { DecisionNotice = "decision_notice", Receipt = "receipt" });

/// Whose signed documents: an application's or a 起案's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOf {
    Application(i64),
    Kian(i64),
}

/// A signed document as a record's 移管 package lists it, with the public key that checks it:
/// kept by `documents`, put in the package by `approval`.
#[derive(Debug, Clone)]
pub struct SignedDocument {
    pub number: String,
    pub kind: DocumentKind,
    pub title: String,
    pub issuer: String,
    pub sha256: String,
    pub key_id: String,
    pub signature: String,
    /// Epoch milliseconds.
    pub issued_at: i64,
    pub algorithm: Option<String>,
    pub public_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn document_kinds_round_trip() {
        crate::name::check_names::<DocumentKind>();
    }

    #[test]
    fn authorities_are_named_as_notices_name_them() {
        assert_eq!(authority("南相馬市"), "南相馬市長");
        assert_eq!(authority("福島県"), "福島県知事");
        assert_eq!(authority("北塩原村"), "北塩原村長");
        assert_eq!(authority("猪苗代町 "), "猪苗代町長");
        assert_eq!(authority("東京都"), "東京都知事");
        assert_eq!(authority("相馬地方広域水道企業団"), "相馬地方広域水道企業団の長");
    }

    #[test]
    fn kyouji_names_both_ways_and_their_periods() {
        let [appeal, suit] = kyouji("南相馬市長", "南相馬市");
        assert!(appeal.contains("南相馬市長に対して審査請求") && appeal.contains("3か月以内"));
        assert!(suit.contains("南相馬市を被告") && suit.contains("6か月以内") && suit.contains("南相馬市長"));
        assert_eq!(outcome_words(Status::Rejected), Some(("却下通知書", "却下")));
        assert_eq!(outcome_words(Status::Accepted), None);
    }

    proptest! {
        #[test]
        fn every_authority_names_its_body(name in "\\PC{1,20}") {
            let a = authority(&name);
            prop_assert!(a.starts_with(name.trim()));
            prop_assert!(a.len() > name.trim().len());
        }
    }
}
