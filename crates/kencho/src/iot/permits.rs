//! Capture permits (捕獲許可, 鳥獣保護管理法 第9条): registration, traps working under them, and
//! each permit's report (捕獲等の結果の報告, due 30 days after the period ends). The rules are
//! `kencho_core::iot::wildlife`; this module holds the SQL.

use kencho_core::forms::{iso, parse_iso_date};
use kencho_core::iot::wildlife::{self as rules, CaptureError, Permit, Species, TrapType};
use kencho_core::security::policy::{Action, Who};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// A permit as entered (API JSON or the page's form).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPermit {
    /// 許可番号.
    pub number: String,
    /// 許可を受けた者 (or 従事者).
    pub holder: String,
    /// The holder's e-mail, when the holder is one of the trap's hunters or a staff member.
    #[serde(default)]
    pub holder_email: String,
    /// Species keys: inoshishi, nihonjika, nihonzaru, tsukinowaguma, hakubishin, araiguma,
    /// tanuki, or `other:名前`.
    pub species: Vec<String>,
    /// First day, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub valid_to: String,
    pub area: String,
    /// kukuri (くくりわな), hako (はこわな), hakootoshi (はこおとし), kakoi (囲いわな).
    pub trap_types: Vec<String>,
}

impl NewPermit {
    /// Reads the entry into the core's permit; names the first problem.
    pub fn to_permit(&self) -> std::result::Result<Permit, CaptureError> {
        let mut species = Vec::new();
        for s in &self.species {
            let s = s.trim();
            let sp = match s.strip_prefix("other:") {
                Some(name) => Species::parse("other", name)?,
                None => Species::parse(s, "")?,
            };
            if !species.contains(&sp) {
                species.push(sp);
            }
        }
        let mut trap_types = Vec::new();
        for t in &self.trap_types {
            let t = TrapType::parse(t).ok_or(CaptureError::UnknownTrapType)?;
            if !trap_types.contains(&t) {
                trap_types.push(t);
            }
        }
        let date = |s: &str| parse_iso_date(s.trim()).ok_or(CaptureError::PermitPeriod);
        let p = Permit {
            number: self.number.trim().to_string(),
            holder: self.holder.trim().to_string(),
            species,
            from: date(&self.valid_from)?,
            to: date(&self.valid_to)?,
            area: self.area.trim().to_string(),
            trap_types,
        };
        p.validate()?;
        Ok(p)
    }
}

/// A stored permit with its report state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermitInfo {
    pub id: i64,
    pub number: String,
    pub holder: String,
    pub holder_email: String,
    pub species: Vec<String>,
    pub valid_from: String,
    pub valid_to: String,
    pub area: String,
    pub trap_types: Vec<String>,
    /// 報告期限: the last day of the period + 30 days.
    pub report_due: String,
    pub reported_at: Option<i64>,
    /// Past the due date and not reported.
    pub overdue: bool,
    /// Traps (devices) working under it.
    pub devices: i64,
}

impl PermitInfo {
    /// The core's permit (for the rules and the report).
    pub fn permit(&self) -> Result<Permit> {
        let bad = || AppError::Internal(format!("stored permit {} does not read", self.id));
        Ok(Permit {
            number: self.number.clone(),
            holder: self.holder.clone(),
            species: self.species.iter().map(|s| Species::from_stored(s)).collect::<Option<_>>().ok_or_else(bad)?,
            from: parse_iso_date(&self.valid_from).ok_or_else(bad)?,
            to: parse_iso_date(&self.valid_to).ok_or_else(bad)?,
            area: self.area.clone(),
            trap_types: self.trap_types.iter().map(|t| TrapType::parse(t)).collect::<Option<_>>().ok_or_else(bad)?,
        })
    }
}

