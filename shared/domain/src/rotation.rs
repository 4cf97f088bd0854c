//! The signing-key lifecycle (Okta's key rotation,
//! <https://developer.okta.com/docs/concepts/key-rotation/>) as a pure function:
//! NEXT (published, not signing) → ACTIVE (signing) → EXPIRED (verify-only, published until no
//! token it signed can still be valid) → removed. Exactly one key is ACTIVE, and every server
//! always has a NEXT key: one is made with the server and a fresh one each time a NEXT key is
//! promoted, so whatever rotates next — the schedule or an admin's `keyRotate` — promotes a key
//! that verifiers' caches already hold.
//!
//! A NEXT key may start signing once it has been published for the schedule's `next_lead` (the
//! longest a verifier may cache the key set), or at once if it was made with a server that has
//! not rotated since (no key set without it was ever served).
//!
//! [`plan`] says what a scheduled check must change now; [`manual`] what `keyRotate` changes.
//! The keys service applies the changes; this module decides them, so the schedule, retention
//! and the "no key signs before every cache has it" rule are table-tested with a test clock.

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
    /// How long a NEXT key must have been published before it may start signing: the longest
    /// `max-age` the key set is served with (a day).
    pub next_lead: i64,
    /// How long an EXPIRED key stays published (the longest token lifetime).
    pub retention: i64,
}

impl Schedule {
    /// Okta's: rotate every 90 days, keep EXPIRED keys a day; a NEXT key signs once it has
    /// been published for a day.
    pub const DEFAULT: Self = Self {
        interval: 90 * DAY,
        next_lead: DAY,
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

/// The server whose keys are planned: its mode, its last rotation (or creation), when it was
/// created and whether it has ever rotated (until then its NEXT key is the one made with it,
/// which was in every key set it ever served).
#[derive(Debug, Clone, Copy)]
pub struct Server {
    pub mode: Mode,
    pub last_rotated: i64,
    pub created: i64,
    pub ever_rotated: bool,
}

/// Whether a NEXT key may start signing at `now`: published for the lead, or made with a
/// server that has not rotated since.
fn published(key: &KeyInfo, server: &Server, now: i64, schedule: &Schedule) -> bool {
    let born_with_server = !server.ever_rotated && key.created <= server.created;
    born_with_server || (key.created < now && key.created + schedule.next_lead <= now)
}

/// What a scheduled check changes at `now`.
pub fn plan(keys: &[KeyInfo], server: &Server, now: i64, schedule: &Schedule) -> Vec<Change> {
    let (mode, last_rotated) = (server.mode, server.last_rotated);
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
        // When the rotation is due the NEXT key promotes, if it has been published long enough
        // (otherwise the rotation waits for it), and the following NEXT key is published at once.
        (Some(a), Some(n)) if due && published(n, server, now, schedule) => {
            changes.push(Change::Promote {
                next: n.kid.clone(),
                active: Some(a.kid.clone()),
            });
            changes.push(Change::CreateNext);
        }
        // Every server keeps a NEXT key (a repair: each promotion makes the next one).
        (Some(_), None) => changes.push(Change::CreateNext),
        (Some(_), Some(_)) => {}
    }
    for k in by_status(keys, Status::Expired) {
        if k.expired.is_some_and(|e| now >= e + schedule.retention) {
            changes.push(Change::Remove(k.kid.clone()));
        }
    }
    changes
}

/// Why `keyRotate` cannot rotate now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotYet {
    /// The NEXT key was published less than the lead ago; it may sign from `ready_at`.
    NextTooNew { ready_at: i64 },
    /// There is no NEXT key (the repair publishes one; it may sign a lead later).
    NoNextKey,
}

