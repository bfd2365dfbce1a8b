//! The worked example (財政課, April reshuffle, 代決, parallel 合議) and properties of the machine.

use std::collections::BTreeSet;

use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use super::org::*;
use super::route::*;
use super::rules::*;

fn p(s: &str) -> PersonId {
    PersonId(s.into())
}
fn post(s: &str) -> PostId {
    PostId(s.into())
}
fn div(s: &str) -> DivisionId {
    DivisionId(s.into())
}

const START: Date = date!(2020 - 04 - 01);
const RESHUFFLE: Date = date!(2027 - 04 - 01);

/// 県 ─ 総務部 ─ 財政課 ─ 管理係, plus 契約課 (総務部) and 会計課 (県) for 合議.
fn org() -> Org {
    let d = |id: &str, parent: Option<&str>| Division {
        id: div(id),
        name: id.into(),
        parent: parent.map(div),
        period: Period::from(START),
    };
    let ps = |id: &str, division: &str, rank: Rank| Post {
        id: post(id),
        name: id.into(),
        division: div(division),
        rank,
        period: Period::from(START),
    };
    let a = |person: &str, post_id: &str, from: Date, to: Option<Date>| Assignment {
        person: p(person),
        post: post(post_id),
        period: Period { from, to },
    };
    Org {
        divisions: vec![
            d("県", None),
            d("総務部", Some("県")),
            d("財政課", Some("総務部")),
            d("管理係", Some("財政課")),
            d("契約課", Some("総務部")),
            d("会計課", Some("県")),
        ],
        posts: vec![
            ps("管理係担当", "管理係", Rank::TANTO),
            ps("管理係長", "管理係", Rank::KAKARICHO),
            ps("財政課長補佐", "財政課", Rank::KACHO_HOSA),
            ps("財政課長", "財政課", Rank::KACHO),
            ps("総務部担当", "総務部", Rank::TANTO),
            ps("総務部長", "総務部", Rank::BUCHO),
            ps("副知事", "県", Rank::FUKU),
            ps("知事", "県", Rank::HEAD),
            ps("契約課長", "契約課", Rank::KACHO),
            ps("会計課長", "会計課", Rank::KACHO),
        ],
        assignments: vec![
            a("tanaka", "管理係担当", START, None),
            a("suzuki", "管理係長", START, None),
            a("sato", "財政課長補佐", START, None),
            a("takahashi", "財政課長", START, Some(date!(2027 - 03 - 31))),
            a("nakamura", "財政課長", RESHUFFLE, None),
            a("ito", "総務部長", START, None),
            a("watanabe", "副知事", START, None),
            a("yamamoto", "知事", START, None),
            a("kobayashi", "契約課長", START, None),
            a("kato", "会計課長", START, None),
        ],
        substitutes: vec![Substitute {
            for_post: post("財政課長"),
            by_post: post("財政課長補佐"),
            period: Period::from(START),
        }],
    }
}

fn table() -> Vec<RuleRow> {
    let row = |min: i64, max: Option<i64>, rank: Rank, from: Date, to: Option<Date>| RuleRow {
        kind: "物品購入".into(),
        amount: Some(AmountBand { min, max }),
        decider: Decider::Rank(rank),
        period: Period { from, to },
    };
    vec![
        row(0, Some(1_000_000), Rank::KACHO, START, Some(date!(2027 - 03 - 31))),
        // The April 2027 revision: small purchases now also go to the 部長.
        row(0, Some(1_000_000), Rank::BUCHO, RESHUFFLE, None),
        row(1_000_000, None, Rank::BUCHO, START, None),
    ]
}

/// An urgent (急施) purchase, so that 代決 is possible while the 課長 is away.
fn draft(date: Date, consult: &[(DivisionId, bool)]) -> Route {
    let mut r =
        propose(&org(), &table(), &p("tanaka"), &post("管理係担当"), "物品購入", Some(300_000), false, date, consult)
            .unwrap();
    r.set_flags(false, true);
    r
}

fn at(d: Date) -> OffsetDateTime {
    d.midnight().assume_utc()
}

fn posts_of(route: &Route) -> Vec<Vec<&str>> {
    route.stages().iter().map(|s| s.steps.iter().map(|st| st.post.0.as_str()).collect()).collect()
}