/// Registers a permit; 許可番号 is unique within the tenant.
pub async fn add(db: &Db, tenant_id: i64, p: &NewPermit, actor: &str) -> Result<i64> {
    let permit = p.to_permit()?;
    let email = p.holder_email.trim().to_lowercase();
    if !email.is_empty() && !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest("holder_email: not an e-mail address".into()));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let taken = sqlx::query("SELECT 1 FROM iot_permits WHERE tenant_id = $1 AND number = $2")
                .bind(tenant_id)
                .bind(&permit.number)
                .fetch_optional(&mut *conn)
                .await?;
            if taken.is_some() {
                return Err(AppError::Conflict(format!("permit {} is already registered", permit.number)));
            }
            let species: Vec<String> = permit.species.iter().map(Species::stored).collect();
            let traps: Vec<&str> = permit.trap_types.iter().map(|t| t.key()).collect();
            let id: i64 = sqlx::query(
                "INSERT INTO iot_permits (tenant_id, number, holder, holder_email, species, valid_from, valid_to, area, \
                 trap_types, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(tenant_id)
            .bind(&permit.number)
            .bind(&permit.holder)
            .bind(&email)
            .bind(serde_json::to_string(&species).unwrap_or_default())
            .bind(iso(permit.from))
            .bind(iso(permit.to))
            .bind(&permit.area)
            .bind(serde_json::to_string(&traps).unwrap_or_default())
            .bind(&actor)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.permit_registered",
                &format!("permit:{id}"),
                serde_json::json!({"number": permit.number, "species": species, "from": iso(permit.from), "to": iso(permit.to)}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

const COLUMNS: &str = "p.id AS id, p.number AS number, p.holder AS holder, p.holder_email AS holder_email, \
    p.species AS species, p.valid_from AS valid_from, p.valid_to AS valid_to, p.area AS area, p.trap_types AS trap_types, \
    p.reported_at AS reported_at, (SELECT COUNT(*) FROM iot_devices d WHERE d.permit_id = p.id AND d.retired_at IS NULL) AS devices";

fn read(r: &sqlx::any::AnyRow, today: time::Date) -> Result<PermitInfo> {
    let list = |col: &str| -> Result<Vec<String>> {
        Ok(serde_json::from_str(&r.try_get::<String, _>(col)?).unwrap_or_default())
    };
    let valid_to: String = r.try_get("valid_to")?;
    let reported_at: Option<i64> = r.try_get("reported_at")?;
    let to = parse_iso_date(&valid_to).ok_or_else(|| AppError::Internal("stored permit date".into()))?;
    Ok(PermitInfo {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        holder: r.try_get("holder")?,
        holder_email: r.try_get("holder_email")?,
        species: list("species")?,
        valid_from: r.try_get("valid_from")?,
        valid_to,
        area: r.try_get("area")?,
        trap_types: list("trap_types")?,
        report_due: iso(rules::report_due(to)),
        overdue: rules::report_overdue(to, today, reported_at.is_some()),
        reported_at,
        devices: r.try_get("devices")?,
    })
}

/// The tenant's permits, newest period first.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<PermitInfo>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM iot_permits p WHERE p.tenant_id = $1 ORDER BY p.valid_to DESC, p.id DESC"
    ))
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    let today = crate::clock::date_at(now_ms());
    rows.iter().map(|r| read(r, today)).collect()
}

/// One permit of the tenant (another tenant's is "not found").
pub async fn get(db: &Db, tenant_id: i64, id: i64) -> Result<PermitInfo> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM iot_permits p WHERE p.tenant_id = $1 AND p.id = $2"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    read(&row, crate::clock::date_at(now_ms()))
}

/// Puts a trap under a permit with its trap type (one the permit allows).
pub async fn assign_device(
    db: &Db,
    tenant_id: i64,
    permit_id: i64,
    device_id: i64,
    trap_type: &str,
    actor: &str,
) -> Result<()> {
    let permit = get(db, tenant_id, permit_id).await?.permit()?;
    let t = TrapType::parse(trap_type).ok_or(CaptureError::UnknownTrapType)?;
    if !permit.trap_types.contains(&t) {
        return Err(CaptureError::TrapTypeNotPermitted.into());
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE iot_devices SET permit_id = $1, trap_type = $2 WHERE id = $3 AND tenant_id = $4 \
                 AND kind = 'trap' AND retired_at IS NULL",
            )
            .bind(permit_id)
            .bind(t.key())
            .bind(device_id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.trap_permit_assigned",
                &format!("device:{device_id}"),
                serde_json::json!({"permit": permit_id, "trap_type": t.key()}),
            )
            .await
        })
    })
    .await
}

