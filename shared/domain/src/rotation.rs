//! The signing-key lifecycle (OKTA-REFERENCE §7, SPEC §4) as a pure function:
//! NEXT (published, not signing) → ACTIVE (signing) → EXPIRED (verify-only, published until no
//! token it signed can still be valid) → removed. Exactly one key is ACTIVE.
//!
//! [`plan`] says what a scheduled check must change now; [`manual`] what `keyRotate` changes.
//! The keys service applies the changes; this module decides them, so the schedule, retention
//! and the "no key signs before it was published" rule are table-tested with a test clock.

/// A key's place in the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Next,
    Active,
    Expired,
}

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NEXT" => Some(Self::Next),
            "ACTIVE" => Some(Self::Active),
            "EXPIRED" => Some(Self::Expired),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Next => "NEXT",
            Self::Active => "ACTIVE",
            Self::Expired => "EXPIRED",
        }
    }
}

/// What the lifecycle needs to know about one key (times in milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub status: Status,
    pub created: i64,
    pub expired: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rotated on the schedule (and by `keyRotate`).
    Auto,
    /// Rotated only by `keyRotate`.
    Manual,
}

/// The rotation schedule (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between rotations (Okta: 90 days).
    pub interval: i64,
    /// How long before a rotation the NEXT key is created and published (Okta: ≈ 45 days).
    pub next_lead: i64,
    /// How long an EXPIRED key stays published (the longest token lifetime).
    pub retention: i64,
}

impl Schedule {
    /// Okta's: rotate every 90 days, publish NEXT 45 days ahead, keep EXPIRED keys a day.
    pub const DEFAULT: Self = Self {
        interval: 90 * DAY,
        next_lead: 45 * DAY,
        retention: DAY,
    };
}

const DAY: i64 = 24 * 60 * 60 * 1000;

/// One change to apply, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Generate a key and publish it as NEXT.
    CreateNext,
    /// Generate a key that signs at once (only when no key is ACTIVE: a repair).
    CreateActive,
    /// The NEXT key `next` starts signing; the ACTIVE key `active` (if any) becomes EXPIRED.
    Promote {
        next: String,
        active: Option<String>,
    },
    /// An EXPIRED key past retention disappears; a surplus ACTIVE key is expired.
    Expire(String),
    Remove(String),
}

/// When a server in `mode` rotates next, from its last rotation (or creation).
pub fn next_rotation(mode: Mode, last_rotated: i64, schedule: &Schedule) -> Option<i64> {
    match mode {
        Mode::Auto => Some(last_rotated + schedule.interval),
        Mode::Manual => None,
    }
}

fn by_status(keys: &[KeyInfo], status: Status) -> Vec<&KeyInfo> {
    let mut v: Vec<&KeyInfo> = keys.iter().filter(|k| k.status == status).collect();
    v.sort_by_key(|k| std::cmp::Reverse(k.created));
    v
}

/// What a scheduled check changes at `now`. `last_rotated` is the last rotation, or the
/// server's creation.
pub fn plan(
    keys: &[KeyInfo],
    mode: Mode,
    last_rotated: i64,
    now: i64,
    schedule: &Schedule,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let active = by_status(keys, Status::Active);
    let next = by_status(keys, Status::Next);
    // Repairs first: exactly one ACTIVE key, and NEXT keys beyond the newest are surplus.
    for extra in active.iter().skip(1) {
        changes.push(Change::Expire(extra.kid.clone()));
    }
    let due = next_rotation(mode, last_rotated, schedule).is_some_and(|at| now >= at);
    match (active.first(), next.first()) {
        (None, Some(n)) => changes.push(Change::Promote {
            next: n.kid.clone(),
            active: None,
        }),
        (None, None) => changes.push(Change::CreateActive),
        // A NEXT key that is published promotes when the rotation is due. One created in this
        // same check is not yet published, so it waits for the next check.
        (Some(a), Some(n)) if due && n.created < now => {
            changes.push(Change::Promote {
                next: n.kid.clone(),
                active: Some(a.kid.clone()),
            });
        }
        (Some(_), None) => {
            let lead_reached = match mode {
                Mode::Auto => next_rotation(mode, last_rotated, schedule)
                    .is_some_and(|at| now >= at - schedule.next_lead),
                // A MANUAL server always keeps a published NEXT key, so keyRotate never makes an
                // unpublished key sign.
                Mode::Manual => true,
            };
            if lead_reached {
                changes.push(Change::CreateNext);
            }
        }
        (Some(_), Some(_)) => {}
    }
    for k in by_status(keys, Status::Expired) {
        if k.expired.is_some_and(|e| now >= e + schedule.retention) {
            changes.push(Change::Remove(k.kid.clone()));
        }
    }
    changes
}

