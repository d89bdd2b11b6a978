//! Sign-in throttling: which counters an attempt takes a slot in, with which
//! limits, and when the per-username ceiling slows attempts down rather than
//! locking the account (OWASP ASVS v4.0.3 §2.2.1: anti-automation that does not
//! lock out the legitimate user; RFC 9700 §4.4 context; NIST SP 800-63B §5.2.2).
//!
//! Every attempt takes one slot in each of its counters before the password is
//! checked, all or none (the store does it in one conditional transaction); a
//! counter at its limit refuses, and then no password is checked. A failed attempt
//! keeps its slots; a successful one gives them back ([`release`]), except the
//! slowed mode's one.
//!
//! The counters, per fixed window of `window` seconds:
//! - the (username, source) pair, `per_pair` attempts: guessing one account from
//!   one address;
//! - the source, `per_source` attempts over every username: password spraying;
//! - the username, a ceiling of `per_user` attempts from all sources together.
//!   Reaching it does not refuse: the attempt is taken again in the slowed mode,
//!   where each (username, source) pair gets [`SLOWED_ATTEMPTS_PER_PAIR`] attempt
//!   in the window (counted apart from its normal slots, and still within
//!   `per_pair` and `per_source`). The owner at an address the attacker has not
//!   used still gets an attempt; an attacker with N addresses gets at most
//!   `per_user + N` guesses at one account per window.
//!
//! An attempt under a name that cannot be a username counts under its source only.

/// Attempts per (username, source) pair per window once the username's ceiling
/// is reached.
pub const SLOWED_ATTEMPTS_PER_PAIR: u64 = 1;

/// The limits, from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_pair: u64,
    pub per_source: u64,
    pub per_user: u64,
    /// The window's length in seconds.
    pub window: u64,
}

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterKind {
    /// One username from one source.
    Pair,
    /// One source, every username.
    Source,
    /// One username, every source: the ceiling.
    User,
    /// One username from one source, once the ceiling is reached.
    SlowedPair,
}

/// One counter an attempt takes a slot in: refused when it already holds `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub kind: CounterKind,
    pub key: String,
    pub limit: u64,
}

/// Whether the username's ceiling has been reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Slowed,
}

/// What giving a slot back does to its counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// Forget the counter: the pair proved it knows the password.
    Forget(String),
    /// Take one slot off a shared counter (the source's, the username's).
    GiveBack(String),
}

/// One sign-in attempt: the window it falls in, the username if it is a valid
/// one, and its source (`throttle_source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    window: u64,
    window_len: u64,
    username: Option<String>,
    source: String,
}

impl Attempt {
    pub fn new(username: Option<&str>, source: &str, now: u64, limits: &Limits) -> Self {
        Self {
            window: now / limits.window,
            window_len: limits.window,
            username: username.map(str::to_owned),
            source: source.to_owned(),
        }
    }

    /// When the counters may expire (TTL): a window after this one ends.
    pub fn expires_at(&self) -> u64 {
        (self.window + 2) * self.window_len
    }

    /// The counters of this attempt in `mode`. Usernames never contain `:`, so
    /// the keys cannot collide.
    pub fn counters(&self, mode: Mode, limits: &Limits) -> Vec<Counter> {
        let w = self.window;
        let source = Counter {
            kind: CounterKind::Source,
            key: format!("source:{}:{w}", self.source),
            limit: limits.per_source,
        };
        let Some(user) = &self.username else {
            return vec![source];
        };
        let pair = Counter {
            kind: CounterKind::Pair,
            key: format!("pair:{user}:{}:{w}", self.source),
            limit: limits.per_pair,
        };
        match mode {
            Mode::Normal => vec![
                pair,
                source,
                Counter {
                    kind: CounterKind::User,
                    key: format!("user:{user}:{w}"),
                    limit: limits.per_user,
                },
            ],
            Mode::Slowed => vec![
                Counter {
                    kind: CounterKind::SlowedPair,
                    key: format!("slowed:{user}:{}:{w}", self.source),
                    limit: SLOWED_ATTEMPTS_PER_PAIR,
                },
                pair,
                source,
            ],
        }
    }
}

