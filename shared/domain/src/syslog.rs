//! The System Log's pure parts (OKTA-REFERENCE §12): which event a management call records,
//! and the `filter` / `q` query language of `GET /api/v1/logs`.
//!
//! Events are JSON objects in Okta's `LogEvent` shape; filters are evaluated against that
//! JSON, so a filter can name any attribute path (`eventType`, `outcome.result`,
//! `actor.id`, `target.id`, `client.ipAddress`, …). A path through an array (`target`)
//! matches when any element matches.

use serde_json::Value;

/// The event a successful management call records, and what it acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEvent {
    pub event_type: String,
    pub target_type: &'static str,
    /// The id of the object acted on, from the path (absent for a create: the handler's
    /// response names it).
    pub target_id: Option<String>,
}

fn event(event_type: impl Into<String>, target_type: &'static str, id: Option<&str>) -> AdminEvent {
    AdminEvent {
        event_type: event_type.into(),
        target_type,
        target_id: id.map(str::to_owned),
    }
}

/// The event type of a change made through the management API: `method` and `path` relative
/// to `{org}/api/v1` (or `{org}/oauth2/v1` for `clients/…`). `None` for reads and for calls that
/// change nothing worth recording. Okta's names where Okta has one (§12); where it documents
/// none, a name in the same pattern.
pub fn admin_event(method: &str, path: &str) -> Option<AdminEvent> {
    use Verb::*;
    let verb = match method {
        "POST" => Post,
        "PUT" => Put,
        "DELETE" => Delete,
        _ => return None,
    };
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let e = match (verb, seg.as_slice()) {
        // Authorization servers and their parts.
        (Post, ["authorizationServers"]) => event("oauth2.as.created", "AuthorizationServer", None),
        (Put, ["authorizationServers", id]) => {
            event("oauth2.as.updated", "AuthorizationServer", Some(id))
        }
        (Delete, ["authorizationServers", id]) => {
            event("oauth2.as.deleted", "AuthorizationServer", Some(id))
        }
        (Post, ["authorizationServers", id, "lifecycle", action]) => event(
            format!("oauth2.as.{}", past(action)?),
            "AuthorizationServer",
            Some(id),
        ),
        (
            Post,
            [
                "authorizationServers",
                id,
                "credentials",
                "lifecycle",
                "keyRotate",
            ],
        ) => event(
            "app.oauth2.as.key.rollover",
            "AuthorizationServer",
            Some(id),
        ),
        (Post, ["authorizationServers", _, "scopes"]) => {
            event("oauth2.scope.created", "OAuth2Scope", None)
        }
        (Put, ["authorizationServers", _, "scopes", id]) => {
            event("oauth2.scope.updated", "OAuth2Scope", Some(id))
        }
        (Delete, ["authorizationServers", _, "scopes", id]) => {
            event("oauth2.scope.deleted", "OAuth2Scope", Some(id))
        }
        (Post, ["authorizationServers", _, "claims"]) => {
            event("oauth2.claim.created", "OAuth2Claim", None)
        }
        (Put, ["authorizationServers", _, "claims", id]) => {
            event("oauth2.claim.updated", "OAuth2Claim", Some(id))
        }
        (Delete, ["authorizationServers", _, "claims", id]) => {
            event("oauth2.claim.deleted", "OAuth2Claim", Some(id))
        }
        (Post, ["authorizationServers", _, "policies"]) => {
            event("policy.lifecycle.create", "Policy", None)
        }
        (Put, ["authorizationServers", _, "policies", id]) => {
            event("policy.lifecycle.update", "Policy", Some(id))
        }
        (Delete, ["authorizationServers", _, "policies", id]) => {
            event("policy.lifecycle.delete", "Policy", Some(id))
        }
        (
            Post,
            [
                "authorizationServers",
                _,
                "policies",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("policy.lifecycle.{}", present(action)?),
            "Policy",
            Some(id),
        ),
        (Post, ["authorizationServers", _, "policies", _, "rules"]) => {
            event("policy.rule.add", "PolicyRule", None)
        }
        (Put, ["authorizationServers", _, "policies", _, "rules", id]) => {
            event("policy.rule.update", "PolicyRule", Some(id))
        }
        (Delete, ["authorizationServers", _, "policies", _, "rules", id]) => {
            event("policy.rule.delete", "PolicyRule", Some(id))
        }
        (
            Post,
            [
                "authorizationServers",
                _,
                "policies",
                _,
                "rules",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("policy.rule.{}", present(action)?),
            "PolicyRule",
            Some(id),
        ),
        (Delete, ["authorizationServers", _, "clients", id, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "AppInstance", Some(id))
        }
        // Apps, their credentials and assignments.
        (Post, ["apps"]) => event("app.oauth2.client.lifecycle.create", "AppInstance", None),
        (Put, ["apps", id]) => event(
            "app.oauth2.client.lifecycle.update",
            "AppInstance",
            Some(id),
        ),
        (Delete, ["apps", id]) => event(
            "app.oauth2.client.lifecycle.delete",
            "AppInstance",
            Some(id),
        ),
        (Post, ["apps", id, "lifecycle", action]) => event(
            format!("app.oauth2.client.lifecycle.{}", present(action)?),
            "AppInstance",
            Some(id),
        ),
        (Post, ["apps", _, "credentials", "secrets" | "jwks"]) => event(
            "app.oauth2.credentials.lifecycle.create",
            "AppCredential",
            None,
        ),
        (Delete, ["apps", _, "credentials", "secrets" | "jwks", id]) => event(
            "app.oauth2.credentials.lifecycle.delete",
            "AppCredential",
            Some(id),
        ),
        (
            Post,
            [
                "apps",
                _,
                "credentials",
                "secrets" | "jwks",
                id,
                "lifecycle",
                action,
            ],
        ) => event(
            format!("app.oauth2.credentials.lifecycle.{}", present(action)?),
            "AppCredential",
            Some(id),
        ),
        (Post, ["apps", _, "users"]) => event("application.user_membership.add", "User", None),
        (Post, ["apps", _, "users", id]) => {
            event("application.user_membership.update", "User", Some(id))
        }
        (Delete, ["apps", _, "users", id]) => {
            event("application.user_membership.remove", "User", Some(id))
        }
        (Put, ["apps", _, "groups", id]) => {
            event("group.application_assignment.add", "UserGroup", Some(id))
        }
        (Delete, ["apps", _, "groups", id]) => {
            event("group.application_assignment.remove", "UserGroup", Some(id))
        }
        (Post, ["apps", id, "grants"]) => {
            event("app.oauth2.client.scope_grant.add", "AppInstance", Some(id))
        }
        (Delete, ["apps", id, "grants", _]) => event(
            "app.oauth2.client.scope_grant.remove",
            "AppInstance",
            Some(id),
        ),
        (Delete, ["apps", id, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "AppInstance", Some(id))
        }
        // Users, groups, roles and consents.
        (Post, ["users"]) => event("user.lifecycle.create", "User", None),
        (Post | Put, ["users", id]) => event("user.account.update_profile", "User", Some(id)),
        (Delete, ["users", id]) => event("user.lifecycle.delete.completed", "User", Some(id)),
        (Post, ["users", id, "lifecycle", "unlock"]) => {
            event("user.account.unlock_by_admin", "User", Some(id))
        }
        (Post, ["users", id, "lifecycle", action]) => event(
            format!("user.lifecycle.{}", present(action)?),
            "User",
            Some(id),
        ),
        (Post, ["users", id, "roles"]) => event("user.account.privilege.grant", "User", Some(id)),
        (Delete, ["users", id, "roles", _]) => {
            event("user.account.privilege.revoke", "User", Some(id))
        }
        (Delete, ["users", id, "grants", ..] | ["users", id, "clients", _, "grants"]) => {
            event("app.oauth2.as.consent.revoke.user", "User", Some(id))
        }
        (Delete, ["users", id, "clients", _, "tokens", ..]) => {
            event("app.oauth2.as.token.revoke", "User", Some(id))
        }
        (Post, ["groups"]) => event("group.lifecycle.create", "UserGroup", None),
        (Put, ["groups", id]) => event("group.profile.update", "UserGroup", Some(id)),
        (Delete, ["groups", id]) => event("group.lifecycle.delete", "UserGroup", Some(id)),
        (Put, ["groups", _, "users", id]) => event("group.user_membership.add", "User", Some(id)),
        (Delete, ["groups", _, "users", id]) => {
            event("group.user_membership.remove", "User", Some(id))
        }
        (Post, ["groups", id, "roles"]) => event("group.privilege.grant", "UserGroup", Some(id)),
        (Delete, ["groups", id, "roles", _]) => {
            event("group.privilege.revoke", "UserGroup", Some(id))
        }
        (Post, ["clients", id, "roles"]) => {
            event("app.oauth2.client.privilege.grant", "AppInstance", Some(id))
        }
        (Delete, ["clients", id, "roles", _]) => event(
            "app.oauth2.client.privilege.revoke",
            "AppInstance",
            Some(id),
        ),
        // API tokens and inline hooks.
        (Post, ["api-tokens"]) => event("system.api_token.create", "Token", None),
        (Delete, ["api-tokens", id]) => event("system.api_token.revoke", "Token", Some(id)),
        (Post, ["trustedOrigins"]) => {
            event("security.trusted_origin.create", "TrustedOrigin", None)
        }
        (Put, ["trustedOrigins", id]) => {
            event("security.trusted_origin.update", "TrustedOrigin", Some(id))
        }
        (Delete, ["trustedOrigins", id]) => {
            event("security.trusted_origin.delete", "TrustedOrigin", Some(id))
        }
        (Post, ["trustedOrigins", id, "lifecycle", action]) => event(
            format!("security.trusted_origin.{}", present(action)?),
            "TrustedOrigin",
            Some(id),
        ),
        (Post, ["inlineHooks"]) => event("inline_hook.created", "InlineHook", None),
        (Put, ["inlineHooks", id]) => event("inline_hook.updated", "InlineHook", Some(id)),
        (Delete, ["inlineHooks", id]) => event("inline_hook.deleted", "InlineHook", Some(id)),
        (Post, ["inlineHooks", id, "lifecycle", action]) => event(
            format!("inline_hook.{}", past(action)?),
            "InlineHook",
            Some(id),
        ),
        _ => return None,
    };
    Some(e)
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Post,
    Put,
    Delete,
}

/// `activate` → `activated` (the `oauth2.as.*` and `inline_hook.*` names).
fn past(action: &str) -> Option<&'static str> {
    match action {
        "activate" => Some("activated"),
        "deactivate" => Some("deactivated"),
        _ => None,
    }
}

/// `activate` → `activate` (the `*.lifecycle.*` names); other actions record nothing.
fn present(action: &str) -> Option<&'static str> {
    match action {
        "activate" => Some("activate"),
        "deactivate" => Some("deactivate"),
        _ => None,
    }
}