/// `keyRotate` (OKTA-REFERENCE §4.2), in either mode: ACTIVE → EXPIRED, NEXT → ACTIVE at once,
/// and a fresh NEXT is published so the following rotation is safe too.
pub fn manual(keys: &[KeyInfo]) -> Vec<Change> {
    let active = by_status(keys, Status::Active)
        .first()
        .map(|k| k.kid.clone());
    match by_status(keys, Status::Next).first() {
        Some(n) => vec![
            Change::Promote {
                next: n.kid.clone(),
                active,
            },
            Change::CreateNext,
        ],
        None => {
            let mut v: Vec<Change> = active.into_iter().map(Change::Expire).collect();
            v.extend([Change::CreateActive, Change::CreateNext]);
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 60 * 60 * 1000;

    /// A simulated server: applies changes the way the keys service does.
    struct Sim {
        keys: Vec<KeyInfo>,
        last_rotated: i64,
        counter: u32,
        /// (kid, published at, started signing at)
        history: Vec<(String, i64, Option<i64>)>,
    }

    impl Sim {
        fn new(now: i64) -> Self {
            let mut s = Self {
                keys: Vec::new(),
                last_rotated: now,
                counter: 0,
                history: Vec::new(),
            };
            s.apply(&[Change::CreateActive, Change::CreateNext], now);
            s
        }

        fn kid(&mut self) -> String {
            self.counter += 1;
            format!("k{}", self.counter)
        }

        fn apply(&mut self, changes: &[Change], now: i64) {
            for c in changes {
                match c {
                    Change::CreateNext => {
                        let kid = self.kid();
                        self.history.push((kid.clone(), now, None));
                        self.keys.push(KeyInfo {
                            kid,
                            status: Status::Next,
                            created: now,
                            expired: None,
                        });
                    }
                    Change::CreateActive => {
                        let kid = self.kid();
                        self.history.push((kid.clone(), now, Some(now)));
                        self.keys.push(KeyInfo {
                            kid,
                            status: Status::Active,
                            created: now,
                            expired: None,
                        });
                    }
                    Change::Promote { next, active } => {
                        for k in &mut self.keys {
                            if Some(&k.kid) == active.as_ref() {
                                k.status = Status::Expired;
                                k.expired = Some(now);
                            }
                            if &k.kid == next {
                                k.status = Status::Active;
                            }
                        }
                        if let Some(h) = self.history.iter_mut().find(|h| &h.0 == next) {
                            h.2 = Some(now);
                        }
                        self.last_rotated = now;
                    }
                    Change::Expire(kid) => {
                        for k in self.keys.iter_mut().filter(|k| &k.kid == kid) {
                            k.status = Status::Expired;
                            k.expired = Some(now);
                        }
                    }
                    Change::Remove(kid) => self.keys.retain(|k| &k.kid != kid),
                }
            }
        }

        fn count(&self, status: Status) -> usize {
            self.keys.iter().filter(|k| k.status == status).count()
        }
    }

    #[test]
    fn auto_schedule_over_a_year_rotates_every_interval_and_never_signs_an_unpublished_key() {
        let clock = crate::TestClock::new(time::macros::datetime!(2026-01-01 00:00 UTC));
        let now = || crate::timefmt::to_millis(crate::Clock::now(&clock));
        let schedule = Schedule::DEFAULT;
        let start = now();
        let mut sim = Sim::new(start);
        let mut rotations = 0;
        for _ in 0..(366 * 24) {
            clock.advance(time::Duration::hours(1));
            let t = now();
            let changes = plan(&sim.keys, Mode::Auto, sim.last_rotated, t, &schedule);
            rotations += changes
                .iter()
                .filter(|c| matches!(c, Change::Promote { .. }))
                .count();
            sim.apply(&changes, t);
            assert_eq!(
                sim.count(Status::Active),
                1,
                "exactly one ACTIVE key at {t}"
            );
            // EXPIRED keys stay for exactly the retention period.
            for k in sim.keys.iter().filter(|k| k.status == Status::Expired) {
                assert!(t < k.expired.unwrap_or(0) + schedule.retention);
            }
        }
        assert_eq!(rotations, 4, "366 days at a 90-day interval");
        for (kid, published, signing) in &sim.history[1..] {
            if let Some(s) = signing {
                assert!(
                    s - published >= schedule.next_lead - H,
                    "{kid} signed {}h after being published",
                    (s - published) / H
                );
            }
        }
    }

    #[test]
    fn next_key_appears_at_the_lead_time_not_before() {
        let s = Schedule {
            interval: 10 * H,
            next_lead: 4 * H,
            retention: H,
        };
        let keys = vec![KeyInfo {
            kid: "a".into(),
            status: Status::Active,
            created: 0,
            expired: None,
        }];
        assert_eq!(plan(&keys, Mode::Auto, 0, 5 * H, &s), vec![]);
        assert_eq!(
            plan(&keys, Mode::Auto, 0, 6 * H, &s),
            vec![Change::CreateNext]
        );
        // Due with no NEXT: publish one now, promote it at the following check.
        assert_eq!(
            plan(&keys, Mode::Auto, 0, 10 * H, &s),
            vec![Change::CreateNext]
        );
        let with_next = [
            keys.clone(),
            vec![KeyInfo {
                kid: "n".into(),
                status: Status::Next,
                created: 10 * H,
                expired: None,
            }],
        ]
        .concat();
        assert_eq!(
            plan(&with_next, Mode::Auto, 0, 10 * H, &s),
            vec![],
            "not promoted in the check that created it"
        );
        assert_eq!(
            plan(&with_next, Mode::Auto, 0, 10 * H + 1, &s),
            vec![Change::Promote {
                next: "n".into(),
                active: Some("a".into())
            }]
        );
    }

    #[test]
    fn manual_servers_never_rotate_on_schedule_but_keep_a_next_key() {
        let s = Schedule {
            interval: H,
            next_lead: H / 2,
            retention: H,
        };
        let keys = vec![KeyInfo {
            kid: "a".into(),
            status: Status::Active,
            created: 0,
            expired: None,
        }];
        assert_eq!(
            plan(&keys, Mode::Manual, 0, 100 * H, &s),
            vec![Change::CreateNext]
        );
        let both = [
            keys,
            vec![KeyInfo {
                kid: "n".into(),
                status: Status::Next,
                created: 1,
                expired: None,
            }],
        ]
        .concat();
        assert_eq!(plan(&both, Mode::Manual, 0, 100 * H, &s), vec![]);
    }

    #[test]
    fn manual_rotation_in_both_modes_promotes_next_and_publishes_a_new_one() {
        let keys = vec![
            KeyInfo {
                kid: "a".into(),
                status: Status::Active,
                created: 0,
                expired: None,
            },
            KeyInfo {
                kid: "n".into(),
                status: Status::Next,
                created: 1,
                expired: None,
            },
        ];
        assert_eq!(
            manual(&keys),
            vec![
                Change::Promote {
                    next: "n".into(),
                    active: Some("a".into())
                },
                Change::CreateNext
            ]
        );
        let only_active = &keys[..1];
        assert_eq!(
            manual(only_active),
            vec![
                Change::Expire("a".into()),
                Change::CreateActive,
                Change::CreateNext
            ]
        );
    }

    #[test]
    fn expired_keys_are_removed_after_retention_and_repairs_restore_one_active_key() {
        let s = Schedule {
            interval: 10 * H,
            next_lead: 4 * H,
            retention: 2 * H,
        };
        let keys = vec![
            KeyInfo {
                kid: "a".into(),
                status: Status::Active,
                created: 5,
                expired: None,
            },
            KeyInfo {
                kid: "b".into(),
                status: Status::Active,
                created: 1,
                expired: None,
            },
            KeyInfo {
                kid: "n".into(),
                status: Status::Next,
                created: 6,
                expired: None,
            },
            KeyInfo {
                kid: "old".into(),
                status: Status::Expired,
                created: 0,
                expired: Some(H),
            },
            KeyInfo {
                kid: "recent".into(),
                status: Status::Expired,
                created: 0,
                expired: Some(2 * H),
            },
        ];
        assert_eq!(
            plan(&keys, Mode::Auto, 0, 3 * H, &s),
            vec![Change::Expire("b".into()), Change::Remove("old".into())]
        );
        let none_active = vec![KeyInfo {
            kid: "n".into(),
            status: Status::Next,
            created: 0,
            expired: None,
        }];
        assert_eq!(
            plan(&none_active, Mode::Auto, 0, 1, &s),
            vec![Change::Promote {
                next: "n".into(),
                active: None
            }]
        );
        assert_eq!(
            plan(&[], Mode::Manual, 0, 1, &s),
            vec![Change::CreateActive]
        );
    }
}
