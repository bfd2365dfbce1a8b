//! 指定納付受託者 (地方自治法231条の2の3): a payment provider takes a tenant's revenues only when
//! the 長 has designated it and published the 告示 naming it and the revenues it takes. kencho
//! keeps that 指定 per provider: the agent's name, the 告示's number and date, and the revenues
//! covered (items of the 手数料条例, or `*` for every fee). A provider is switched on only with
//! its 指定, and takes only what it covers.

use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;

pub use super::model::Agent;
use super::store;
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

/// The providers that can be designated (the counter is the 会計管理者's own cash).
pub const PROVIDERS: [Provider; 2] = Provider::DESIGNABLE;

/// A problem of one field of a 指定 (the field's name, what is wrong).
pub type Problem = (&'static str, Detail);

impl Agent {
    fn problems(&self, schedule: Option<&kencho_core::payment::schedule::Schedule>) -> Vec<Problem> {
        let mut p = Vec::new();
        let bad = |v: &str| v.trim().is_empty() || v.chars().count() > 200;
        if bad(&self.agent_name) {
            p.push(("agent_name", detail!("detail.agents.name")));
        }
        if bad(&self.kokuji_number) {
            p.push(("kokuji_number", detail!("detail.agents.kokuji_number")));
        }
        if kencho_core::approval::doc::parse_date(&self.kokuji_date).is_none() {
            p.push(("kokuji_date", detail!("detail.agents.kokuji_date")));
        }
        if self.covers.is_empty() {
            p.push(("covers", detail!("detail.agents.covers")));
        }
        for c in self.covers.iter().filter(|c| c.as_str() != "*") {
            if schedule.is_none_or(|s| s.item(c).is_none()) {
                p.push(("covers", detail!("detail.agents.cover_unknown", item = format!("{c:?}"))));
            }
        }
        p
    }
}

/// The API's refusal of a 指定 with problems: each as `field: what is wrong`.
pub fn refusal(problems: Vec<Problem>) -> AppError {
    AppError::BadRequest(Detail::list(problems.into_iter().map(|(field, d)| Detail::at(field, d)).collect(), "; "))
}

/// The tenant's 指定納付受託者, by provider.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Agent>> {
    store::agents(db, tenant_id).await
}

/// The 指定 of `provider`, if recorded.
pub async fn get(conn: &mut AnyConnection, tenant_id: i64, provider: Provider) -> Result<Option<Agent>> {
    store::agent(conn, tenant_id, provider).await
}

/// Whether `provider` has its 指定 recorded (to switch it on).
pub async fn is_designated(db: &Db, tenant_id: i64, provider: Provider) -> Result<bool> {
    let mut conn = db.read.acquire().await?;
    Ok(get(&mut conn, tenant_id, provider).await?.is_some())
}

/// Refuses (409) a payment through `provider` of a revenue its 指定 does not cover:
/// `agent_not_designated`, `agent_not_covering`.
pub async fn require_covers(
    conn: &mut AnyConnection,
    tenant_id: i64,
    provider: Provider,
    payment_id: i64,
) -> Result<()> {
    let agent = get(conn, tenant_id, provider).await?.ok_or_else(|| {
        AppError::Refused("agent_not_designated", detail!("detail.payments.designated", provider = provider))
    })?;
    let item = store::chotei_item(conn, payment_id).await?;
    if agent.covers_item(item.as_deref().unwrap_or_default()) {
        Ok(())
    } else {
        Err(AppError::Refused(
            "agent_not_covering",
            detail!("detail.payments.does_cover_fee_pay", agent_name = agent.agent_name),
        ))
    }
}

/// Records (or replaces) a provider's 指定 (administrators only), checked whole: a refused one
/// comes back as every problem, each named by its field (`kokuji_date: …`), and nothing is
/// recorded. The items it covers are checked against the tenant's 手数料条例.
pub async fn designate(db: &Db, by: &Staff, provider: &str, mut a: Agent) -> Result<Result<Agent, Vec<Problem>>> {
    let Some(provider) = Provider::designable(provider) else {
        return Err(AppError::NotFound);
    };
    a.provider = Some(provider);
    let schedule = super::schedule::load(db, by.tenant_id).await?.map(|(s, _)| s);
    let problems = a.problems(schedule.as_ref());
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let (tenant_id, actor, saved) = (by.tenant_id, format!("staff:{}", by.id), a.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            store::upsert_agent(conn, (tenant_id, provider), &a, &actor, now_ms()).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "payment_agent.designate",
                &format!("provider:{provider}"),
                serde_json::json!(a),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(Ok(saved))
}

/// The demo's designation of the sandbox, so the demo can take payments (a made-up 告示).
pub async fn designate_demo_sandbox(conn: &mut AnyConnection, tenant_id: i64) -> Result<()> {
    store::insert_demo_sandbox_agent(conn, tenant_id, now_ms()).await
}
