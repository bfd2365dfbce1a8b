//! The inboxes page (未処理, 起案中, 後閲, 供覧, 決裁済) with search.

use super::*;

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    #[serde(default, rename = "box")]
    which: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "approval_inbox.html")]
pub(super) struct InboxPage {
    l: Layout,
    tab: String,
    tabs: Vec<(String, String, i64)>,
    lines: Vec<Line>,
    q: String,
    admin: bool,
}

impl InboxPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn state_label(&self, s: &StateKind) -> String {
        self.l.t(&format!("approval.state_{s}"))
    }
}

pub(super) async fn inbox_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<InboxQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let query = q.q.unwrap_or_default();
    let which = q.which.as_deref().and_then(Inbox::parse).unwrap_or(Inbox::Pending);
    let lines = if query.trim().is_empty() {
        kian::inbox(&st.db, &setup, &s, which).await
    } else if query.chars().count() > 100 {
        Err(AppError::BadRequest(detail!("detail.request.search_too_long")))
    } else {
        kian::search(&st.db, &setup, &s, &query).await
    }
    .lang(&lang)?;
    let c = ctx.approval;
    let l = ctx.layout(&st, &crate::i18n::t(&lang, "approval.title"));
    let tabs = Inbox::ALL
        .iter()
        .map(|b| {
            let n = match b {
                Inbox::Pending => c.pending,
                Inbox::Kouetsu => c.kouetsu,
                Inbox::Kyoran => c.kyoran,
                _ => -1,
            };
            (b.as_str().to_string(), l.t(&format!("approval.box_{}", b.as_str())), n)
        })
        .collect();
    render(&InboxPage {
        l,
        tab: if query.trim().is_empty() { which.as_str().to_string() } else { String::new() },
        tabs,
        lines,
        q: query,
        admin: s.role == kencho_core::application::Role::Admin,
    })
    .lang(&lang)
}