/// `keyRotate`, in either mode: ACTIVE → EXPIRED, NEXT → ACTIVE at once, and a fresh NEXT is
/// published so that the following rotation is safe too — provided the NEXT key is one every
/// cache holds already. Otherwise the rotation is refused, saying when it can happen.
pub fn manual(
    keys: &[KeyInfo],
    server: &Server,
    now: i64,
    schedule: &Schedule,
) -> Result<Vec<Change>, NotYet> {
    let active = by_status(keys, Status::Active)
        .first()
        .map(|k| k.kid.clone());
    let Some(n) = by_status(keys, Status::Next).first().copied() else {
        return Err(NotYet::NoNextKey);
    };
    if !published(n, server, now, schedule) {
        return Err(NotYet::NextTooNew {
            ready_at: n.created + schedule.next_lead,
        });
    }
    Ok(vec![
        Change::Promote {
            next: n.kid.clone(),
            active,
        },
        Change::CreateNext,
    ])
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
            let server = Server {
                mode: Mode::Auto,
                last_rotated: sim.last_rotated,
                created: start,
                ever_rotated: sim.last_rotated != start,
            };
            let changes = plan(&sim.keys, &server, t, &schedule);
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
            assert_eq!(
                sim.count(Status::Next),
                1,
                "always a published NEXT key at {t}"
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

    fn key(kid: &str, status: Status, created: i64) -> KeyInfo {
        KeyInfo {
            kid: kid.into(),
            status,
            created,
            expired: None,
        }
    }

    #[test]
    fn a_promotion_publishes_the_following_key_and_a_too_new_next_key_waits() {
        let s = Schedule {
            interval: 10 * H,
            next_lead: 4 * H,
            retention: H,
        };
        let server = Server {
            mode: Mode::Auto,
            last_rotated: 0,
            created: 0,
            ever_rotated: false,
        };
        let born = [key("a", Status::Active, 0), key("n", Status::Next, 0)];
        assert_eq!(plan(&born, &server, 5 * H, &s), vec![]);
        // Due: the NEXT key made with the server promotes, and the following one is published.
        assert_eq!(
            plan(&born, &server, 10 * H, &s),
            vec![
                Change::Promote {
                    next: "n".into(),
                    active: Some("a".into())
                },
                Change::CreateNext
            ]
        );
        // A NEXT key published less than the lead ago waits, even when the rotation is due.
        let young = [key("a", Status::Active, 0), key("n", Status::Next, 8 * H)];
        assert_eq!(plan(&young, &server, 10 * H, &s), vec![]);
        assert_eq!(plan(&young, &server, 12 * H, &s).len(), 2);
        // A server that lost its NEXT key gets one at once, whatever the schedule says.
        assert_eq!(plan(&born[..1], &server, H, &s), vec![Change::CreateNext]);
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
        let server = Server {
            mode: Mode::Manual,
            last_rotated: 0,
            created: 0,
            ever_rotated: false,
        };
        assert_eq!(plan(&keys, &server, 100 * H, &s), vec![Change::CreateNext]);
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
        assert_eq!(plan(&both, &server, 100 * H, &s), vec![]);
    }

    #[test]
    fn manual_rotation_promotes_a_next_key_every_cache_holds_and_refuses_a_newer_one() {
        let s = Schedule {
            interval: 90 * 24 * H,
            next_lead: 24 * H,
            retention: 24 * H,
        };
        let server = Server {
            mode: Mode::Auto,
            last_rotated: 0,
            created: 0,
            ever_rotated: false,
        };
        let rotated = vec![
            Change::Promote {
                next: "n".into(),
                active: Some("a".into()),
            },
            Change::CreateNext,
        ];
        // Keys made with the server: at once.
        let born = [key("a", Status::Active, 0), key("n", Status::Next, 0)];
        assert_eq!(manual(&born, &server, 1, &s), Ok(rotated.clone()));
        // A NEXT key published just now (by the rotation before): refused until a day later.
        let young = [key("a", Status::Active, 0), key("n", Status::Next, 10 * H)];
        assert_eq!(
            manual(&young, &server, 11 * H, &s),
            Err(NotYet::NextTooNew { ready_at: 34 * H })
        );
        assert_eq!(manual(&young, &server, 34 * H, &s), Ok(rotated));
        // Without a NEXT key nothing may sign that no cache has seen.
        assert_eq!(
            manual(&born[..1], &server, 100 * H, &s),
            Err(NotYet::NoNextKey)
        );
        // The same in MANUAL mode.
        let manual_server = Server {
            mode: Mode::Manual,
            ..server
        };
        assert!(manual(&born, &manual_server, 1, &s).is_ok());
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
        let server = Server {
            mode: Mode::Auto,
            last_rotated: 0,
            created: 0,
            ever_rotated: false,
        };
        assert_eq!(
            plan(&keys, &server, 3 * H, &s),
            vec![Change::Expire("b".into()), Change::Remove("old".into())]
        );
        let none_active = vec![KeyInfo {
            kid: "n".into(),
            status: Status::Next,
            created: 0,
            expired: None,
        }];
        assert_eq!(
            plan(&none_active, &server, 1, &s),
            vec![Change::Promote {
                next: "n".into(),
                active: None
            }]
        );
        let manual_server = Server {
            mode: Mode::Manual,
            ..server
        };
        assert_eq!(plan(&[], &manual_server, 1, &s), vec![Change::CreateActive]);
    }
}
