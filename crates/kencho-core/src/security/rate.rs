//! The rate limiter for sign-in and second-factor attempts.
//!
//! An attempt is counted *before* the password is checked, in the same atomic step that reads
//! the limit (the storage layer serialises it per key), so concurrent guesses cannot all slip
//! under the limit. Exceeding the limit blocks the key for a while that doubles with each
//! block (5 min, 10, 20, 40, then 60 at most) and is forgotten a day after the last block.
//!
//! Keys are chosen by the caller so that a stranger cannot lock an owner out: the tight limit
//! is per (account, address); the per-account limit is looser and is not applied to a browser
//! that has signed in to that account before (OWASP's "device cookie" defence).

/// A limit: at most `max` counted attempts per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub max: u32,
    pub window_ms: i64,
}

/// The stored state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Attempts counted in the current window.
    pub count: u32,
    pub window_start: i64,
    /// Until when attempts are refused (0: not blocked).
    pub blocked_until: i64,
    /// Blocks so far (sets the next block's length).
    pub strikes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused until `until` (epoch ms); `started` when this attempt caused the block.
    Blocked {
        until: i64,
        started: bool,
    },
}

const FIRST_BLOCK_MS: i64 = 5 * 60_000;
const LONGEST_BLOCK_MS: i64 = 60 * 60_000;
/// Strikes are forgotten this long after the last block ended.
const STRIKE_MEMORY_MS: i64 = 24 * 3_600_000;

/// How long the `strikes`-th block lasts.
pub fn block_ms(strikes: u32) -> i64 {
    let doubled = FIRST_BLOCK_MS.saturating_mul(1i64 << strikes.saturating_sub(1).min(20));
    doubled.min(LONGEST_BLOCK_MS)
}

/// An attempt is about to be made at `now`: counts it and says whether it may go ahead.
pub fn attempt(s: State, now: i64, rule: Rule) -> (State, Decision) {
    if s.blocked_until > now {
        return (s, Decision::Blocked { until: s.blocked_until, started: false });
    }
    let mut s = s;
    if s.strikes > 0 && s.blocked_until.saturating_add(STRIKE_MEMORY_MS) < now {
        s.strikes = 0;
    }
    // Only a window that has run out starts afresh. Concurrent attempts read the clock before
    // they take the key's lock, so one may come in with a time a little before the window
    // another just opened: that is the same window, not a new one (it once was, and 6 of 40
    // concurrent guesses got through on PostgreSQL).
    if now.saturating_sub(s.window_start) >= rule.window_ms {
        s.count = 0;
        s.window_start = now;
    }
    if s.count >= rule.max {
        s.strikes = s.strikes.saturating_add(1);
        s.blocked_until = now.saturating_add(block_ms(s.strikes));
        s.count = 0;
        s.window_start = now;
        return (s, Decision::Blocked { until: s.blocked_until, started: true });
    }
    s.count += 1;
    (s, Decision::Allowed)
}

/// The counted attempt succeeded. On a key shared by many accounts or addresses it simply no
/// longer counts; on the key of one (account, address) the slate is wiped.
pub fn succeeded(s: State, wipe: bool) -> State {
    if wipe {
        return State::default();
    }
    State { count: s.count.saturating_sub(1), ..s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RULE: Rule = Rule { max: 5, window_ms: 15 * 60_000 };

    #[test]
    fn a_burst_gets_max_then_blocks_with_doubling_backoff() {
        let mut s = State::default();
        let mut allowed = 0;
        for _ in 0..40 {
            let (n, d) = attempt(s, 1_000, RULE);
            s = n;
            if d == Decision::Allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5, "40 simultaneous guesses, 5 evaluated");
        assert_eq!(s.blocked_until, 1_000 + 5 * 60_000);
        // After the block: five more, then a block twice as long.
        let t = s.blocked_until;
        for i in 0..5 {
            let (n, d) = attempt(s, t + i, RULE);
            assert_eq!(d, Decision::Allowed);
            s = n;
        }
        let (s, d) = attempt(s, t + 10, RULE);
        assert_eq!(d, Decision::Blocked { until: t + 10 + 10 * 60_000, started: true });
        assert_eq!(block_ms(9), LONGEST_BLOCK_MS);
        // A day after the last block, strikes are forgotten.
        let later = s.blocked_until + STRIKE_MEMORY_MS + 1;
        let (s, _) = attempt(s, later, RULE);
        assert_eq!(s.strikes, 0);
    }

    #[test]
    fn attempts_timed_just_before_the_window_count_in_it() {
        // 40 concurrent attempts whose clocks were read in another order than they got the lock.
        let mut s = State::default();
        let mut allowed = 0;
        for i in 0..40i64 {
            let (n, d) = attempt(s, 1_800_000_000_000 - (i * 7919) % 13, RULE);
            s = n;
            allowed += usize::from(d == Decision::Allowed);
        }
        assert_eq!(allowed, 5);
    }

    #[test]
    fn success_uncounts_or_wipes() {
        let (s, _) = attempt(State::default(), 0, RULE);
        assert_eq!(succeeded(s, false).count, 0);
        let blocked = State { count: 3, window_start: 0, blocked_until: 9, strikes: 2 };
        assert_eq!(succeeded(blocked, true), State::default());
    }

    proptest! {
        /// Whatever the timing: never more than `max` attempts are let through in one window,
        /// a blocked key lets nothing through until its block ends, and the count stays in range.
        #[test]
        fn never_more_than_max_per_window(steps in proptest::collection::vec((0i64..120_000, any::<bool>()), 1..300)) {
            let mut s = State::default();
            let mut now = 1_000_000i64;
            let mut allowed_at: Vec<i64> = Vec::new();
            for (dt, ok) in steps {
                now += dt;
                let before = s;
                let (n, d) = attempt(s, now, RULE);
                if before.blocked_until > now {
                    let refused = matches!(d, Decision::Blocked { started: false, .. });
                    prop_assert!(refused, "a blocked key let an attempt through");
                }
                s = n;
                prop_assert!(s.count <= RULE.max);
                if d == Decision::Allowed {
                    if ok {
                        s = succeeded(s, false);
                    } else {
                        allowed_at.push(now);
                    }
                }
            }
            // Failed attempts let through within any window's length: `max` at the end of one
            // window, `max` at the start of the next (fixed windows), and — by design, see the
            // burst test — `max` more once a block shorter than the window has ended; the
            // block that follows is twice as long. (Found by a seed kept in
            // proptest-regressions: 4 + 5 + 2 let through in 15 minutes.)
            for (i, t) in allowed_at.iter().enumerate() {
                let in_window = allowed_at[i..].iter().take_while(|u| **u < t + RULE.window_ms).count();
                prop_assert!(in_window <= 3 * RULE.max as usize, "{in_window} in one window");
            }
        }
    }
}