/// After the counters of `kinds` refused an attempt in `mode`: the mode to try
/// again in, or `None` for throttled. Only the username's ceiling alone slows
/// down; a pair or a source at its limit is throttled.
pub fn after_refusal(mode: Mode, kinds: &[CounterKind]) -> Option<Mode> {
    match mode {
        Mode::Normal if !kinds.is_empty() && kinds.iter().all(|k| *k == CounterKind::User) => {
            Some(Mode::Slowed)
        }
        _ => None,
    }
}

/// What a successful sign-in gives back of the slots it took: its pair's counter
/// is forgotten (the owner is not throttled by their own successes), and the
/// shared counters lose this attempt's slot only, so that an attack in progress
/// keeps its count. The slowed mode's one attempt per address is kept, whoever
/// made it: during an attack on the account the owner leaves with a session, and
/// an attacker sharing the owner's address (a NAT, a /64) gains no guess from it.
pub fn release(taken: &[Counter]) -> Vec<Release> {
    taken
        .iter()
        .filter_map(|c| match c.kind {
            CounterKind::Pair => Some(Release::Forget(c.key.clone())),
            CounterKind::Source | CounterKind::User => Some(Release::GiveBack(c.key.clone())),
            CounterKind::SlowedPair => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        per_pair: 5,
        per_source: 30,
        per_user: 20,
        window: 900,
    };

    fn kinds(c: &[Counter]) -> Vec<(CounterKind, &str, u64)> {
        c.iter()
            .map(|c| (c.kind, c.key.as_str(), c.limit))
            .collect()
    }

    #[test]
    fn a_valid_username_counts_per_pair_per_source_and_per_user() {
        let a = Attempt::new(Some("alice"), "203.0.113.7", 9_000, &LIMITS);
        assert_eq!(a.expires_at(), 12 * 900);
        assert_eq!(
            kinds(&a.counters(Mode::Normal, &LIMITS)),
            [
                (CounterKind::Pair, "pair:alice:203.0.113.7:10", 5),
                (CounterKind::Source, "source:203.0.113.7:10", 30),
                (CounterKind::User, "user:alice:10", 20),
            ]
        );
        assert_eq!(
            kinds(&a.counters(Mode::Slowed, &LIMITS)),
            [
                (CounterKind::SlowedPair, "slowed:alice:203.0.113.7:10", 1),
                (CounterKind::Pair, "pair:alice:203.0.113.7:10", 5),
                (CounterKind::Source, "source:203.0.113.7:10", 30),
            ]
        );
    }

    #[test]
    fn an_invalid_username_counts_under_its_source_only() {
        let a = Attempt::new(None, "unknown", 899, &LIMITS);
        for mode in [Mode::Normal, Mode::Slowed] {
            assert_eq!(
                kinds(&a.counters(mode, &LIMITS)),
                [(CounterKind::Source, "source:unknown:0", 30)]
            );
        }
    }

    #[test]
    fn only_the_ceiling_alone_slows_down_everything_else_throttles() {
        use CounterKind::*;
        let cases: [(Mode, &[CounterKind], Option<Mode>); 8] = [
            (Mode::Normal, &[User], Some(Mode::Slowed)),
            (Mode::Normal, &[Pair], None),
            (Mode::Normal, &[Source], None),
            (Mode::Normal, &[Pair, User], None),
            (Mode::Normal, &[Source, User], None),
            (Mode::Normal, &[], None),
            (Mode::Slowed, &[SlowedPair], None),
            (Mode::Slowed, &[User], None),
        ];
        for (mode, refused, want) in cases {
            assert_eq!(after_refusal(mode, refused), want, "{mode:?} {refused:?}");
        }
    }

    #[test]
    fn a_success_forgets_its_pair_gives_back_one_shared_slot_and_keeps_the_slowed_one() {
        let a = Attempt::new(Some("alice"), "203.0.113.7", 0, &LIMITS);
        assert_eq!(
            release(&a.counters(Mode::Normal, &LIMITS)),
            [
                Release::Forget("pair:alice:203.0.113.7:0".into()),
                Release::GiveBack("source:203.0.113.7:0".into()),
                Release::GiveBack("user:alice:0".into()),
            ]
        );
        assert_eq!(
            release(&a.counters(Mode::Slowed, &LIMITS)),
            [
                Release::Forget("pair:alice:203.0.113.7:0".into()),
                Release::GiveBack("source:203.0.113.7:0".into()),
            ]
        );
    }
}
