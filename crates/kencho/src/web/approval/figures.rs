//! The paperless figures page: how long routes and steps take, per division.

use super::*;

/// A horizontal bar of a server-drawn chart.
pub(super) struct Bar {
    label: String,
    value: f64,
    y: usize,
    w: usize,
}

#[derive(Template)]
#[template(path = "approval_figures.html")]
pub(super) struct FiguresPage {
    l: Layout,
    fy: i32,
    figures: Vec<DivisionFigures>,
    route_bars: Vec<Bar>,
    sent_back_bars: Vec<Bar>,
    division_names: HashMap<String, String>,
}

impl FiguresPage {
    fn name(&self, code: &str) -> String {
        if code.is_empty() {
            self.l.t("approval.fig_all")
        } else {
            self.division_names.get(code).cloned().unwrap_or_else(|| code.to_string())
        }
    }
    fn chart_height(&self, bars: &[Bar]) -> usize {
        bars.len() * 28 + 10
    }
}

pub(super) fn bars(items: Vec<(String, f64)>) -> Vec<Bar> {
    let max = items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(f64::EPSILON);
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| Bar { label, value, y: 5 + i * 28, w: ((value / max) * 380.0).round() as usize })
        .collect()
}

/// The fiscal year's span in epoch milliseconds (JST).
pub(super) fn fy_span(fy: i32) -> (i64, i64) {
    let start =
        |y: i32| time::Date::from_calendar_date(y, time::Month::April, 1).map(crate::clock::start_of).unwrap_or(0);
    (start(fy), start(fy + 1))
}

pub(super) async fn figures_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FyQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let fy = fy_of(&q).lang(&lang)?;
    let (from, to) = fy_span(fy);
    let figures = approval::figures(&st.db, s.tenant_id, from, to).await.lang(&lang)?;
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let division_names: HashMap<String, String> =
        setup.org.divisions.iter().map(|d| (d.id.0.clone(), d.name.clone())).collect();
    let label = |c: &str| division_names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let per_div: Vec<&DivisionFigures> = figures.iter().filter(|f| !f.division.is_empty()).collect();
    let route_bars = bars(per_div.iter().map(|f| (label(&f.division), f.per_route.median_days)).collect());
    let sent_back_bars = bars(per_div.iter().map(|f| (label(&f.division), f.sent_back as f64)).collect());
    render(&FiguresPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "approval.figures_title")),
        fy,
        figures,
        route_bars,
        sent_back_bars,
        division_names,
    })
    .lang(&lang)
}
