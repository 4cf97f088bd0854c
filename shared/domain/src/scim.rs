//! Okta's `filter` and `search` expression language, the filter syntax of SCIM (RFC 7644
//! §3.4.2.2, without `[ ]`), evaluated against a resource's JSON as Okta renders it: the System
//! Log's events, users, groups.
//!
//! A path names any attribute (`status`, `profile.lastName`, `outcome.result`, `target.id`); a
//! path through an array matches when any element matches. Operators and `and`/`or`/`not` are
//! read in any case. Timestamps (RFC 3339) compare as instants, numbers as numbers, the rest as
//! text. Parsing is bounded (length, nesting, number of comparisons), so no input can exhaust
//! the stack.

use serde_json::Value;

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

/// How string values compare under `eq` and `ne`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// The System Log compares values exactly.
    Sensitive,
    /// User and group searches: "string values are case insensitive" (Okta's Users API).
    Insensitive,
}

fn instant(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

fn compare(actual: &Value, op: Op, expected: &str, case: Case) -> bool {
    let a = text_of(actual);
    let equal = || match case {
        Case::Sensitive => a == expected,
        Case::Insensitive => a.to_lowercase() == expected.to_lowercase(),
    };
    match op {
        Op::Eq => equal(),
        Op::Ne => !equal(),
        Op::Co => a.to_lowercase().contains(&expected.to_lowercase()),
        Op::Sw => a.to_lowercase().starts_with(&expected.to_lowercase()),
        Op::Ew => a.to_lowercase().ends_with(&expected.to_lowercase()),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let ord = match (a.parse::<f64>(), expected.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.partial_cmp(&y),
                _ => match (instant(&a), instant(expected)) {
                    (Some(x), Some(y)) => Some(x.cmp(&y)),
                    _ => Some(a.as_str().cmp(expected)),
                },
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
    /// Whether `resource` (a JSON object as Okta renders it) satisfies the filter, comparing
    /// strings exactly (the System Log's rule).
    pub fn matches(&self, resource: &Value) -> bool {
        self.matches_with(resource, Case::Sensitive)
    }

    /// [`Filter::matches`], with `eq`/`ne` comparing strings as `case` says.
    pub fn matches_with(&self, resource: &Value, case: Case) -> bool {
        match self {
            Self::And(a, b) => a.matches_with(resource, case) && b.matches_with(resource, case),
            Self::Or(a, b) => a.matches_with(resource, case) || b.matches_with(resource, case),
            Self::Not(f) => !f.matches_with(resource, case),
            Self::Present(path) => !values_at(resource, path).is_empty(),
            Self::Compare { path, op, value } => {
                let found = values_at(resource, path);
                match op {
                    // `ne` holds when no value equals it (an absent attribute included).
                    Op::Ne => found.iter().all(|v| compare(v, Op::Ne, value, case)),
                    _ => found.iter().any(|v| compare(v, *op, value, case)),
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
    fn searches_compare_strings_in_any_case_and_timestamps_as_instants() {
        let user = json!({
            "status": "ACTIVE",
            "lastUpdated": "2026-12-01T10:00:00.000Z",
            "profile": { "lastName": "Smith", "costCenter": "R&D" }
        });
        let cases = [
            (r#"profile.lastName eq "smith""#, true),
            (
                r#"profile.lastName EQ "SMITH" AND status eq "active""#,
                true,
            ),
            (r#"profile.costCenter eq "R&D""#, true),
            (r#"profile.lastName ne "smith""#, false),
            (r#"lastUpdated gt "2026-12-01T09:00:00Z""#, true),
            (r#"lastUpdated gt "2026-12-01T11:00:00+02:00""#, true),
            (r#"lastUpdated ge "2026-12-01T10:00:00Z""#, true),
            (r#"lastUpdated lt "2026-12-01T10:00:00Z""#, false),
        ];
        for (f, want) in cases {
            let parsed = parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(parsed.matches_with(&user, Case::Insensitive), want, "{f}");
        }
        let exact = parse_filter(r#"profile.lastName eq "smith""#).expect("parses");
        assert!(!exact.matches(&user));
    }
}
