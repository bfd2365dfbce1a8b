//! The capabilities wired together. A capability that needs another inside its own
//! transaction declares what it needs as a trait of its own (`applications::Links`,
//! `approval::kian::Links`, `payments::Links`, `documents::Links`); [`Links`] implements each
//! of them here, so the knowledge of how they meet (a fee paid before submission, the record a
//! finished application becomes, what 施行 does to an application or a refund, what a notice
//! or a receipt prints) lives in one place and the capabilities do not import each other.

use std::sync::Arc;

use kencho_core::application::Status;
use kencho_core::notice::{SignedDocument, SignedOf};
use sqlx::AnyConnection;

use crate::actor::Staff;
use crate::applications::{self, Application};
use crate::approval::kian::{self, Archived, Draft, Matter, Prepared, RouteDecision, Source};
use crate::approval::setup::SetupCache;
use crate::approval::{self, records};
use crate::crypto::Keyring;
use crate::db::{Batch, Db};
use crate::documents::{self, ApplicationFacts, Decision, PaymentFacts};
use crate::error::{AppError, Result};
use crate::i18n::tf;
use crate::payments::{self, ForApplication, Payer, RefundDecision};
use crate::procedures::Procedure;

/// The kind of matter a refund above the tenant's limit is decided under (専決 table).
const REFUND_MATTER: &str = "還付";

/// 起案 are written in the office's language, whoever's act drafted them.
const KIAN_LANG: &str = crate::i18n::OFFICE;

/// Every capability's links to the others (cheap to clone: the 決裁 setup cache is shared).
#[derive(Clone)]
pub struct Links {
    setup: Arc<SetupCache>,
}

impl Links {
    pub fn new(setup: Arc<SetupCache>) -> Self {
        Links { setup }
    }
}

impl applications::Links for Links {
    async fn before_submission(&self, conn: &mut AnyConnection, p: &Procedure, application_id: i64) -> Result<()> {
        payments::require_paid_before_submission(conn, p, application_id).await
    }

    fn keep_record(&self, batch: &mut Batch, a: &Application, p: &Procedure, now: i64) {
        records::keep_batched(
            batch,
            a.tenant_id,
            &format!("application:{}", a.id),
            &format!("{}（{}）", p.def.title, a.receipt_number.as_deref().unwrap_or("-")),
            &p.def.division.code,
            i64::from(p.def.retention_years),
            p.def.disposal.as_str(),
            crate::clock::date_at(now),
            now,
        );
    }
}

impl kian::Links for Links {
    async fn application_matter(&self, db: &Db, staff: &Staff, application_id: i64) -> Result<Matter> {
        let a = applications::open_for_staff(db, staff, application_id, "draft the decision (起案)").await?;
        let p = applications::procedure_version(db, a.procedure_id).await?;
        let kind = p
            .def
            .matter
            .clone()
            .ok_or_else(|| AppError::Refused("no_route", detail!("detail.flows.procedure_decided_by_one")))?;
        Ok(Matter { kind, retention_years: i64::from(p.def.retention_years), disposal: p.def.disposal.as_str().into() })
    }

    async fn lock_application(
        &self,
        conn: &mut AnyConnection,
        keys: &Keyring,
        staff: &Staff,
        application_id: i64,
    ) -> Result<()> {
        applications::lock_row(conn, application_id).await?;
        let a = applications::load(conn, keys, application_id).await?;
        if !applications::staff_may_see(staff, &a) {
            return Err(AppError::NotFound);
        }
        if a.status != Status::Accepted {
            return Err(AppError::Refused("wrong_state", detail!("detail.flows.accepted_application_decided")));
        }
        Ok(())
    }

    async fn decide_application(
        &self,
        db: &Db,
        conn: &mut AnyConnection,
        base_url: &str,
        staff: &Staff,
        d: RouteDecision<'_>,
    ) -> Result<()> {
        let (id, approve, notice, number) = (d.application_id, d.approve, d.notice, d.number);
        applications::decide_by_route(db, self.clone(), conn, base_url, staff, id, approve, notice, number).await?;
        Ok(())
    }

    async fn archive_application(&self, conn: &mut AnyConnection, keys: &Keyring, id: i64) -> Result<Archived> {
        let (record, history, files) = applications::archived(conn, keys, id).await?;
        Ok(Archived { record, history, files })
    }

    async fn erase_application(&self, conn: &mut AnyConnection, id: i64, now: i64) -> Result<Vec<String>> {
        let mut files = applications::erase(conn, id, now).await?;
        files.extend(documents::records::dispose_of_application(conn, id, now).await?);
        Ok(files)
    }

