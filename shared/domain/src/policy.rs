//! Access-policy evaluation (Okta's policy evaluation): a pure function from a server's
//! compiled policies, its scope catalog and one token request to a decision.
//!
//! Order: scope existence (step 2), default scopes when none are requested (step 3), then
//! ACTIVE policies by priority that apply to the client (step 5), ACTIVE rules by priority
//! (step 6) — a rule matches only if it covers the grant type, the user (no user for client
//! credentials) and **every** requested scope — and the first match wins (step 7). No match is
//! `access_denied` (step 8); a partial match never down-scopes (step 9).

/// Who a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clients {
    All,
    Only(Vec<String>),
}

/// A rule's token lifetimes (minutes; refresh 0 means unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token_minutes: i64,
    pub refresh_token_minutes: i64,
    pub refresh_window_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub priority: i32,
    pub active: bool,
    pub grant_types: Vec<String>,
    pub users: Vec<String>,
    /// Group ids; `EVERYONE` (or the Everyone group's id) matches every user.
    pub groups: Vec<String>,
    /// Scope names; `*` covers all.
    pub scopes: Vec<String>,
    pub lifetimes: Lifetimes,
    pub inline_hook: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    pub priority: i32,
    pub active: bool,
    pub clients: Clients,
    pub rules: Vec<Rule>,
}

/// A scope as policy evaluation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfo {
    pub name: String,
    pub is_default: bool,
}

/// The user of a user-bound grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    pub id: String,
    pub group_ids: Vec<String>,
}

/// One request to evaluate.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub client_id: &'a str,
    pub grant_type: &'a str,
    pub user: Option<&'a UserFacts>,
    /// `None` when the request had no `scope` parameter.
    pub scopes: Option<&'a [String]>,
    /// The id of the tenant's Everyone group, which `EVERYONE` stands for.
    pub everyone_group_id: &'a str,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub policy_id: String,
    pub rule_id: String,
    pub scopes: Vec<String>,
    pub lifetimes: Lifetimes,
    pub inline_hook: Option<String>,
}

/// Why nothing was granted; each maps to one OAuth error (`tessera_oauth::OAuthError`'s
/// `From<Denied>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// `invalid_scope`: a requested scope does not exist on this server.
    UnknownScope(Vec<String>),
    /// `invalid_scope`: no `scope` parameter and no default scopes.
    NoDefaultScopes,
    /// `invalid_scope`: the `scope` parameter was present but empty.
    NoScopes,
    /// `access_denied`: no rule matched.
    NoMatchingPolicy,
}

fn rule_covers_user(rule: &Rule, user: Option<&UserFacts>, everyone: &str) -> bool {
    match user {
        // Client credentials: there is no user to match ("No user" in Okta's UI).
        None => true,
        Some(u) => {
            rule.users.contains(&u.id)
                || rule
                    .groups
                    .iter()
                    .any(|g| g == "EVERYONE" || g == everyone || u.group_ids.contains(g))
        }
    }
}

fn rule_covers_scope(rule: &Rule, scope: &str) -> bool {
    rule.scopes.iter().any(|s| s == "*" || s == scope)
}

/// Evaluates `request` against a server's `policies` and `catalog` of scopes.
pub fn evaluate(
    policies: &[Policy],
    catalog: &[ScopeInfo],
    request: &Request<'_>,
) -> Result<Grant, Denied> {
    decide(policies, catalog, request, None)
}

/// Evaluates `request` as [`evaluate`] does and says why: every policy in the order it was
/// considered, every rule of the policies that were evaluated. The token preview shows this; the
/// decision is the same function's, so the preview cannot say what the token endpoint would not
/// do.
pub fn explain(
    policies: &[Policy],
    catalog: &[ScopeInfo],
    request: &Request<'_>,
) -> (Result<Grant, Denied>, Trace) {
    let mut trace = Trace::default();
    let decision = decide(policies, catalog, request, Some(&mut trace));
    (decision, trace)
}

/// What evaluation saw, policy by policy (priority order; inactive ones last, as skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub policies: Vec<PolicyTrace>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTrace {
    pub id: String,
    pub outcome: PolicyOutcome,
    /// The rules in priority order (empty unless the policy applied to the client).
    pub rules: Vec<RuleTrace>,
}

