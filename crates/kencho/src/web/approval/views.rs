//! Views shared by the pages and the API: a 起案 with its route, history and the acts the caller may do.

use super::*;

pub(super) fn post_name(setup: &Setup, post: &str) -> String {
    let today = crate::clock::date_at(now_ms());
    setup.org.post(&PostId(post.to_string()), today).map(|p| p.name.clone()).unwrap_or_else(|| post.to_string())
}

pub(super) async fn staff_names(st: &AppState, tenant_id: i64) -> Result<HashMap<i64, String>> {
    crate::accounts::staff_names(&st.db, tenant_id).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub post: String,
    pub post_name: String,
    /// Who holds the post today.
    pub holder: String,
    /// kaigi (回議), aigi (合議) or decide (決裁).
    pub role: String,
    /// approved, agreed, skipped, taken_over, substituted; empty while not done.
    pub done: String,
    /// Waiting for this step now.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    pub index: usize,
    pub steps: Vec<StepView>,
}

pub(super) fn role_name(r: Role) -> &'static str {
    match r {
        Role::Kaigi => "kaigi",
        Role::Aigi => "aigi",
        Role::Decide => "decide",
    }
}

pub(super) fn done_name(d: Option<Done>) -> &'static str {
    match d {
        None => "",
        Some(Done::Approved) => "approved",
        Some(Done::Agreed) => "agreed",
        Some(Done::Skipped) => "skipped",
        Some(Done::TakenOver) => "taken_over",
        Some(Done::Substituted) => "substituted",
    }
}

pub(super) fn stages(setup: &Setup, names: &HashMap<i64, String>, k: &Kian) -> Vec<StageView> {
    let today = crate::clock::date_at(now_ms());
    let current: BTreeSet<(usize, usize)> = k.route.current_steps().into_iter().collect();
    k.route
        .stages()
        .iter()
        .enumerate()
        .map(|(i, st)| StageView {
            index: i,
            steps: st
                .steps
                .iter()
                .enumerate()
                .map(|(j, s)| StepView {
                    post: s.post.0.clone(),
                    post_name: post_name(setup, &s.post.0),
                    holder: setup
                        .org
                        .holder(&s.post, today)
                        .as_ref()
                        .and_then(staff_id_of)
                        .and_then(|id| names.get(&id).cloned())
                        .unwrap_or_else(|| crate::i18n::t(crate::i18n::OFFICE, "approval.post_vacant")),
                    role: role_name(s.role).into(),
                    done: done_name(s.done).into(),
                    current: current.contains(&(i, j)),
                })
                .collect(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KouetsuView {
    pub person: String,
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KianView {
    pub id: i64,
    pub number: Option<String>,
    pub title: String,
    pub body: String,
    pub source: String,
    pub application_id: Option<i64>,
    pub matter_kind: String,
    pub amount: Option<i64>,
    pub important: bool,
    /// 急施.
    pub urgent: bool,
    pub decision: Option<String>,
    pub drafter: String,
    pub drafter_post: String,
    #[schema(value_type = String)]
    pub state: StateKind,
    pub decided_on: Option<String>,
    pub executed: bool,
    pub retention_years: i64,
    /// 1年未満, 5年, 常用 …
    pub retention: String,
    pub disposal: String,
    pub stages: Vec<StageView>,
    /// 供覧 posts.
    pub readers: Vec<String>,
    /// 後閲 owed.
    pub kouetsu: Vec<KouetsuView>,
    pub history: Vec<kian::HistoryLine>,
    pub files: Vec<kian::KianFile>,
    /// What the caller may do now.
    pub acts: Vec<String>,
}

/// The 起案 as shown, with the setup it was read against and whether `staff` drafted it.
pub(super) async fn view(st: &AppState, staff: &Staff, id: i64) -> Result<(KianView, Setup, bool)> {
    let setup = st.approval.get(&st.db, staff.tenant_id).await?;
    let k = kian::get(&st.db, &setup, staff, id).await?;
    let names = staff_names(st, staff.tenant_id).await?;
    let name_of = |p: &PersonId| staff_id_of(p).and_then(|i| names.get(&i).cloned()).unwrap_or_default();
    let acts = kian::available_acts(&st.db, &setup, staff, &k).await?;
    let (policy, _) = crate::security::policy::load(&st.db, staff.tenant_id).await?;
    let v = KianView {
        id: k.id,
        number: k.number.clone(),
        title: k.title.clone(),
        body: k.body.clone(),
        source: k.source.as_str().into(),
        application_id: k.application_id,
        matter_kind: k.matter_kind.clone(),
        amount: k.amount,
        important: k.important,
        urgent: k.urgent,
        decision: k.decision.clone(),
        drafter: names.get(&k.drafter_id).cloned().unwrap_or_default(),
        drafter_post: post_name(&setup, &k.drafter_post),
        state: k.state,
        decided_on: k.decided_on.clone(),
        executed: k.executed_at.is_some(),
        retention_years: k.retention_years,
        retention: RetentionClass::from_code(k.retention_years).map(RetentionClass::label).unwrap_or_default(),
        disposal: k.disposal.clone(),
        stages: stages(&setup, &names, &k),
        readers: k.route.readers().iter().map(|p| post_name(&setup, &p.0)).collect(),
        kouetsu: k.route.kouetsu().iter().map(|x| KouetsuView { person: name_of(&x.person), read: x.read }).collect(),
        history: kian::history(&st.db, id).await?,
        files: kian::files(&st.db, id).await?,
        acts: acts
            .into_iter()
            .map(str::to_string)
            .chain(
                (k.is_decided() && k.executed_at.is_none() && k.may_execute(&policy, staff))
                    .then(|| "execute".to_string()),
            )
            .collect(),
    };
    Ok((v, setup, k.drafter_id == staff.id))
}

/// After 施行 of an application decision the signed notice is issued, outside the decision's
/// transaction (rendering must not hold the write lock). If that fails, the decision stands and
/// the 起案's page offers to issue the notice again.
pub(super) async fn after_execute(st: &AppState, done: &kian::Executed, kian_id: i64) {
    if let Some(app) = done.application {
        if let Err(e) = crate::documents::issue_decision_notice(
            &st.db,
            &st.links,
            &st.cfg.base_url,
            &st.cfg.data_dir,
            app,
            Some(kian_id),
        )
        .await
        {
            tracing::error!(error = %e, application = app, kian = kian_id, "the signed notice was not issued");
        }
    }
}

/// Whether a carried-out application 起案 still lacks its signed notice.
pub(super) async fn notice_missing(st: &AppState, k: &KianView) -> Result<bool> {
    match (k.executed, k.application_id) {
        (true, Some(app)) => Ok(crate::documents::notice_for_application(&st.db, app).await?.is_none()),
        _ => Ok(false),
    }
}