/// A parsed `filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare {
        path: Vec<String>,
        op: Op,
        value: String,
    },
    Present(Vec<String>),
}

/// The comparison operators of Okta's filter syntax (SCIM), minus `[ ]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// Why a filter did not parse; the text goes into the error's cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn lex(input: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err(FilterError("unterminated string".into())),
                        },
                        Some('"') => break,
                        Some(ch) => s.push(ch),
                        None => return Err(FilterError("unterminated string".into())),
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

/// The longest filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4096;
/// How deeply parentheses and `not (…)` may nest.
pub const MAX_FILTER_NESTING: usize = 16;
/// The most comparisons one filter may hold (each `and`/`or` deepens the parsed tree by one).
pub const MAX_FILTER_TERMS: usize = 100;

/// Parses a filter such as `eventType eq "app.oauth2.as.token.grant" and outcome.result eq
/// "FAILURE"`. `and` binds tighter than `or`; parentheses and `not (…)` group. Bounded: at most
/// [`MAX_FILTER_LEN`] characters, [`MAX_FILTER_NESTING`] levels and [`MAX_FILTER_TERMS`]
/// comparisons, so neither parsing nor matching can exhaust the stack.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(FilterError(format!(
            "the filter is longer than {MAX_FILTER_LEN} characters"
        )));
    }
    let toks = lex(input)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
        terms: 0,
    };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError(format!(
            "unexpected token at position {}",
            p.pos + 1
        )));
    }
    Ok(f)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    nesting: usize,
    terms: usize,
}