/// Why a policy decided the request or was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOutcome {
    /// One of its rules matched.
    Matched,
    Inactive,
    /// Its clients condition does not include the client.
    ClientNotIncluded,
    /// It applies to the client, but none of its rules matched.
    NoRuleMatched,
    /// An earlier policy decided.
    NotEvaluated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub id: String,
    pub outcome: RuleOutcome,
}

/// Why a rule matched or was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    Matched,
    Inactive,
    /// Its grant types do not include the request's.
    GrantTypeNotIncluded,
    /// Its people condition does not include the user.
    UserNotIncluded,
    /// It does not cover these requested scopes (a rule must cover every one: no down-scoping).
    ScopesNotCovered(Vec<String>),
    /// No `scope` was requested and it permits none of the default scopes.
    NoDefaultScopePermitted,
    /// An earlier rule matched.
    NotEvaluated,
}

fn decide(
    policies: &[Policy],
    catalog: &[ScopeInfo],
    request: &Request<'_>,
    mut trace: Option<&mut Trace>,
) -> Result<Grant, Denied> {
    // Step 2: every requested scope must exist.
    let requested: Option<Vec<String>> = match request.scopes {
        Some([]) => return Err(Denied::NoScopes),
        Some(s) => {
            let unknown: Vec<String> = s
                .iter()
                .filter(|n| !catalog.iter().any(|c| &c.name == *n))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(Denied::UnknownScope(unknown));
            }
            let mut unique: Vec<String> = Vec::with_capacity(s.len());
            for n in s {
                if !unique.contains(n) {
                    unique.push(n.clone());
                }
            }
            Some(unique)
        }
        None => None,
    };
    // Step 3: without a scope parameter, the server's default scopes.
    let defaults: Vec<String> = catalog
        .iter()
        .filter(|c| c.is_default)
        .map(|c| c.name.clone())
        .collect();
    if requested.is_none() && defaults.is_empty() {
        return Err(Denied::NoDefaultScopes);
    }
    // Steps 5–7.
    let mut ordered: Vec<&Policy> = policies.iter().filter(|p| p.active).collect();
    ordered.sort_by_key(|p| p.priority);
    let mut decided: Option<Grant> = None;
    for policy in ordered {
        if decided.is_some() {
            if let Some(t) = trace.as_deref_mut() {
                t.policies
                    .push(policy_trace(policy, PolicyOutcome::NotEvaluated));
            }
            continue;
        }
        let applies = match &policy.clients {
            Clients::All => true,
            Clients::Only(ids) => ids.iter().any(|c| c == request.client_id),
        };
        if !applies {
            if let Some(t) = trace.as_deref_mut() {
                t.policies
                    .push(policy_trace(policy, PolicyOutcome::ClientNotIncluded));
            }
            continue;
        }
        let mut rules: Vec<&Rule> = policy.rules.iter().collect();
        rules.sort_by_key(|r| (!r.active, r.priority));
        let mut rule_traces = Vec::new();
        for rule in rules {
            let outcome = if !rule.active {
                RuleOutcome::Inactive
            } else if decided.is_some() {
                RuleOutcome::NotEvaluated
            } else {
                match rule_decides(rule, request, requested.as_deref(), &defaults) {
                    Ok(scopes) => {
                        decided = Some(Grant {
                            policy_id: policy.id.clone(),
                            rule_id: rule.id.clone(),
                            scopes,
                            lifetimes: rule.lifetimes,
                            inline_hook: rule.inline_hook.clone(),
                        });
                        RuleOutcome::Matched
                    }
                    Err(why) => why,
                }
            };
            if trace.is_none() && decided.is_some() {
                break;
            }
            rule_traces.push(RuleTrace {
                id: rule.id.clone(),
                outcome,
            });
        }
        if let Some(t) = trace.as_deref_mut() {
            let outcome = if decided.is_some() {
                PolicyOutcome::Matched
            } else {
                PolicyOutcome::NoRuleMatched
            };
            t.policies.push(PolicyTrace {
                id: policy.id.clone(),
                outcome,
                rules: rule_traces,
            });
        }
        if trace.is_none() && decided.is_some() {
            break;
        }
    }
    if let Some(t) = trace {
        for policy in policies.iter().filter(|p| !p.active) {
            t.policies
                .push(policy_trace(policy, PolicyOutcome::Inactive));
        }
    }
    decided.ok_or(Denied::NoMatchingPolicy)
}

