//! A 決裁 route and its state machine.
//!
//! A route is a list of stages run in order. A stage holds one step, or several for a parallel
//! 合議 (all must agree before it moves on). The deciding step is always the last stage, alone:
//! 回議 up the drafter's line, then 合議 with other divisions, then 決裁.
//!
//! ```text
//! Draft ─submit─▶ InProgress{stage} ─approve/agree…─▶ Decided{on}
//!   ▲                 │  ├─send back to drafter / disagree─▶ SentBack ─submit─▶ (stage 0)
//!   │                 │  ├─send back to earlier stage k────▶ InProgress{k}
//!   └──edit────────── │  ├─recall (before anyone acted)───▶ Withdrawn ─submit─▶ (stage 0)
//!                     │  └─reject──▶ Rejected     (drafter: abandon ─▶ Abandoned)
//! ```
//! A refused action changes nothing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::limits::{daiketsu_allowed, DaiketsuCase, DaiketsuRefusal};
use super::org::{DivisionId, Org, PersonId, PostId};
use super::rules::{deciding_post, RuleError, RuleRow};

mod types;

pub use types::*;

/// A decision document's route, with its state and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    drafter: PersonId,
    drafter_post: PostId,
    stages: Vec<Stage>,
    /// 供覧: posts that read it; they never block.
    readers: Vec<PostId>,
    state: State,
    events: Vec<Event>,
    kouetsu: Vec<Kouetsu>,
    /// Whether anyone but the drafter acted since the last submission (ends 引戻し).
    acted: bool,
    /// 重要・異例: never decided by 代決 (routes stored before this field read `false`; the
    /// stored 起案 sets it again with [`Route::set_flags`]).
    #[serde(default)]
    important: bool,
    /// 急施: the only matters 代決 may decide.
    #[serde(default)]
    urgent: bool,
}

/// Proposes a route: 回議 up `drafter_post`'s line to the deciding post, 合議 with `consult`
/// (an entry marked `true` runs at the same time as the 合議 before it), then 決裁. Starts as [`State::Draft`].
#[allow(clippy::too_many_arguments)] // mirrors the fields of a 起案 form one to one
pub fn propose(
    org: &Org,
    table: &[RuleRow],
    drafter: &PersonId,
    drafter_post: &PostId,
    kind: &str,
    amount: Option<i64>,
    important: bool,
    date: Date,
    consult: &[(DivisionId, bool)],
) -> Result<Route, ProposeError> {
    if org.holder(drafter_post, date).as_ref() != Some(drafter) {
        return Err(ProposeError::NotDrafterPost(drafter_post.clone()));
    }
    let line = org.line_above(drafter_post, date);
    let decider = deciding_post(table, kind, amount, important, date, &line)?;
    let mut stages: Vec<Stage> = line
        .iter()
        .take_while(|l| l.post != decider)
        .map(|l| Stage { steps: vec![Step::new(l.post.clone(), Role::Kaigi)] })
        .collect();
    let mut after_consult = false;
    for (division, with_previous) in consult {
        let post = org.head_post(division, date).ok_or_else(|| ProposeError::NoPostInDivision(division.clone()))?;
        let step = Step::new(post, Role::Aigi);
        match stages.last_mut() {
            Some(last) if *with_previous && after_consult => last.steps.push(step),
            _ => stages.push(Stage { steps: vec![step] }),
        }
        after_consult = true;
    }
    stages.push(Stage { steps: vec![Step::new(decider, Role::Decide)] });
    Ok(Route {
        drafter: drafter.clone(),
        drafter_post: drafter_post.clone(),
        stages,
        readers: Vec::new(),
        state: State::Draft,
        events: Vec::new(),
        kouetsu: Vec::new(),
        acted: false,
        important,
        urgent: false,
    })
}

impl Route {
    pub fn drafter(&self) -> &PersonId {
        &self.drafter
    }