#[test]
fn line_up_respects_ranks_and_dates() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let line: Vec<String> = org.line_up(&div("管理係"), d).into_iter().map(|p| p.0).collect();
    // 総務部担当 is not in the line: it is not above the 課長.
    assert_eq!(line, ["管理係担当", "管理係長", "財政課長補佐", "財政課長", "総務部長", "副知事", "知事"]);
    assert_eq!(org.holder(&post("財政課長"), date!(2027 - 03 - 31)), Some(p("takahashi")));
    assert_eq!(org.holder(&post("財政課長"), RESHUFFLE), Some(p("nakamura")));
    assert_eq!(org.holder(&post("財政課長"), date!(2019 - 01 - 01)), None);
    assert!(org.is_above(&post("総務部長"), &post("財政課長"), d));
}

#[test]
fn purchase_of_300000_is_decided_by_the_kacho() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let mut route = draft(d, &[]);
    assert_eq!(posts_of(&route), [["管理係長"], ["財政課長補佐"], ["財政課長"]]);
    let none = BTreeSet::new();
    let ctx = Ctx { org: &org, at: at(d), absent: &none };
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    assert_eq!(route.current_steps(), [(0, 0)]);
    // Not the holder of the current step.
    assert_eq!(route.act(&ctx, &p("sato"), Action::Approve { comment: None }), Err(ActError::NotAllowed));
    for who in ["suzuki", "sato", "takahashi"] {
        route.act(&ctx, &p(who), Action::Approve { comment: None }).unwrap();
    }
    assert_eq!(route.state(), &State::Decided { on: d });
    assert!(route.kouetsu().is_empty());
}

#[test]
fn april_revision_moves_it_to_the_bucho() {
    let before = draft(date!(2027 - 03 - 31), &[]);
    assert_eq!(before.decider(), Some(&post("財政課長")));
    let after = draft(RESHUFFLE, &[]);
    assert_eq!(after.decider(), Some(&post("総務部長")));
    assert_eq!(posts_of(&after), [["管理係長"], ["財政課長補佐"], ["財政課長"], ["総務部長"]]);
    assert!(check_table(&table()).is_ok());
}

/// 専決の制限: a 重要・異例 matter goes one level above its 専決 holder, not to the head (it
/// went to the 知事 before issue 18).
#[test]
fn important_matters_go_one_level_up() {
    let propose_on = |amount, date| {
        propose(&org(), &table(), &p("tanaka"), &post("管理係担当"), "物品購入", Some(amount), true, date, &[])
            .unwrap()
            .decider()
            .cloned()
    };
    // 課長専決 → 部長 (the 課長補佐 between is no 専決 level).
    assert_eq!(propose_on(300_000, date!(2026 - 06 - 01)), Some(post("総務部長")));
    // 部長専決 (after the April 2027 revision) → 副知事, still not the 知事.
    assert_eq!(propose_on(1, RESHUFFLE), Some(post("副知事")));
    // A matter the table does not delegate is the head's.
    let r = propose(&org(), &table(), &p("tanaka"), &post("管理係担当"), "告示", None, true, RESHUFFLE, &[]).unwrap();
    assert_eq!(r.decider(), Some(&post("知事")));
}

#[test]
fn table_errors() {
    let mut t = table();
    t.push(RuleRow {
        kind: "物品購入".into(),
        amount: Some(AmountBand { min: 500_000, max: Some(2_000_000) }),
        decider: Decider::Rank(Rank::BUCHO),
        period: Period::from(date!(2028 - 01 - 01)),
    });
    t.push(RuleRow {
        kind: " ".into(),
        amount: None,
        decider: Decider::Rank(Rank::KACHO),
        period: Period::from(START),
    });
    let errs = check_table(&t).unwrap_err();
    assert!(errs.contains(&TableError::Overlap { a: 1, b: 3 }), "{errs:?}");
    assert!(errs.contains(&TableError::Overlap { a: 2, b: 3 }), "{errs:?}");
    assert!(errs.contains(&TableError::EmptyKind { row: 4 }), "{errs:?}");
    let line = org().line_above(&post("管理係担当"), date!(2028 - 02 - 01));
    assert!(matches!(
        deciding_post(&t, "物品購入", Some(600_000), false, date!(2028 - 02 - 01), &line),
        Err(RuleError::Ambiguous { .. })
    ));
    assert!(matches!(
        deciding_post(&t, "出張", None, false, date!(2028 - 02 - 01), &line),
        Err(RuleError::NoRule { .. })
    ));
}