impl Parser {
    fn keyword(&mut self, kw: &str) -> bool {
        if let Some(Tok::Word(w)) = self.toks.get(self.pos)
            && w.eq_ignore_ascii_case(kw)
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if matches!(self.toks.get(self.pos), Some(Tok::Open)) {
            return self.group();
        }
        self.comparison()
    }

    fn group(&mut self) -> Result<Filter, FilterError> {
        if !matches!(self.toks.get(self.pos), Some(Tok::Open)) {
            return Err(FilterError("expected '('".into()));
        }
        self.pos += 1;
        self.nesting += 1;
        if self.nesting > MAX_FILTER_NESTING {
            return Err(FilterError(format!(
                "the filter nests deeper than {MAX_FILTER_NESTING} levels"
            )));
        }
        let f = self.or()?;
        self.nesting -= 1;
        if !matches!(self.toks.get(self.pos), Some(Tok::Close)) {
            return Err(FilterError("expected ')'".into()));
        }
        self.pos += 1;
        Ok(f)
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(FilterError(format!(
                "the filter holds more than {MAX_FILTER_TERMS} comparisons"
            )));
        }
        let Some(Tok::Word(attr)) = self.toks.get(self.pos).cloned() else {
            return Err(FilterError("expected an attribute name".into()));
        };
        let valid = !attr.is_empty()
            && attr
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            return Err(FilterError(format!("'{attr}' is not an attribute name")));
        }
        let path: Vec<String> = attr.split('.').map(str::to_owned).collect();
        self.pos += 1;
        let Some(Tok::Word(op)) = self.toks.get(self.pos).cloned() else {
            return Err(FilterError(format!("expected an operator after '{attr}'")));
        };
        self.pos += 1;
        let op = match op.to_ascii_lowercase().as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(FilterError(format!("unknown operator '{other}'"))),
        };
        let value = match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => s,
            // Unquoted literals: true, false, null and numbers.
            Some(Tok::Word(w)) => w,
            _ => return Err(FilterError(format!("expected a value after '{attr}'"))),
        };
        self.pos += 1;
        Ok(Filter::Compare { path, op, value })
    }
}

