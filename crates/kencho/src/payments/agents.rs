//! 指定納付受託者 (地方自治法231条の2の3): a payment provider takes a tenant's revenues only when
//! the 長 has designated it and published the 告示 naming it and the revenues it takes. kencho
//! keeps that 指定 per provider: the agent's name, the 告示's number and date, and the revenues
//! covered (items of the 手数料条例, or `*` for every fee). A provider is switched on only with
//! its 指定, and takes only what it covers.

use kencho_core::payment::provider::Provider;
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::{AnyConnection, Row};

use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Checked, Result};

/// The providers that can be designated (the counter is the 会計管理者's own cash).
pub const PROVIDERS: [Provider; 2] = Provider::DESIGNABLE;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// sandbox or stripe (from the path; a body's own is not used).
    #[serde(default, deserialize_with = "ignored_provider", serialize_with = "super::provider_name")]
    #[schema(value_type = String)]
    pub provider: Option<Provider>,
    /// 指定納付受託者の名称.
    pub agent_name: String,
    /// 告示番号 (e.g. 南相馬市告示第12号).
    pub kokuji_number: String,
    /// 告示日 (YYYY-MM-DD).
    pub kokuji_date: String,
    /// The revenues the 告示 names: item codes of the 手数料条例, or `["*"]` for every fee.
    pub covers: Vec<String>,
}

/// The provider a body names is replaced by the path's, so any text is accepted there.
fn ignored_provider<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Provider>, D::Error> {
    Ok(Provider::parse(&String::deserialize(d)?))
}

impl Agent {
    /// The provider's name ("" when none is set yet).
    pub fn provider_name(&self) -> &'static str {
        self.provider.map_or("", Provider::as_str)
    }

    pub fn covers_item(&self, item: &str) -> bool {
        self.covers.iter().any(|c| c == "*" || (!item.is_empty() && c == item))
    }

    fn problems(&self, schedule: Option<&kencho_core::payment::schedule::Schedule>) -> Vec<String> {
        let mut p = Vec::new();
        let bad = |v: &str| v.trim().is_empty() || v.chars().count() > 200;
        if bad(&self.agent_name) {
            p.push("agent_name: the agent's name (1–200 characters)".to_string());
        }
        if bad(&self.kokuji_number) {
            p.push("kokuji_number: the 告示's number".to_string());
        }
        if kencho_core::approval::doc::parse_date(&self.kokuji_date).is_none() {
            p.push("kokuji_date: YYYY-MM-DD".to_string());
        }
        if self.covers.is_empty() {
            p.push("covers: name the revenues (item codes, or \"*\" for every fee)".to_string());
        }
        for c in self.covers.iter().filter(|c| c.as_str() != "*") {
            if schedule.is_none_or(|s| s.item(c).is_none()) {
                p.push(format!("covers: {c:?} is not an item of the 手数料条例"));
            }
        }
        p
    }
}

fn agent_of(r: &sqlx::any::AnyRow) -> Result<Agent> {
    let covers: String = r.try_get("covers")?;
    Ok(Agent {
        provider: Some(crate::db::parsed(r, "provider", Provider::parse)?),
        agent_name: r.try_get("agent_name")?,
        kokuji_number: r.try_get("kokuji_number")?,
        kokuji_date: r.try_get("kokuji_date")?,
        covers: covers.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
    })
}

const COLS: &str = "provider, agent_name, kokuji_number, kokuji_date, covers";

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Agent>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM payment_agents WHERE tenant_id = $1 ORDER BY provider"))
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(agent_of).collect()
}

pub async fn get(conn: &mut AnyConnection, tenant_id: i64, provider: Provider) -> Result<Option<Agent>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM payment_agents WHERE tenant_id = $1 AND provider = $2"))
        .bind(tenant_id)
        .bind(provider.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(agent_of).transpose()
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
        AppError::Refused("agent_not_designated", format!("{provider} is not designated as 指定納付受託者"))
    })?;
    let item: Option<String> = sqlx::query("SELECT item_code FROM chotei WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("item_code"))
        .transpose()?;
    if agent.covers_item(item.as_deref().unwrap_or_default()) {
        Ok(())
    } else {
        Err(AppError::Refused(
            "agent_not_covering",
            format!("the 告示 of {} does not cover this fee; pay it at the counter", agent.agent_name),
        ))
    }
}

/// Records (or replaces) a provider's 指定 (administrators only), checked whole: a refused one
/// comes back as every problem, each named by its field (`kokuji_date: …`), and nothing is
/// recorded. The items it covers are checked against the tenant's 手数料条例.
pub async fn designate(db: &Db, by: &Staff, provider: &str, mut a: Agent) -> Result<Checked<Agent>> {
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
            sqlx::query(
                "INSERT INTO payment_agents (tenant_id, provider, agent_name, kokuji_number, kokuji_date, covers, designated_by, designated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, provider) DO UPDATE SET agent_name = excluded.agent_name, \
                 kokuji_number = excluded.kokuji_number, kokuji_date = excluded.kokuji_date, covers = excluded.covers, \
                 designated_by = excluded.designated_by, designated_at = excluded.designated_at",
            )
            .bind(tenant_id)
            .bind(provider.as_str())
            .bind(&a.agent_name)
            .bind(&a.kokuji_number)
            .bind(&a.kokuji_date)
            .bind(a.covers.join(","))
            .bind(&actor)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
            audit::append(conn, tenant_id, &actor, "payment_agent.designate", &format!("provider:{provider}"), serde_json::json!(a))
                .await?;
            Ok(())
        })
    })
    .await?;
    Ok(Ok(saved))
}

/// The demo's designation of the sandbox, so the demo can take payments (a made-up 告示).
pub async fn designate_demo_sandbox(conn: &mut AnyConnection, tenant_id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_agents (tenant_id, provider, agent_name, kokuji_number, kokuji_date, covers, designated_by, designated_at) \
         VALUES ($1, 'sandbox', '決済サンドボックス（デモ）', 'デモ告示第1号', '2026-04-01', '*', 'demo', $2) ON CONFLICT (tenant_id, provider) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
