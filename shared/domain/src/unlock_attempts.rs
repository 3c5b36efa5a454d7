//! The attempt limits of an unlock link: 5 wrong PHNs in a row lock it for 15 minutes, 20
//! wrong PHNs in all lock it for good.

use jiff::{SignedDuration, Timestamp};

pub const MAX_FAILURES_IN_ROW: u32 = 5;
pub const MAX_FAILURES_TOTAL: u32 = 20;
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);

/// The counters kept with an unlock link. `version` orders concurrent writers: a write
/// succeeds only on the version it read, so concurrent wrong attempts cannot pass a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    pub failures_in_row: u32,
    pub failures_total: u32,
    pub locked_until: Option<Timestamp>,
    pub locked_forever: bool,
    pub version: u64,
}

/// Whether a PHN may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Open { tries_left: u32 },
    Until(Timestamp),
    Forever,
}

impl Attempts {
    pub fn lock(&self, now: Timestamp) -> Lock {
        if self.locked_forever || self.failures_total >= MAX_FAILURES_TOTAL {
            return Lock::Forever;
        }
        match self.locked_until {
            Some(until) if until > now => Lock::Until(until),
            _ => Lock::Open {
                tries_left: (MAX_FAILURES_IN_ROW - self.failures_in_row.min(MAX_FAILURES_IN_ROW))
                    .min(MAX_FAILURES_TOTAL - self.failures_total),
            },
        }
    }

    /// The counters after a wrong PHN (call only when `lock` is `Open`).
    pub fn after_failure(&self, now: Timestamp) -> Attempts {
        let in_row = self.failures_in_row + 1;
        let total = self.failures_total + 1;
        let mut next = Attempts {
            failures_in_row: in_row,
            failures_total: total,
            version: self.version + 1,
            ..*self
        };
        if total >= MAX_FAILURES_TOTAL {
            next.locked_forever = true;
        } else if in_row >= MAX_FAILURES_IN_ROW {
            // The streak starts again once the lockout ends.
            next.locked_until = Some(now + LOCKOUT);
            next.failures_in_row = 0;
        }
        next
    }

    /// The counters after staff cleared the message's lock (the patient called them): every
    /// count starts again, whether the lock was for 15 minutes or for good.
    pub fn cleared(&self) -> Attempts {
        Attempts {
            version: self.version + 1,
            ..Attempts::default()
        }
    }

    /// The counters after the right PHN: the streak ends; the total stays.
    pub fn after_success(&self) -> Attempts {
        Attempts {
            failures_in_row: 0,
            version: self.version + 1,
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-25T18:00:00Z".parse().unwrap()
    }

    fn fail(mut attempts: Attempts, times: u32, at: Timestamp) -> Attempts {
        for _ in 0..times {
            assert!(matches!(attempts.lock(at), Lock::Open { .. }));
            attempts = attempts.after_failure(at);
        }
        attempts
    }

    #[test]
    fn five_wrong_in_a_row_lock_for_fifteen_minutes() {
        let attempts = fail(Attempts::default(), 4, now());
        assert_eq!(attempts.lock(now()), Lock::Open { tries_left: 1 });
        let attempts = attempts.after_failure(now());
        assert_eq!(attempts.lock(now()), Lock::Until(now() + LOCKOUT));
        assert_eq!(
            attempts.lock(now() + LOCKOUT - SignedDuration::from_secs(1)),
            Lock::Until(now() + LOCKOUT)
        );
        assert_eq!(attempts.lock(now() + LOCKOUT), Lock::Open { tries_left: 5 });
    }

    #[test]
    fn a_right_phn_ends_the_streak_but_not_the_total() {
        let attempts = fail(Attempts::default(), 4, now()).after_success();
        assert_eq!(attempts.lock(now()), Lock::Open { tries_left: 5 });
        assert_eq!(attempts.failures_total, 4);
    }

    #[test]
    fn twenty_wrong_in_all_lock_for_good() {
        let mut attempts = Attempts::default();
        let mut at = now();
        for _ in 0..3 {
            attempts = fail(attempts, 5, at);
            at += LOCKOUT;
        }
        assert_eq!(attempts.failures_total, 15);
        attempts = fail(attempts, 4, at).after_success();
        assert_eq!(attempts.lock(at), Lock::Open { tries_left: 1 });
        attempts = attempts.after_failure(at);
        assert_eq!(
            attempts.lock(at + SignedDuration::from_hours(24 * 365)),
            Lock::Forever
        );
    }

    #[test]
    fn every_write_moves_the_version() {
        let attempts = Attempts::default();
        assert_eq!(attempts.after_failure(now()).version, 1);
        assert_eq!(attempts.after_success().version, 1);
    }

    #[test]
    fn clearing_a_lock_for_good_or_for_a_while_opens_it_with_every_count_reset() {
        let mut attempts = Attempts::default();
        for _ in 0..MAX_FAILURES_TOTAL {
            attempts = Attempts {
                locked_until: None,
                ..attempts.after_failure(now())
            };
        }
        assert_eq!(attempts.lock(now()), Lock::Forever);
        let cleared = attempts.cleared();
        assert_eq!(
            cleared.lock(now()),
            Lock::Open {
                tries_left: MAX_FAILURES_IN_ROW
            }
        );
        assert_eq!(cleared.failures_total, 0);
        assert_eq!(cleared.version, attempts.version + 1);
    }
}