/// The values at `path` in `event` (several when the path crosses an array).
fn values_at<'a>(event: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let mut current = vec![event];
    for key in path {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Array(items) => next.extend(items.iter().filter_map(|i| i.get(key))),
                other => next.extend(other.get(key)),
            }
        }
        current = next;
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare(actual: &Value, op: Op, expected: &str) -> bool {
    let a = text_of(actual);
    match op {
        // Okta compares string values case-sensitively for `eq`; keep that.
        Op::Eq => a == expected,
        Op::Ne => a != expected,
        Op::Co => a.to_lowercase().contains(&expected.to_lowercase()),
        Op::Sw => a.to_lowercase().starts_with(&expected.to_lowercase()),
        Op::Ew => a.to_lowercase().ends_with(&expected.to_lowercase()),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let ord = match (a.parse::<f64>(), expected.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.partial_cmp(&y),
                _ => Some(a.as_str().cmp(expected)),
            };
            match (op, ord) {
                (Op::Gt, Some(o)) => o.is_gt(),
                (Op::Ge, Some(o)) => o.is_ge(),
                (Op::Lt, Some(o)) => o.is_lt(),
                (Op::Le, Some(o)) => o.is_le(),
                _ => false,
            }
        }
    }
}

impl Filter {
    /// Whether `event` (a `LogEvent` JSON object) satisfies the filter.
    pub fn matches(&self, event: &Value) -> bool {
        match self {
            Self::And(a, b) => a.matches(event) && b.matches(event),
            Self::Or(a, b) => a.matches(event) || b.matches(event),
            Self::Not(f) => !f.matches(event),
            Self::Present(path) => !values_at(event, path).is_empty(),
            Self::Compare { path, op, value } => {
                let found = values_at(event, path);
                match op {
                    // `ne` holds when no value equals it (an absent attribute included).
                    Op::Ne => found.iter().all(|v| compare(v, Op::Ne, value)),
                    _ => found.iter().any(|v| compare(v, *op, value)),
                }
            }
        }
    }
}