fn policy_trace(policy: &Policy, outcome: PolicyOutcome) -> PolicyTrace {
    PolicyTrace {
        id: policy.id.clone(),
        outcome,
        rules: Vec::new(),
    }
}

/// The scopes `rule` grants `request`, or why it does not match.
fn rule_decides(
    rule: &Rule,
    request: &Request<'_>,
    requested: Option<&[String]>,
    defaults: &[String],
) -> Result<Vec<String>, RuleOutcome> {
    if !rule.active {
        return Err(RuleOutcome::Inactive);
    }
    if !rule.grant_types.iter().any(|g| g == request.grant_type) {
        return Err(RuleOutcome::GrantTypeNotIncluded);
    }
    if !rule_covers_user(rule, request.user, request.everyone_group_id) {
        return Err(RuleOutcome::UserNotIncluded);
    }
    match requested {
        // Every requested scope must be covered: no silent down-scoping (step 9).
        Some(scopes) => {
            let uncovered: Vec<String> = scopes
                .iter()
                .filter(|s| !rule_covers_scope(rule, s))
                .cloned()
                .collect();
            if uncovered.is_empty() {
                Ok(scopes.to_vec())
            } else {
                Err(RuleOutcome::ScopesNotCovered(uncovered))
            }
        }
        // Defaults: the ones this rule permits, if any.
        None => {
            let permitted: Vec<String> = defaults
                .iter()
                .filter(|s| rule_covers_scope(rule, s))
                .cloned()
                .collect();
            if permitted.is_empty() {
                Err(RuleOutcome::NoDefaultScopePermitted)
            } else {
                Ok(permitted)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Lifetimes = Lifetimes {
        access_token_minutes: 60,
        refresh_token_minutes: 0,
        refresh_window_minutes: 10080,
    };

    fn rule(id: &str, priority: i32, grants: &[&str], groups: &[&str], scopes: &[&str]) -> Rule {
        Rule {
            id: id.into(),
            priority,
            active: true,
            grant_types: grants.iter().map(|s| (*s).into()).collect(),
            users: Vec::new(),
            groups: groups.iter().map(|s| (*s).into()).collect(),
            scopes: scopes.iter().map(|s| (*s).into()).collect(),
            lifetimes: LIFE,
            inline_hook: None,
        }
    }

    fn policy(id: &str, priority: i32, clients: Clients, rules: Vec<Rule>) -> Policy {
        Policy {
            id: id.into(),
            priority,
            active: true,
            clients,
            rules,
        }
    }

    fn catalog() -> Vec<ScopeInfo> {
        [
            "openid",
            "profile",
            "orders.read",
            "orders.write",
            "reports",
        ]
        .iter()
        .map(|n| ScopeInfo {
            name: (*n).into(),
            is_default: *n == "orders.read" || *n == "reports",
        })
        .collect()
    }

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).into()).collect()
    }

    fn cc(
        client: &str,
        requested: Option<&[String]>,
        policies: &[Policy],
    ) -> Result<Grant, Denied> {
        evaluate(
            policies,
            &catalog(),
            &Request {
                client_id: client,
                grant_type: "client_credentials",
                user: None,
                scopes: requested,
                everyone_group_id: "00gALL",
            },
        )
    }

    #[test]
    fn step2_unknown_scope_is_invalid_scope() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![rule("r", 1, &["client_credentials"], &["EVERYONE"], &["*"])],
        )];
        let s = scopes(&["orders.read", "nope"]);
        assert_eq!(
            cc("c", Some(&s), &p),
            Err(Denied::UnknownScope(vec!["nope".into()]))
        );
        assert_eq!(cc("c", Some(&[]), &p), Err(Denied::NoScopes));
    }

    #[test]
    fn step3_no_scope_parameter_grants_the_defaults_the_rule_permits() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![rule(
                "r",
                1,
                &["client_credentials"],
                &["EVERYONE"],
                &["orders.read"],
            )],
        )];
        assert_eq!(
            cc("c", None, &p).map(|g| g.scopes),
            Ok(scopes(&["orders.read"]))
        );
        let none_default: Vec<ScopeInfo> = catalog()
            .into_iter()
            .map(|s| ScopeInfo {
                is_default: false,
                ..s
            })
            .collect();
        let req = Request {
            client_id: "c",
            grant_type: "client_credentials",
            user: None,
            scopes: None,
            everyone_group_id: "x",
        };
        assert_eq!(
            evaluate(&p, &none_default, &req),
            Err(Denied::NoDefaultScopes)
        );
    }

    #[test]
    fn step5_policies_in_priority_order_filtered_by_client() {
        let p = [
            policy(
                "later",
                2,
                Clients::All,
                vec![rule(
                    "r2",
                    1,
                    &["client_credentials"],
                    &["EVERYONE"],
                    &["*"],
                )],
            ),
            policy(
                "first",
                1,
                Clients::Only(vec!["c1".into()]),
                vec![rule(
                    "r1",
                    1,
                    &["client_credentials"],
                    &["EVERYONE"],
                    &["*"],
                )],
            ),
        ];
        let s = scopes(&["orders.read"]);
        assert_eq!(
            cc("c1", Some(&s), &p).map(|g| g.policy_id),
            Ok("first".into())
        );
        assert_eq!(
            cc("c2", Some(&s), &p).map(|g| g.policy_id),
            Ok("later".into())
        );
    }

    #[test]
    fn step5_and_6_inactive_policies_and_rules_are_skipped() {
        let mut inactive_rule = rule("off", 1, &["client_credentials"], &["EVERYONE"], &["*"]);
        inactive_rule.active = false;
        let mut inactive_policy = policy(
            "offp",
            1,
            Clients::All,
            vec![rule("x", 1, &["client_credentials"], &["EVERYONE"], &["*"])],
        );
        inactive_policy.active = false;
        let p = [
            inactive_policy,
            policy(
                "p",
                2,
                Clients::All,
                vec![
                    inactive_rule,
                    rule("on", 2, &["client_credentials"], &["EVERYONE"], &["*"]),
                ],
            ),
        ];
        let s = scopes(&["orders.read"]);
        assert_eq!(cc("c", Some(&s), &p).map(|g| g.rule_id), Ok("on".into()));
    }

    #[test]
    fn step6_rule_must_cover_grant_type() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![rule("pw", 1, &["password"], &["EVERYONE"], &["*"])],
        )];
        assert_eq!(
            cc("c", Some(&scopes(&["orders.read"])), &p),
            Err(Denied::NoMatchingPolicy)
        );
    }

    #[test]
    fn step6_rule_must_cover_the_user_through_users_groups_or_everyone() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![
                rule("admins", 1, &["password"], &["00gADMIN"], &["*"]),
                {
                    let mut r = rule("direct", 2, &["password"], &[], &["*"]);
                    r.users = vec!["00uBOB".into()];
                    r
                },
                rule("everyone", 3, &["password"], &["00gALL"], &["orders.read"]),
            ],
        )];
        let s = scopes(&["orders.read"]);
        let eval_for = |id: &str, groups: &[&str]| {
            let u = UserFacts {
                id: id.into(),
                group_ids: groups.iter().map(|g| (*g).into()).collect(),
            };
            evaluate(
                &p,
                &catalog(),
                &Request {
                    client_id: "c",
                    grant_type: "password",
                    user: Some(&u),
                    scopes: Some(&s),
                    everyone_group_id: "00gALL",
                },
            )
            .map(|g| g.rule_id)
        };
        assert_eq!(eval_for("00uANN", &["00gADMIN"]), Ok("admins".into()));
        assert_eq!(eval_for("00uBOB", &[]), Ok("direct".into()));
        assert_eq!(eval_for("00uEVE", &[]), Ok("everyone".into()));
    }

    #[test]
    fn step6_every_requested_scope_must_be_covered_reserved_ones_included() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![
                rule(
                    "narrow",
                    1,
                    &["client_credentials"],
                    &["EVERYONE"],
                    &["orders.read"],
                ),
                rule(
                    "wide",
                    2,
                    &["client_credentials"],
                    &["EVERYONE"],
                    &["orders.read", "orders.write"],
                ),
            ],
        )];
        assert_eq!(
            cc("c", Some(&scopes(&["orders.read"])), &p).map(|g| g.rule_id),
            Ok("narrow".into())
        );
        assert_eq!(
            cc("c", Some(&scopes(&["orders.read", "orders.write"])), &p).map(|g| g.rule_id),
            Ok("wide".into())
        );
        assert_eq!(
            cc("c", Some(&scopes(&["orders.read", "profile"])), &p),
            Err(Denied::NoMatchingPolicy)
        );
    }

    #[test]
    fn step7_first_match_wins_and_supplies_lifetimes() {
        let mut first = rule("first", 1, &["client_credentials"], &["EVERYONE"], &["*"]);
        first.lifetimes.access_token_minutes = 5;
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![
                rule("second", 2, &["client_credentials"], &["EVERYONE"], &["*"]),
                first,
            ],
        )];
        let g = cc("c", Some(&scopes(&["reports"])), &p).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (g.rule_id.as_str(), g.lifetimes.access_token_minutes),
            ("first", 5)
        );
    }

    #[test]
    fn step8_no_policy_at_all_is_no_matching_policy() {
        let denied = cc("c", Some(&scopes(&["reports"])), &[]).unwrap_err();
        assert_eq!(denied, Denied::NoMatchingPolicy);
    }

    #[test]
    fn step9_no_silent_down_scoping() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![rule(
                "r",
                1,
                &["client_credentials"],
                &["EVERYONE"],
                &["orders.read"],
            )],
        )];
        assert_eq!(
            cc("c", Some(&scopes(&["orders.read", "orders.write"])), &p),
            Err(Denied::NoMatchingPolicy)
        );
    }

    #[test]
    fn duplicate_requested_scopes_are_granted_once() {
        let p = [policy(
            "p",
            1,
            Clients::All,
            vec![rule("r", 1, &["client_credentials"], &["EVERYONE"], &["*"])],
        )];
        assert_eq!(
            cc("c", Some(&scopes(&["reports", "reports"])), &p).map(|g| g.scopes),
            Ok(scopes(&["reports"]))
        );
    }

    #[test]
    fn explain_says_why_each_policy_and_rule_matched_or_was_skipped() {
        let mut off = rule("off", 0, &["client_credentials"], &["EVERYONE"], &["*"]);
        off.active = false;
        let mut dormant = policy("dormant", 0, Clients::All, vec![]);
        dormant.active = false;
        let p = [
            policy(
                "theirs",
                1,
                Clients::Only(vec!["other".into()]),
                vec![rule(
                    "t1",
                    1,
                    &["client_credentials"],
                    &["EVERYONE"],
                    &["*"],
                )],
            ),
            policy(
                "ours",
                2,
                Clients::All,
                vec![
                    off,
                    rule("pwd", 1, &["password"], &["EVERYONE"], &["*"]),
                    rule(
                        "narrow",
                        2,
                        &["client_credentials"],
                        &["EVERYONE"],
                        &["orders.read"],
                    ),
                    rule("wide", 3, &["client_credentials"], &["EVERYONE"], &["*"]),
                    rule("late", 4, &["client_credentials"], &["EVERYONE"], &["*"]),
                ],
            ),
            policy("after", 3, Clients::All, vec![]),
            dormant,
        ];
        let s = scopes(&["orders.read", "orders.write"]);
        let request = Request {
            client_id: "c1",
            grant_type: "client_credentials",
            user: None,
            scopes: Some(&s),
            everyone_group_id: "00gALL",
        };
        let (decision, trace) = explain(&p, &catalog(), &request);
        assert_eq!(decision, evaluate(&p, &catalog(), &request));
        assert_eq!(decision.map(|g| g.rule_id), Ok("wide".to_owned()));
        let outcomes: Vec<(&str, PolicyOutcome)> = trace
            .policies
            .iter()
            .map(|p| (p.id.as_str(), p.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("theirs", PolicyOutcome::ClientNotIncluded),
                ("ours", PolicyOutcome::Matched),
                ("after", PolicyOutcome::NotEvaluated),
                ("dormant", PolicyOutcome::Inactive),
            ]
        );
        let rules: Vec<(&str, RuleOutcome)> = trace.policies[1]
            .rules
            .iter()
            .map(|r| (r.id.as_str(), r.outcome.clone()))
            .collect();
        assert_eq!(
            rules,
            [
                ("pwd", RuleOutcome::GrantTypeNotIncluded),
                (
                    "narrow",
                    RuleOutcome::ScopesNotCovered(vec!["orders.write".into()])
                ),
                ("wide", RuleOutcome::Matched),
                ("late", RuleOutcome::NotEvaluated),
                ("off", RuleOutcome::Inactive),
            ]
        );
    }
}
