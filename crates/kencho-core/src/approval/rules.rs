//! The 専決規程 table: per kind of matter (and amount), which post decides in the head's name.

use serde::{Deserialize, Serialize};
use time::Date;

use super::org::{LinePost, Period, PostId, Rank};

/// Amounts in yen, `min` included, `max` excluded; `max: None` means no upper limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountBand {
    pub min: i64,
    pub max: Option<i64>,
}

impl AmountBand {
    pub fn contains(&self, yen: i64) -> bool {
        self.min <= yen && self.max.is_none_or(|m| yen < m)
    }

    fn overlaps(&self, other: &AmountBand) -> bool {
        self.max.is_none_or(|m| other.min < m) && other.max.is_none_or(|m| self.min < m)
    }
}

/// Who decides: the first post of at least this rank in the drafter's line, or a named post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    Rank(Rank),
    Post(PostId),
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRow {
    /// Kind of matter, e.g. "物品購入"; compared exactly.
    pub kind: String,
    /// `None`: the row applies whatever the amount (and to matters without one).
    pub amount: Option<AmountBand>,
    pub decider: Decider,
    pub period: Period,
}

impl RuleRow {
    fn applies(&self, kind: &str, amount: Option<i64>, date: Date) -> bool {
        self.kind == kind
            && self.period.contains(date)
            && match (self.amount, amount) {
                (None, _) => true,
                (Some(band), Some(yen)) => band.contains(yen),
                // A banded row cannot decide a matter whose amount is unknown.
                (Some(_), None) => false,
            }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum RuleError {
    #[error("no 専決 rule for {kind} on {date}")]
    NoRule { kind: String, date: Date },
    #[error("more than one 専決 rule applies to {kind} on {date}")]
    Ambiguous { kind: String, date: Date },
    #[error("the drafter has no post above them to decide")]
    EmptyLine,
    #[error("the deciding post {0:?} is not in the drafter's line")]
    NotInLine(PostId),
    #[error("no post of rank {0:?} or above in the drafter's line")]
    NoSuchRank(Rank),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TableError {
    #[error("row {row}: kind is empty")]
    EmptyKind { row: usize },
    #[error("row {row}: the amount band is empty")]
    EmptyBand { row: usize },
    #[error("row {row}: ends before it starts")]
    EmptyPeriod { row: usize },
    #[error("rows {a} and {b} both apply to the same matter on some day")]
    Overlap { a: usize, b: usize },
}

/// Checks every row and every pair; returns all problems so an editor can show them at once.
pub fn check_table(rows: &[RuleRow]) -> Result<(), Vec<TableError>> {
    let mut errors = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.kind.trim().is_empty() {
            errors.push(TableError::EmptyKind { row: i });
        }
        if r.amount.is_some_and(|b| b.max.is_some_and(|m| m <= b.min)) {
            errors.push(TableError::EmptyBand { row: i });
        }
        if r.period.is_empty() {
            errors.push(TableError::EmptyPeriod { row: i });
        }
    }
    for (i, a) in rows.iter().enumerate() {
        for (j, b) in rows.iter().enumerate().skip(i + 1) {
            let amounts = match (a.amount, b.amount) {
                (Some(x), Some(y)) => x.overlaps(&y),
                // An unbanded row covers every amount.
                _ => true,
            };
            if a.kind == b.kind && amounts && a.period.overlaps(&b.period) {
                errors.push(TableError::Overlap { a: i, b: j });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Which post decides a matter. `line` is the drafter's line above them, nearest first
/// ([`super::org::Org::line_above`]). A 重要・異例 matter (`important`) is one its 専決 holder
/// may not decide (専決の制限): it goes one level up from the table's decider
/// ([`super::limits::one_level_up`]: 課長専決 → 部長), not to the head; a matter the table
/// leaves undelegated is the head's either way.
pub fn deciding_post(
    rows: &[RuleRow],
    kind: &str,
    amount: Option<i64>,
    important: bool,
    date: Date,
    line: &[LinePost],
) -> Result<PostId, RuleError> {
    let head = line.last().ok_or(RuleError::EmptyLine)?;
    match table_decider(rows, kind, amount, date, line) {
        Ok(post) if important => Ok(super::limits::one_level_up(line, &post).unwrap_or_else(|| head.post.clone())),
        Ok(post) => Ok(post),
        Err(RuleError::NoRule { .. }) if important => Ok(head.post.clone()),
        Err(e) => Err(e),
    }
}

/// The 専決 holder the table names for a matter.
fn table_decider(
    rows: &[RuleRow],
    kind: &str,
    amount: Option<i64>,
    date: Date,
    line: &[LinePost],
) -> Result<PostId, RuleError> {
    let mut found = rows.iter().filter(|r| r.applies(kind, amount, date));
    let row = found.next().ok_or_else(|| RuleError::NoRule { kind: kind.to_owned(), date })?;
    if found.next().is_some() {
        // Refuse rather than guess: a wrong decider makes the decision void.
        return Err(RuleError::Ambiguous { kind: kind.to_owned(), date });
    }
    match &row.decider {
        Decider::Post(p) => {
            if line.iter().any(|l| &l.post == p) {
                Ok(p.clone())
            } else {
                Err(RuleError::NotInLine(p.clone()))
            }
        }
        // A line without that exact rank (no 課長補佐, say) goes to the next one up.
        Decider::Rank(r) => line.iter().find(|l| l.rank >= *r).map(|l| l.post.clone()).ok_or(RuleError::NoSuchRank(*r)),
    }
}