#[test]
fn daiketsu_by_hosa_while_kacho_absent() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let mut route = draft(d, &[]);
    let none = BTreeSet::new();
    let away: BTreeSet<PersonId> = [p("takahashi")].into();
    let ctx = Ctx { org: &org, at: at(d), absent: &none };
    let ctx_away = Ctx { org: &org, at: at(d), absent: &away };
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    // Not at the deciding step yet.
    assert_eq!(route.act(&ctx_away, &p("sato"), Action::SubstituteDecide { comment: None }), Err(ActError::WrongState));
    route.act(&ctx, &p("suzuki"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("sato"), Action::Approve { comment: None }).unwrap();
    // The 課長 is here: no 代決.
    assert_eq!(route.act(&ctx, &p("sato"), Action::SubstituteDecide { comment: None }), Err(ActError::NotAbsent));
    // Not a registered substitute.
    assert_eq!(
        route.act(&ctx_away, &p("suzuki"), Action::SubstituteDecide { comment: None }),
        Err(ActError::NotAllowed)
    );
    // Not urgent, or 重要・異例: no 代決 either, however absent the 課長.
    route.set_flags(false, false);
    assert_eq!(route.act(&ctx_away, &p("sato"), Action::SubstituteDecide { comment: None }), Err(ActError::NotUrgent));
    route.set_flags(true, true);
    assert_eq!(
        route.act(&ctx_away, &p("sato"), Action::SubstituteDecide { comment: None }),
        Err(ActError::ImportantMatter)
    );
    route.set_flags(false, true);
    route.act(&ctx_away, &p("sato"), Action::SubstituteDecide { comment: Some("急ぎ".into()) }).unwrap();
    assert_eq!(route.state(), &State::Decided { on: d });
    let last = route.events().last().unwrap();
    assert_eq!((last.actor.clone(), last.as_post.clone()), (Some(p("sato")), Some(post("財政課長補佐"))));
    assert_eq!(last.on_behalf_of, Some(p("takahashi")));
    assert_eq!(route.kouetsu().len(), 1);
    assert_eq!(route.kouetsu()[0].person, p("takahashi"));
    route.act(&ctx, &p("takahashi"), Action::Read).unwrap();
    assert!(route.kouetsu()[0].read);
}