/// Records that the result was reported to the 都道府県知事 (or the office that issued it).
pub async fn mark_reported(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE iot_permits SET reported_at = $1 WHERE id = $2 AND tenant_id = $3 AND reported_at IS NULL",
            )
            .bind(now_ms())
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                let exists = sqlx::query("SELECT 1 FROM iot_permits WHERE id = $1 AND tenant_id = $2")
                    .bind(id)
                    .bind(tenant_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                return Err(if exists.is_some() {
                    AppError::Conflict("the report is already recorded".into())
                } else {
                    AppError::NotFound
                });
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.permit_reported",
                &format!("permit:{id}"),
                serde_json::json!({}),
            )
            .await
        })
    })
    .await
}

/// A trap's permit and trap type, read inside the capture's transaction.
pub struct TrapPermit {
    pub permit_id: i64,
    pub permit: Permit,
    pub trap_type: Option<TrapType>,
}

pub async fn of_device(conn: &mut AnyConnection, tenant_id: i64, device_id: i64) -> Result<Option<TrapPermit>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, dv.trap_type AS device_trap_type FROM iot_devices dv JOIN iot_permits p ON p.id = dv.permit_id \
         WHERE dv.id = $1 AND dv.tenant_id = $2 AND p.tenant_id = $2"
    ))
    .bind(device_id)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let info = read(&r, crate::clock::date_at(now_ms()))?;
    let trap_type: Option<String> = r.try_get("device_trap_type")?;
    Ok(Some(TrapPermit {
        permit_id: info.id,
        permit: info.permit()?,
        trap_type: trap_type.as_deref().and_then(TrapType::parse),
    }))
}

/// Who hears of a 錯誤捕獲: the tenant's 鳥獣 staff (everyone its roles table grants
/// [`Action::Wildlife`], by role and, when the tenant names them, division); when the table
/// grants it to nobody on the staff, the tenant's administrators, so that the news reaches
/// someone who can act or set the roles. The flag says whether it fell back.
pub async fn wildlife_staff(conn: &mut AnyConnection, tenant_id: i64) -> Result<(Vec<String>, bool)> {
    let (policy, _) = crate::security::policy::load_in(conn, tenant_id).await?;
    let rows = sqlx::query(
        "SELECT s.email AS email, s.role AS role, d.code AS division FROM staff s JOIN divisions d ON d.id = s.division_id \
         WHERE s.tenant_id = $1 ORDER BY s.id",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let (mut granted, mut admins) = (Vec::new(), Vec::new());
    for r in &rows {
        let (email, role, division): (String, String, String) =
            (r.try_get("email")?, r.try_get("role")?, r.try_get("division")?);
        let Some(role) = kencho_core::application::Role::parse(&role) else { continue };
        if policy.allows(Action::Wildlife, Who { role, division: &division }, None) {
            granted.push(email);
        } else if role == kencho_core::application::Role::Admin {
            admins.push(email);
        }
    }
    Ok(if granted.is_empty() { (admins, true) } else { (granted, false) })
}

/// The permit (and trap type) of the trap behind a mailed acknowledgement token, for the
/// capture form.
pub async fn of_ack_token(db: &Db, token: &str) -> Result<Option<(PermitInfo, Option<String>)>> {
    if token.len() > 100 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, dv.trap_type AS device_trap_type FROM iot_alarms a \
         JOIN iot_devices dv ON a.subject = 'device:' || CAST(dv.id AS TEXT) AND dv.tenant_id = a.tenant_id \
         JOIN iot_permits p ON p.id = dv.permit_id AND p.tenant_id = a.tenant_id WHERE a.ack_token = $1"
    ))
    .bind(token)
    .fetch_optional(&db.read)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((read(&r, crate::clock::date_at(now_ms()))?, r.try_get("device_trap_type")?)))
}