/// `q`: every keyword (space-separated, case-insensitive) must appear in some string value of
/// the event.
pub fn matches_keywords(event: &Value, q: &str) -> bool {
    fn collect(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(&s.to_lowercase());
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            Value::Object(map) => map.values().for_each(|i| collect(i, out)),
            _ => {}
        }
    }
    let mut haystack = String::new();
    collect(event, &mut haystack);
    q.split_whitespace()
        .all(|k| haystack.contains(&k.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "eventType": "app.oauth2.as.token.grant",
            "severity": "WARN",
            "displayMessage": "OAuth2 token request",
            "outcome": { "result": "FAILURE", "reason": "invalid_grant" },
            "actor": { "id": "0oa1", "type": "PublicClientApp", "displayName": "Billing App" },
            "target": [
                { "id": "aus1", "type": "AuthorizationServer" },
                { "id": "0oa1", "type": "AppInstance" }
            ],
            "client": { "ipAddress": "10.0.0.7" }
        })
    }

    #[test]
    fn filters_select_what_they_say() {
        let e = sample();
        let cases = [
            (r#"eventType eq "app.oauth2.as.token.grant""#, true),
            (r#"eventType eq "app.oauth2.as.token.revoke""#, false),
            (r#"outcome.result eq "FAILURE""#, true),
            (
                r#"eventType eq "app.oauth2.as.token.grant" and outcome.result eq "SUCCESS""#,
                false,
            ),
            (
                r#"outcome.result eq "SUCCESS" or outcome.reason eq "invalid_grant""#,
                true,
            ),
            (r#"target.id eq "aus1""#, true),
            (r#"target.type eq "User""#, false),
            (r#"eventType sw "app.oauth2""#, true),
            (r#"displayMessage co "TOKEN""#, true),
            (r#"actor.alternateId pr"#, false),
            (r#"actor.id pr"#, true),
            (r#"not (severity eq "INFO")"#, true),
            (r#"severity ne "WARN""#, false),
            (
                r#"(eventType eq "x" or eventType eq "app.oauth2.as.token.grant") and client.ipAddress eq "10.0.0.7""#,
                true,
            ),
        ];
        for (f, want) in cases {
            let parsed = parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(parsed.matches(&e), want, "{f}");
        }
    }

    /// The reported crashes: `not (` nested 2,000 times, `(` 5,000 times. Refused with a
    /// message naming the limit; the deepest accepted filter parses and matches.
    #[test]
    fn filters_past_the_limits_are_refused_before_they_recurse() {
        let nots = format!("{}eventType pr{}", "not (".repeat(2000), ")".repeat(2000));
        assert!(parse_filter(&nots).is_err());
        let opens = "(".repeat(5000);
        let e = parse_filter(&opens).expect_err("too long");
        assert!(e.0.contains("4096"), "{e}");
        let deep = format!(
            "{}eventType pr{}",
            "not (".repeat(MAX_FILTER_NESTING + 1),
            ")".repeat(MAX_FILTER_NESTING + 1)
        );
        let e = parse_filter(&deep).expect_err("too deep");
        assert!(e.0.contains("16 levels"), "{e}");
        let ok = format!(
            "{}eventType pr{}",
            "not (".repeat(MAX_FILTER_NESTING),
            ")".repeat(MAX_FILTER_NESTING)
        );
        assert!(parse_filter(&ok).is_ok());
        let many = vec!["eventType pr"; MAX_FILTER_TERMS + 1].join(" or ");
        let e = parse_filter(&many).expect_err("too many terms");
        assert!(e.0.contains("100 comparisons"), "{e}");
        let most = vec!["eventType pr"; MAX_FILTER_TERMS].join(" or ");
        assert!(parse_filter(&most).is_ok_and(|f| f.matches(&sample())));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for f in [
            "",
            "eventType",
            r#"eventType eq"#,
            r#"eventType xx "a""#,
            r#"eventType eq "a" and"#,
            r#"(eventType eq "a""#,
            r#"eventType eq "unterminated"#,
            r#"event$Type eq "a""#,
            r#"eventType eq "a" extra"#,
        ] {
            assert!(parse_filter(f).is_err(), "{f} should not parse");
        }
    }

    #[test]
    fn keywords_must_all_match_case_insensitively() {
        let e = sample();
        assert!(matches_keywords(&e, "billing"));
        assert!(matches_keywords(&e, "Billing invalid_grant"));
        assert!(!matches_keywords(&e, "billing nothere"));
        assert!(matches_keywords(&e, ""));
    }

    #[test]
    fn management_calls_map_to_okta_event_types() {
        let cases = [
            ("POST", "/authorizationServers", Some("oauth2.as.created")),
            (
                "POST",
                "/authorizationServers/aus1/lifecycle/deactivate",
                Some("oauth2.as.deactivated"),
            ),
            (
                "POST",
                "/authorizationServers/aus1/credentials/lifecycle/keyRotate",
                Some("app.oauth2.as.key.rollover"),
            ),
            (
                "PUT",
                "/authorizationServers/aus1/policies/p1/rules/r1",
                Some("policy.rule.update"),
            ),
            (
                "POST",
                "/authorizationServers/aus1/policies/p1/rules/r1/lifecycle/activate",
                Some("policy.rule.activate"),
            ),
            (
                "DELETE",
                "/authorizationServers/aus1/scopes/s1",
                Some("oauth2.scope.deleted"),
            ),
            ("POST", "/apps", Some("app.oauth2.client.lifecycle.create")),
            (
                "POST",
                "/apps/0oa1/credentials/secrets/s1/lifecycle/deactivate",
                Some("app.oauth2.credentials.lifecycle.deactivate"),
            ),
            (
                "POST",
                "/users/u1/lifecycle/deactivate",
                Some("user.lifecycle.deactivate"),
            ),
            ("POST", "/users/u1/lifecycle/reset_password", None),
            (
                "PUT",
                "/groups/g1/users/u1",
                Some("group.user_membership.add"),
            ),
            (
                "POST",
                "/users/u1/roles",
                Some("user.account.privilege.grant"),
            ),
            ("DELETE", "/api-tokens/t1", Some("system.api_token.revoke")),
            (
                "POST",
                "/inlineHooks/h1/lifecycle/activate",
                Some("inline_hook.activated"),
            ),
            ("POST", "/inlineHooks/h1/execute", None),
            (
                "POST",
                "/trustedOrigins",
                Some("security.trusted_origin.create"),
            ),
            (
                "POST",
                "/trustedOrigins/tos1/lifecycle/deactivate",
                Some("security.trusted_origin.deactivate"),
            ),
            ("GET", "/apps", None),
            (
                "DELETE",
                "/users/u1/clients/0oa1/tokens",
                Some("app.oauth2.as.token.revoke"),
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(
                admin_event(method, path).map(|e| e.event_type),
                want.map(str::to_owned),
                "{method} {path}"
            );
        }
        let e = admin_event("PUT", "/authorizationServers/aus9").unwrap();
        assert_eq!(
            (e.target_type, e.target_id.as_deref()),
            ("AuthorizationServer", Some("aus9"))
        );
    }
}