    async fn signed_documents(&self, conn: &mut AnyConnection, of: SignedOf) -> Result<Vec<SignedDocument>> {
        documents::records::signed_of(conn, of).await
    }

    async fn file_uses(&self, db: &Db, sha: &str) -> Result<i64> {
        Ok(applications::file_uses(db, sha).await? + documents::records::file_uses(db, sha).await?)
    }

    async fn internal_executed(&self, conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
        payments::on_kian_executed(conn, kian_id).await
    }

    async fn internal_closed(&self, conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
        payments::on_kian_closed(conn, kian_id).await
    }
}

impl payments::Links for Links {
    type Drafted = (Draft, Prepared);

    async fn lock_application(
        &self,
        conn: &mut AnyConnection,
        keys: &Keyring,
        application_id: i64,
        payer: Payer,
    ) -> Result<ForApplication> {
        applications::lock_row(conn, application_id).await?;
        let a = applications::load(conn, keys, application_id).await?;
        let may = match &payer {
            Payer::Resident(id) => a.resident_id == *id,
            Payer::Staff(s) => applications::staff_may_see(s, &a),
            Payer::Cashier(s) => applications::may_take_cash(s, &a),
        };
        if !may {
            return Err(AppError::NotFound);
        }
        Ok(ForApplication {
            id: a.id,
            tenant_id: a.tenant_id,
            procedure_id: a.procedure_id,
            resident_id: a.resident_id,
            resident_name: a.resident_name,
            resident_email: a.resident_email,
            receipt_number: a.receipt_number,
            status: a.status,
        })
    }

    async fn addressee(&self, conn: &mut AnyConnection, application_id: i64) -> Result<payments::Addressee> {
        applications::mail_facts(conn, application_id).await
    }

    async fn division_code(&self, conn: &mut AnyConnection, application_id: i64) -> Result<String> {
        applications::division_code(conn, application_id).await
    }

    async fn attachment_name(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
        public_id: &str,
    ) -> Result<Option<String>> {
        applications::attachment_name(conn, application_id, public_id).await
    }

    async fn draft_refund_decision(&self, db: &Db, staff: &Staff, d: RefundDecision) -> Result<(Draft, Prepared)> {
        let id = d.payment_id.to_string();
        let mut draft = Draft {
            source: Source::Internal,
            application_id: None,
            title: tf(KIAN_LANG, "approval.draft_refund_title", &[("id", &id)]),
            body: tf(
                KIAN_LANG,
                "approval.draft_refund_body",
                &[("id", &id), ("amount", &d.amount.to_string()), ("reason", &d.reason)],
            ),
            matter_kind: REFUND_MATTER.into(),
            amount: Some(d.amount),
            important: false,
            urgent: false,
            decision: None,
            drafter_post: None,
            consult: Vec::new(),
            retention_years: 5,
            disposal: "haiki".into(),
        };
        let prep = kian::prepare(db, &self.setup, staff, &mut draft).await?;
        Ok((draft, prep))
    }

    async fn insert_refund_decision(
        &self,
        conn: &mut AnyConnection,
        staff: &Staff,
        (draft, prep): &(Draft, Prepared),
    ) -> Result<i64> {
        kian::insert(conn, staff, draft, prep).await
    }
}

impl documents::Links for Links {
    async fn application(&self, conn: &mut AnyConnection, application_id: i64) -> Result<ApplicationFacts> {
        applications::document_facts(conn, application_id).await
    }

    async fn decision_text(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
        decision: Decision,
        kian_id: Option<i64>,
    ) -> Result<Option<String>> {
        let action = match decision {
            Decision::Decide => "decide",
            Decision::Reject => "reject",
        };
        let text = applications::last_message(conn, application_id, action).await?;
        match kian_id {
            Some(k) if text.as_deref().is_none_or(str::is_empty) => approval::kian_body(conn, k).await,
            _ => Ok(text),
        }
    }

    async fn lock_application(&self, conn: &mut AnyConnection, application_id: i64) -> Result<()> {
        applications::lock_row(conn, application_id).await
    }

    async fn payment(&self, conn: &mut AnyConnection, payment_id: i64) -> Result<PaymentFacts> {
        payments::receipt_facts(conn, payment_id).await
    }

    async fn lock_payment(&self, conn: &mut AnyConnection, payment_id: i64) -> Result<bool> {
        payments::lock_paid(conn, payment_id).await
    }
}