    pub fn drafter_post(&self) -> &PostId {
        &self.drafter_post
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    pub fn readers(&self) -> &[PostId] {
        &self.readers
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn kouetsu(&self) -> &[Kouetsu] {
        &self.kouetsu
    }

    pub fn important(&self) -> bool {
        self.important
    }

    pub fn urgent(&self) -> bool {
        self.urgent
    }

    /// Sets 重要・異例 and 急施 as the 起案 records them.
    pub fn set_flags(&mut self, important: bool, urgent: bool) {
        self.important = important;
        self.urgent = urgent;
    }

    /// Who agreed, for the agreed 合議 step whose post `wanted` picks (the last agreement
    /// by that post, since a resubmission asks again).
    pub fn agreed_by(&self, wanted: impl Fn(&PostId) -> bool) -> Option<PersonId> {
        let step = self
            .stages
            .iter()
            .flat_map(|s| s.steps.iter())
            .find(|s| s.role == Role::Aigi && s.done == Some(Done::Agreed) && wanted(&s.post))?;
        self.events
            .iter()
            .rev()
            .find(|e| e.act == Act::Agreed && e.as_post.as_ref() == Some(&step.post))
            .and_then(|e| e.actor.clone())
    }

    /// Whether the route asks a post `wanted` accepts for its 合議 (answered or not).
    pub fn consults(&self, wanted: impl Fn(&PostId) -> bool) -> bool {
        self.stages.iter().flat_map(|s| s.steps.iter()).any(|s| s.role == Role::Aigi && wanted(&s.post))
    }

    /// Whether a 合議 ever answered 不同意 on this route.
    pub fn disagreed(&self) -> bool {
        self.events.iter().any(|e| e.act == Act::Disagreed)
    }

    /// Forgets every comment (公文書の廃棄: what people wrote goes, that they acted stays).
    pub fn redact_comments(&mut self) {
        for e in &mut self.events {
            e.comment = None;
        }
    }

    /// The deciding post (the last stage's step).
    pub fn decider(&self) -> Option<&PostId> {
        self.decide_step().map(|s| &s.post)
    }

    fn decide_step(&self) -> Option<&Step> {
        self.stages.last().and_then(|st| st.steps.iter().find(|s| s.role == Role::Decide))
    }

    /// The steps waiting for someone now, as (stage, index in stage).
    pub fn current_steps(&self) -> Vec<(usize, usize)> {
        match self.state {
            State::InProgress { stage } => self
                .stages
                .get(stage)
                .map(|st| {
                    st.steps.iter().enumerate().filter(|(_, s)| s.done.is_none()).map(|(i, _)| (stage, i)).collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn editable(&self) -> bool {
        self.state.kind().is_editable()
    }

    /// Adds a 回議 or 合議 step as a new stage at `at` (not after the deciding step).
    pub fn add_step(&mut self, at: usize, post: PostId, role: Role) -> Result<(), EditError> {
        if !self.editable() {
            return Err(EditError::NotEditable);
        }
        if role == Role::Decide || at >= self.stages.len() {
            return Err(EditError::BadPosition);
        }
        self.stages.insert(at, Stage { steps: vec![Step::new(post, role)] });
        Ok(())
    }

    /// Adds a 合議 step to an existing stage, making it (or keeping it) a parallel group.
    pub fn add_parallel(&mut self, stage: usize, post: PostId) -> Result<(), EditError> {
        if !self.editable() {
            return Err(EditError::NotEditable);
        }
        let last = self.stages.len().saturating_sub(1);
        match self.stages.get_mut(stage) {
            Some(st) if stage < last && st.steps.iter().all(|s| s.role == Role::Aigi) => {
                st.steps.push(Step::new(post, Role::Aigi));
                Ok(())
            }
            _ => Err(EditError::BadPosition),
        }
    }

    /// Removes a step; a stage left empty disappears. The deciding step stays.
    pub fn remove_step(&mut self, stage: usize, index: usize) -> Result<(), EditError> {
        let role = self.stages.get(stage).and_then(|st| st.steps.get(index)).map(|s| s.role);
        match role {
            None => Err(EditError::NoSuchStep),
            Some(Role::Decide) => Err(EditError::CannotRemoveDecider),
            Some(_) if !self.editable() => Err(EditError::NotEditable),
            Some(_) => {
                if let Some(st) = self.stages.get_mut(stage) {
                    st.steps.remove(index);
                    if st.steps.is_empty() {
                        self.stages.remove(stage);
                    }
                }
                Ok(())
            }
        }
    }

    /// Adds a 供覧 reader; allowed in any live state since it never blocks.
    pub fn add_reader(&mut self, post: PostId) -> Result<(), EditError> {
        if matches!(self.state, State::Rejected | State::Abandoned) {
            return Err(EditError::NotEditable);
        }
        if !self.readers.contains(&post) {
            self.readers.push(post);
        }
        Ok(())
    }

    fn record(&mut self, ctx: &Ctx, actor: Option<&PersonId>, as_post: Option<&PostId>, act: Act) -> usize {
        self.events.push(Event {
            at: ctx.at,
            actor: actor.cloned(),
            as_post: as_post.cloned(),
            on_behalf_of: None,
            stage: None,
            act,
            comment: None,
        });
        self.events.len() - 1
    }

    fn record_full(&mut self, event: Event) -> usize {
        self.events.push(event);
        self.events.len() - 1
    }

    /// Records that `step` was passed over or acted for, and owes its holder a 後閲.
    fn pass_over(&mut self, ctx: &Ctx, stage: usize, index: usize, done: Done, act: Act, actor: Option<&PersonId>) {
        let Some(step) = self.stages.get_mut(stage).and_then(|st| st.steps.get_mut(index)) else { return };
        step.done = Some(done);
        let post = step.post.clone();
        let holder = ctx.org.holder(&post, ctx.date());
        if act == Act::SubstituteDecided || act == Act::TookOver {
            // The acting event itself is recorded by the caller; only the 後閲 is owed here.
            return;
        }
        let event = self.record_full(Event {
            at: ctx.at,
            actor: actor.cloned(),
            as_post: None,
            on_behalf_of: holder.clone(),
            stage: Some(stage),
            act,
            comment: None,
        });
        if let Some(person) = holder {
            self.kouetsu.push(Kouetsu { person, post, event, read: false });
        }
    }

    /// Moves to `stage`, passing over absent (or vacant) 回議 approvers, until a stage needs
    /// someone. The deciding step and 合議 are never passed over automatically.
    fn enter(&mut self, ctx: &Ctx, mut stage: usize) {
        while let Some(st) = self.stages.get(stage) {
            let skippable: Vec<usize> = st
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.done.is_none()
                        && s.role == Role::Kaigi
                        && ctx.org.holder(&s.post, ctx.date()).is_none_or(|h| ctx.absent.contains(&h))
                })
                .map(|(i, _)| i)
                .collect();
            for i in skippable {
                self.pass_over(ctx, stage, i, Done::Skipped, Act::SkippedAbsent, None);
            }
            if self.stages.get(stage).is_some_and(Stage::complete) {
                stage += 1;
            } else {
                break;
            }
        }
        self.state = State::InProgress { stage };
    }

    fn clear_from(&mut self, stage: usize) {
        for st in self.stages.iter_mut().skip(stage) {
            for s in &mut st.steps {
                s.done = None;
            }
        }
    }

    /// The pending step of the current stage whose post `actor` holds.
    fn my_step(&self, ctx: &Ctx, actor: &PersonId) -> Option<(usize, usize)> {
        self.current_steps().into_iter().find(|&(st, i)| {
            self.stages
                .get(st)
                .and_then(|s| s.steps.get(i))
                .is_some_and(|s| ctx.org.holder(&s.post, ctx.date()).as_ref() == Some(actor))
        })
    }

    fn step(&self, stage: usize, index: usize) -> Option<&Step> {
        self.stages.get(stage).and_then(|s| s.steps.get(index))
    }

    /// Completes a step and moves on when its stage is complete.
    fn complete(&mut self, ctx: &Ctx, stage: usize, index: usize, done: Done) {
        if let Some(s) = self.stages.get_mut(stage).and_then(|st| st.steps.get_mut(index)) {
            s.done = Some(done);
        }
        if self.step(stage, index).is_some_and(|s| s.role == Role::Decide) {
            self.state = State::Decided { on: ctx.date() };
        } else if self.stages.get(stage).is_some_and(Stage::complete) {
            self.enter(ctx, stage + 1);
        }
    }

    fn event(
        ctx: &Ctx,
        actor: &PersonId,
        post: Option<&PostId>,
        stage: Option<usize>,
        act: Act,
        comment: Option<String>,
    ) -> Event {
        Event {
            at: ctx.at,
            actor: Some(actor.clone()),
            as_post: post.cloned(),
            on_behalf_of: None,
            stage,
            act,
            comment,
        }
    }

    /// Applies `action` by `actor`. Every accepted act appends at least one [`Event`]; a refused
    /// one leaves the route exactly as it was.
    pub fn act(&mut self, ctx: &Ctx, actor: &PersonId, action: Action) -> Result<(), ActError> {
        // 却下・廃案 are final: nothing, not even reading, is accepted afterwards.
        if matches!(self.state, State::Rejected | State::Abandoned) {
            return Err(ActError::WrongState);
        }
        match action {
            Action::Submit => self.submit(ctx, actor),
            Action::Approve { comment } => self.decide_or_pass(ctx, actor, comment, false),
            Action::Agree { comment } => self.decide_or_pass(ctx, actor, comment, true),
            Action::Disagree { comment } => self.disagree(ctx, actor, comment),
            Action::SendBack { to, comment } => self.send_back(ctx, actor, to, comment),
            Action::Recall => self.recall(ctx, actor),
            Action::Reject { comment } => self.reject(ctx, actor, comment),
            Action::Abandon { comment } => self.abandon(ctx, actor, comment),
            Action::SubstituteDecide { comment } => self.substitute_decide(ctx, actor, comment),
            Action::TakeOver { comment } => self.take_over(ctx, actor, comment),
            Action::Read => self.read(ctx, actor),
        }
    }

    /// 起案 (or 再提出 after a send-back) by the drafter: the route starts again from stage 0.
    fn submit(&mut self, ctx: &Ctx, actor: &PersonId) -> Result<(), ActError> {
        if actor != &self.drafter {
            return Err(ActError::NotAllowed);
        }
        if !self.editable() {
            return Err(ActError::WrongState);
        }
        let post = self.drafter_post.clone();
        self.record(ctx, Some(actor), Some(&post), Act::Submitted);
        self.acted = false;
        self.clear_from(0);
        self.enter(ctx, 0);
        Ok(())
    }

    /// 合議 disagreement: only a 合議 step may disagree, and it sends the draft back.
    fn disagree(&mut self, ctx: &Ctx, actor: &PersonId, comment: String) -> Result<(), ActError> {
        let (st, i) = self.my_step(ctx, actor).ok_or(ActError::NotAllowed)?;
        let step = self.step(st, i).ok_or(ActError::NotAllowed)?;
        if step.role != Role::Aigi {
            return Err(ActError::NotAllowed);
        }
        let post = step.post.clone();
        self.record_full(Self::event(ctx, actor, Some(&post), Some(st), Act::Disagreed, Some(comment)));
        self.acted = true;
        self.state = State::SentBack;
        Ok(())
    }

    /// 差戻し by the holder of a pending step, to the drafter or to an earlier stage.
    fn send_back(&mut self, ctx: &Ctx, actor: &PersonId, to: SendBackTo, comment: String) -> Result<(), ActError> {
        let (st, i) = self.my_step(ctx, actor).ok_or(ActError::NotAllowed)?;
        if let SendBackTo::Stage(k) = to {
            if k >= st {
                return Err(ActError::BadTarget);
            }
        }
        let post = self.step(st, i).map(|s| s.post.clone());
        self.record_full(Self::event(ctx, actor, post.as_ref(), Some(st), Act::SentBack(to), Some(comment)));
        self.acted = true;
        match to {
            SendBackTo::Drafter => self.state = State::SentBack,
            SendBackTo::Stage(k) => {
                // The earlier step acts again; it chose nothing wrong by being absent
                // before, so it is not passed over automatically now.
                self.clear_from(k);
                self.state = State::InProgress { stage: k };
            }
        }
        Ok(())
    }

    /// 引戻し by the drafter, only while no one has acted on the draft yet.
    fn recall(&mut self, ctx: &Ctx, actor: &PersonId) -> Result<(), ActError> {
        if actor != &self.drafter {
            return Err(ActError::NotAllowed);
        }
        if !matches!(self.state, State::InProgress { .. }) {
            return Err(ActError::WrongState);
        }
        if self.acted {
            return Err(ActError::AlreadyActed);
        }
        let post = self.drafter_post.clone();
        self.record(ctx, Some(actor), Some(&post), Act::Recalled);
        self.state = State::Withdrawn;
        Ok(())
    }

    /// 却下 by the holder of a pending step; final.
    fn reject(&mut self, ctx: &Ctx, actor: &PersonId, comment: String) -> Result<(), ActError> {
        let (st, i) = self.my_step(ctx, actor).ok_or(ActError::NotAllowed)?;
        let post = self.step(st, i).map(|s| s.post.clone());
        self.record_full(Self::event(ctx, actor, post.as_ref(), Some(st), Act::Rejected, Some(comment)));
        self.state = State::Rejected;
        Ok(())
    }

    /// 廃案 by the drafter, at any time before the decision; final.
    fn abandon(&mut self, ctx: &Ctx, actor: &PersonId, comment: Option<String>) -> Result<(), ActError> {
        if actor != &self.drafter {
            return Err(ActError::NotAllowed);
        }
        if matches!(self.state, State::Decided { .. }) {
            return Err(ActError::WrongState);
        }
        let post = self.drafter_post.clone();
        self.record_full(Self::event(ctx, actor, Some(&post), None, Act::Abandoned, comment));
        self.state = State::Abandoned;
        Ok(())
    }

    /// Reading by a 後閲 person (who owes it) or a reader post's holder.
    fn read(&mut self, ctx: &Ctx, actor: &PersonId) -> Result<(), ActError> {
        if !matches!(self.state, State::InProgress { .. } | State::Decided { .. }) {
            return Err(ActError::WrongState);
        }
        let date = ctx.date();
        let owed: Vec<usize> =
            self.kouetsu.iter().enumerate().filter(|(_, k)| !k.read && &k.person == actor).map(|(i, _)| i).collect();
        let reader = self.readers.iter().find(|p| ctx.org.holder(p, date).as_ref() == Some(actor)).cloned();
        if owed.is_empty() && reader.is_none() {
            return Err(ActError::NotAllowed);
        }
        for i in owed {
            if let Some(k) = self.kouetsu.get_mut(i) {
                k.read = true;
            }
        }
        self.record(ctx, Some(actor), reader.as_ref(), Act::Read);
        Ok(())
    }

    /// 承認 (回議 or 決裁) or 合議 agreement by the holder of a pending step.
    fn decide_or_pass(
        &mut self,
        ctx: &Ctx,
        actor: &PersonId,
        comment: Option<String>,
        agree: bool,
    ) -> Result<(), ActError> {
        let (st, i) = self.my_step(ctx, actor).ok_or(ActError::NotAllowed)?;
        let step = self.step(st, i).ok_or(ActError::NotAllowed)?;
        // Agreement is for 合議 only, approval for everything else, so the record says which.
        if agree != (step.role == Role::Aigi) {
            return Err(ActError::NotAllowed);
        }
        let post = step.post.clone();
        let act = if agree { Act::Agreed } else { Act::Approved };
        self.record_full(Self::event(ctx, actor, Some(&post), Some(st), act, comment));
        self.acted = true;
        self.complete(ctx, st, i, if agree { Done::Agreed } else { Done::Approved });
        Ok(())
    }

    /// The (stage, index) of the deciding step, when it is the one pending now.
    fn pending_decide(&self) -> Option<(usize, usize)> {
        self.current_steps().into_iter().find(|&(st, i)| self.step(st, i).is_some_and(|s| s.role == Role::Decide))
    }

    /// 代決: only at the deciding step, only by a substitute registered for that post, and only
    /// where the 規程 allows it ([`daiketsu_allowed`]: decider absent, matter urgent, not
    /// 重要・異例, no 合議 disagreed). The decider owes a 後閲.
    fn substitute_decide(&mut self, ctx: &Ctx, actor: &PersonId, comment: Option<String>) -> Result<(), ActError> {
        let (st, i) = self.pending_decide().ok_or(ActError::WrongState)?;
        let post = self.step(st, i).map(|s| s.post.clone()).ok_or(ActError::WrongState)?;
        let date = ctx.date();
        let holder = ctx.org.holder(&post, date).ok_or(ActError::NotAbsent)?;
        let by_post = ctx.org.substitute_post(actor, &post, date).ok_or(ActError::NotAllowed)?;
        daiketsu_allowed(DaiketsuCase {
            decider_absent: ctx.absent.contains(&holder),
            urgent: self.urgent,
            important: self.important,
            disagreed: self.disagreed(),
        })
        .map_err(|r| match r {
            DaiketsuRefusal::Important => ActError::ImportantMatter,
            DaiketsuRefusal::Disagreed => ActError::AigiDisagreed,
            DaiketsuRefusal::NotAbsent => ActError::NotAbsent,
            DaiketsuRefusal::NotUrgent => ActError::NotUrgent,
        })?;
        let event = self.record_full(Event {
            at: ctx.at,
            actor: Some(actor.clone()),
            as_post: Some(by_post),
            on_behalf_of: Some(holder.clone()),
            stage: Some(st),
            act: Act::SubstituteDecided,
            comment,
        });
        self.kouetsu.push(Kouetsu { person: holder, post, event, read: false });
        self.acted = true;
        self.pass_over(ctx, st, i, Done::Substituted, Act::SubstituteDecided, Some(actor));
        self.state = State::Decided { on: date };
        Ok(())
    }

    /// 引上げ: the holder of a later 回議 or deciding step acts now, or a superior of the
    /// decider decides in their place. Everyone passed over gets 後閲. 合議 is never passed over.
    fn take_over(&mut self, ctx: &Ctx, actor: &PersonId, comment: Option<String>) -> Result<(), ActError> {
        let State::InProgress { stage: current } = self.state else { return Err(ActError::WrongState) };
        let date = ctx.date();
        let mine = |s: &Step| ctx.org.holder(&s.post, date).as_ref() == Some(actor);
        // A later single-step stage of the route that the actor holds.
        let target = self
            .stages
            .iter()
            .enumerate()
            .skip(current + 1)
            .find(|(_, st)| st.steps.len() == 1 && st.steps.iter().any(|s| s.role != Role::Aigi && mine(s)))
            .map(|(k, _)| (k, 0usize, None));
        let target = match target {
            Some(t) => t,
            None => {
                // Otherwise a superior of the decider may decide at the deciding step.
                let (st, i) = self.pending_decide().ok_or(ActError::NotAllowed)?;
                let decider = self.step(st, i).map(|s| s.post.clone()).ok_or(ActError::NotAllowed)?;
                let superior = ctx
                    .org
                    .posts_of(actor, date)
                    .into_iter()
                    .find(|p| ctx.org.is_above(p, &decider, date))
                    .ok_or(ActError::NotAllowed)?;
                (st, i, Some(superior))
            }
        };
        let (to, index, superior) = target;
        let passed: Vec<(usize, usize)> = (current..=to)
            .flat_map(|k| {
                let steps = self.stages.get(k).map(|s| s.steps.as_slice()).unwrap_or_default();
                steps.iter().enumerate().filter(|(_, s)| s.done.is_none()).map(move |(i, _)| (k, i)).collect::<Vec<_>>()
            })
            .filter(|&(k, i)| superior.is_some() || (k, i) != (to, index))
            .collect();
        if passed.iter().any(|&(k, i)| self.step(k, i).is_some_and(|s| s.role == Role::Aigi)) {
            return Err(ActError::WouldSkipAigi);
        }
        let as_post = superior.clone().or_else(|| self.step(to, index).map(|s| s.post.clone()));
        for (k, i) in passed {
            self.pass_over(ctx, k, i, Done::TakenOver, Act::Superseded, Some(actor));
        }
        self.record_full(Self::event(ctx, actor, as_post.as_ref(), Some(to), Act::TookOver, comment));
        self.acted = true;
        if superior.is_some() {
            // The decider's step was passed over above; the superior's act decides.
            self.state = State::Decided { on: date };
        } else {
            self.complete(ctx, to, index, Done::Approved);
        }
        Ok(())
    }
}