/// A matter a 合議 disagreed with is never decided by 代決, even after resubmission.
#[test]
fn no_daiketsu_after_a_disagreement() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let mut route = draft(d, &[(div("契約課"), false)]);
    let none = BTreeSet::new();
    let away: BTreeSet<PersonId> = [p("takahashi")].into();
    let ctx = Ctx { org: &org, at: at(d), absent: &none };
    let ctx_away = Ctx { org: &org, at: at(d), absent: &away };
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    route.act(&ctx, &p("suzuki"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("sato"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("kobayashi"), Action::Disagree { comment: "単価が高い".into() }).unwrap();
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    route.act(&ctx, &p("suzuki"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("sato"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("kobayashi"), Action::Agree { comment: None }).unwrap();
    assert_eq!(
        route.act(&ctx_away, &p("sato"), Action::SubstituteDecide { comment: None }),
        Err(ActError::AigiDisagreed)
    );
    // The 課長 decides on return.
    route.act(&ctx, &p("takahashi"), Action::Approve { comment: None }).unwrap();
    assert_eq!(route.state(), &State::Decided { on: d });
}

#[test]
fn parallel_aigi_with_two_divisions() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let mut route = draft(d, &[(div("契約課"), false), (div("会計課"), true)]);
    assert_eq!(
        posts_of(&route),
        vec![vec!["管理係長"], vec!["財政課長補佐"], vec!["契約課長", "会計課長"], vec!["財政課長"]]
    );
    // The route asks each division's 合議 until it is taken off, agreed or not.
    assert!(route.consults(|p| p == &post("会計課長")) && !route.consults(|p| p == &post("財政課長")));
    let mut without = route.clone();
    without.remove_step(2, 1).unwrap();
    assert!(!without.consults(|p| p == &post("会計課長")));
    let none = BTreeSet::new();
    let ctx = Ctx { org: &org, at: at(d), absent: &none };
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    route.act(&ctx, &p("suzuki"), Action::Approve { comment: None }).unwrap();
    route.act(&ctx, &p("sato"), Action::Approve { comment: None }).unwrap();
    assert_eq!(route.current_steps(), [(2, 0), (2, 1)]);
    // 合議 is agreed, not approved; and the decider must wait.
    assert_eq!(route.act(&ctx, &p("kato"), Action::Approve { comment: None }), Err(ActError::NotAllowed));
    assert_eq!(route.act(&ctx, &p("takahashi"), Action::Approve { comment: None }), Err(ActError::NotAllowed));
    route.act(&ctx, &p("kato"), Action::Agree { comment: Some("支出科目確認済".into()) }).unwrap();
    assert_eq!(route.current_steps(), [(2, 0)]);
    route.act(&ctx, &p("kobayashi"), Action::Agree { comment: None }).unwrap();
    assert_eq!(route.current_steps(), [(3, 0)]);
    route.act(&ctx, &p("takahashi"), Action::Approve { comment: None }).unwrap();
    assert!(matches!(route.state(), State::Decided { .. }));
    // Serial consultation makes one stage each.
    let serial = draft(d, &[(div("契約課"), false), (div("会計課"), false)]);
    assert_eq!(serial.stages().len(), 5);
}

#[test]
fn edits_recall_skip_send_back_and_take_over() {
    let org = org();
    let d = date!(2026 - 06 - 01);
    let none = BTreeSet::new();
    let ctx = Ctx { org: &org, at: at(d), absent: &none };
    let mut route = draft(d, &[]);
    assert_eq!(route.remove_step(2, 0), Err(EditError::CannotRemoveDecider));
    route.add_step(0, post("総務部担当"), Role::Kaigi).unwrap();
    route.remove_step(0, 0).unwrap();
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    assert_eq!(route.add_step(0, post("総務部担当"), Role::Kaigi), Err(EditError::NotEditable));
    route.act(&ctx, &p("tanaka"), Action::Recall).unwrap();
    assert_eq!(route.state(), &State::Withdrawn);
    route.act(&ctx, &p("tanaka"), Action::Submit).unwrap();
    route.act(&ctx, &p("suzuki"), Action::Approve { comment: None }).unwrap();
    assert_eq!(route.act(&ctx, &p("tanaka"), Action::Recall), Err(ActError::AlreadyActed));
    // 差戻し from the 補佐 to the 係長, who acts again.
    route.act(&ctx, &p("sato"), Action::SendBack { to: SendBackTo::Stage(0), comment: "単価を確認".into() }).unwrap();
    assert_eq!(route.current_steps(), [(0, 0)]);
    // 引上げ: the 課長 acts ahead of the 係長 and 補佐, who read it afterwards.
    route.act(&ctx, &p("takahashi"), Action::TakeOver { comment: None }).unwrap();
    assert!(matches!(route.state(), State::Decided { .. }));
    let owed: Vec<&str> = route.kouetsu().iter().map(|k| k.person.0.as_str()).collect();
    assert_eq!(owed, ["suzuki", "sato"]);

    // An absent 係長 is passed over automatically.
    let away: BTreeSet<PersonId> = [p("suzuki")].into();
    let mut route = draft(d, &[]);
    route.act(&Ctx { org: &org, at: at(d), absent: &away }, &p("tanaka"), Action::Submit).unwrap();
    assert_eq!(route.current_steps(), [(1, 0)]);
    assert_eq!(route.kouetsu()[0].person, p("suzuki"));
    route.act(&ctx, &p("sato"), Action::Reject { comment: "不要".into() }).unwrap();
    assert_eq!(route.act(&ctx, &p("suzuki"), Action::Read), Err(ActError::WrongState));
}

const PEOPLE: [&str; 10] =
    ["tanaka", "suzuki", "sato", "takahashi", "ito", "watanabe", "yamamoto", "kobayashi", "kato", "nobody"];

fn action(n: u8, k: usize) -> Action {
    match n % 12 {
        0 => Action::Submit,
        1 | 2 => Action::Approve { comment: None },
        3 => Action::Agree { comment: None },
        4 => Action::Disagree { comment: "x".into() },
        5 => Action::SendBack {
            to: if k == 0 { SendBackTo::Drafter } else { SendBackTo::Stage(k - 1) },
            comment: "x".into(),
        },
        6 => Action::Recall,
        7 => Action::Reject { comment: "x".into() },
        8 => Action::Abandon { comment: None },
        9 => Action::SubstituteDecide { comment: None },
        10 => Action::TakeOver { comment: None },
        _ => Action::Read,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_machine_keeps_its_promises(
        consult in prop::collection::vec((0usize..2, any::<bool>()), 0..3),
        moves in prop::collection::vec((0usize..20, any::<u8>(), 0usize..6, any::<u16>()), 0..40),
    ) {
        let org = org();
        let d = date!(2026 - 06 - 01);
        let divisions = [div("契約課"), div("会計課")];
        let consult: Vec<(DivisionId, bool)> =
            consult.into_iter().map(|(i, par)| (divisions[i].clone(), par)).collect();
        let mut route = draft(d, &consult);
        let decider = route.decider().cloned().unwrap();
        let mut t = datetime!(2026-06-01 09:00 UTC);
        for (who, n, k, mask) in moves {
            // Half the moves come from whoever the route waits on, so runs get far along.
            let actor = match (PEOPLE.get(who), route.current_steps().first()) {
                (Some(name), _) => p(name),
                (None, Some(&(st, i))) => org.holder(&route.stages()[st].steps[i].post, d).unwrap(),
                (None, None) => route.drafter().clone(),
            };
            let absent: BTreeSet<PersonId> =
                PEOPLE.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, s)| p(s)).collect();
            let ctx = Ctx { org: &org, at: t, absent: &absent };
            t += time::Duration::minutes(1);
            let before = route.clone();
            let act = action(n, k);
            let result = route.act(&ctx, &actor, act.clone());
            if result.is_err() {
                prop_assert_eq!(&route, &before, "a refused act changed the route");
                continue;
            }
            // After 却下 / 廃案 nothing is accepted.
            prop_assert!(!matches!(before.state(), State::Rejected | State::Abandoned));
            // The name stored beside the route reads back as its state, and is the route's own tag.
            let kind = route.state().kind();
            prop_assert_eq!(StateKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(route.state()).unwrap();
            prop_assert_eq!(json["state"].as_str(), Some(kind.as_str()));
            // 引戻し only while nobody but the drafter has acted since submission.
            if act == Action::Recall {
                let since = before.events().iter().rposition(|e| e.act == Act::Submitted).unwrap();
                prop_assert!(before.events()[since..].iter().all(|e| e.actor.is_none()
                    || e.actor.as_ref() == Some(route.drafter()) || e.act == Act::Read));
            }
            // Every 合議 before the current stage (or all of them once decided) was agreed.
            let reached = match route.state() {
                State::InProgress { stage } => *stage,
                State::Decided { .. } => route.stages().len(),
                _ => 0,
            };
            for st in &route.stages()[..reached] {
                for s in &st.steps {
                    prop_assert!(s.done.is_some());
                    if s.role == Role::Aigi {
                        prop_assert_eq!(s.done, Some(Done::Agreed));
                    }
                }
            }
            // Never decided without the deciding step acted on by someone entitled to.
            if matches!(route.state(), State::Decided { .. }) && !matches!(before.state(), State::Decided { .. }) {
                let step = &route.stages().last().unwrap().steps[0];
                prop_assert_eq!(&step.post, &decider);
                let e = route.events().iter().rev().find(|e| e.act != Act::Superseded).unwrap();
                let by = e.actor.clone().unwrap();
                match step.done {
                    Some(Done::Approved) => prop_assert!(
                        org.holder(&decider, d) == Some(by.clone())
                            && (e.act == Act::Approved || e.act == Act::TookOver)
                    ),
                    Some(Done::Substituted) => {
                        prop_assert_eq!(&e.act, &Act::SubstituteDecided);
                        prop_assert!(org.is_substitute(&by, &decider, d));
                        prop_assert!(absent.contains(&org.holder(&decider, d).unwrap()));
                        // 代決 only for an urgent matter that is not 重要・異例 and that no
                        // 合議 ever disagreed with.
                        prop_assert!(before.urgent() && !before.important() && !before.disagreed());
                    }
                    Some(Done::TakenOver) => {
                        prop_assert_eq!(&e.act, &Act::TookOver);
                        prop_assert!(org.posts_of(&by, d).iter().any(|q| org.is_above(q, &decider, d)));
                    }
                    other => prop_assert!(false, "decided with the deciding step {:?}", other),
                }
            }
            // Every 後閲 is owed by someone passed over or acted for.
            for k in route.kouetsu() {
                let e = &route.events()[k.event];
                prop_assert!(matches!(e.act, Act::SkippedAbsent | Act::Superseded | Act::SubstituteDecided));
                prop_assert_eq!(e.on_behalf_of.as_ref(), Some(&k.person));
            }
        }
    }
}

/// Every state's stored name reads back as that state, is its JSON name and its display; other
/// text is refused.
#[test]
fn state_names_round_trip() {
    for k in StateKind::ALL {
        assert_eq!(StateKind::parse(k.as_str()), Some(k));
        assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        assert_eq!(k.to_string(), k.as_str());
    }
    for bad in ["", "Draft", "decided ", "in-progress", "kept"] {
        assert_eq!(StateKind::parse(bad), None, "{bad}");
    }
}
