//! Evaluation of parsed Expression Language trees (Okta Expression Language,
//! <https://developer.okta.com/docs/reference/okta-expression-language/>) against a token request.
//!
//! Values are JSON values. Member access on a missing attribute or on null gives null (Okta
//! leaves an absent profile attribute out rather than failing); a type error, an unknown
//! function or a bad argument fails the evaluation, which fails the token request with
//! `server_error` naming the claim.

use serde_json::{Map, Number, Value, json};

use crate::el::{BinOp, Expr};

/// A group the user belongs to, as the group functions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
    /// `OKTA_GROUP`, `BUILT_IN` or `APP_GROUP`.
    pub kind: String,
}

/// Everything an expression can read.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The user's profile, with `id` and `status` available through `getInternalProperty`.
    pub user: Option<Value>,
    pub user_id: Option<String>,
    pub user_status: Option<String>,
    /// The app-user profile with `userName`.
    pub appuser: Option<Value>,
    /// `{id, clientId, label, profile}`.
    pub app: Value,
    /// `{name, subDomain}`.
    pub org: Value,
    /// The granted scopes (`access.scope`).
    pub scopes: Vec<String>,
    pub groups: Vec<GroupRef>,
    pub amr: Vec<String>,
    /// Unix seconds, for `Time.now()`.
    pub now: i64,
}

/// Why an expression could not be evaluated (logged; never sent to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

const NAMESPACES: &[&str] = &[
    "String",
    "Arrays",
    "Convert",
    "Groups",
    "Time",
    "Iso3166Convert",
];

/// The most steps (tree nodes visited) one evaluation may take.
pub const MAX_STEPS: usize = 10_000;
/// The longest string, in bytes, an evaluation may produce, at any step.
pub const MAX_TEXT: usize = 16 * 1024;
/// The most elements an array may hold, at any step.
pub const MAX_ITEMS: usize = 1_000;

/// What one evaluation may still spend. Every node costs a step, and every value produced is
/// checked against [`MAX_TEXT`] and [`MAX_ITEMS`]; an operation whose result would be larger is
/// refused before it allocates (`String.replace` can multiply its input).
struct Budget {
    steps: usize,
}

impl Budget {
    fn step(&mut self) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err(format!("the evaluation took more than {MAX_STEPS} steps"));
        }
        Ok(())
    }
}

/// Refuses a value larger than the limits (its top level: its parts were checked as they were
/// made).
fn bounded(v: Value) -> Result<Value, EvalError> {
    match &v {
        Value::String(s) if s.len() > MAX_TEXT => {
            err(format!("a string grew past {MAX_TEXT} bytes"))
        }
        Value::Array(a) if a.len() > MAX_ITEMS => {
            err(format!("an array grew past {MAX_ITEMS} elements"))
        }
        _ => Ok(v),
    }
}

/// Evaluates `expr` in `ctx`, within the limits above.
pub fn eval(expr: &Expr, ctx: &Context) -> Result<Value, EvalError> {
    ev(expr, ctx, &mut Budget { steps: 0 })
}

fn ev(expr: &Expr, ctx: &Context, b: &mut Budget) -> Result<Value, EvalError> {
    b.step()?;
    let value = node(expr, ctx, b)?;
    bounded(value)
}

fn node(expr: &Expr, ctx: &Context, b: &mut Budget) -> Result<Value, EvalError> {
    match expr {
        Expr::Null => Ok(Value::Null),
        Expr::Bool(b) => Ok(Value::Bool(*b)),
        Expr::Number(n) => Ok(num(*n)),
        Expr::Str(s) => Ok(Value::String(s.clone())),
        Expr::Array(items) => Ok(Value::Array(
            items
                .iter()
                .map(|e| ev(e, ctx, b))
                .collect::<Result<_, _>>()?,
        )),
        Expr::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                m.insert(k.clone(), ev(v, ctx, b)?);
            }
            Ok(Value::Object(m))
        }
        Expr::Ident(name) => root(name, ctx),
        Expr::Member(target, name) => Ok(member(&ev(target, ctx, b)?, name)),
        Expr::Index(target, index) => {
            let t = ev(target, ctx, b)?;
            let i = ev(index, ctx, b)?;
            Ok(match (&t, &i) {
                (Value::Array(a), Value::Number(n)) => n
                    .as_f64()
                    .and_then(|f| a.get(f as usize))
                    .cloned()
                    .unwrap_or(Value::Null),
                (Value::Object(m), Value::String(k)) => m.get(k).cloned().unwrap_or(Value::Null),
                (Value::Null, _) => Value::Null,
                _ => return err("index applied to a value that is not an array or map"),
            })
        }
        Expr::Projection(target, field) => {
            let items = match ev(target, ctx, b)? {
                Value::Array(a) => a,
                Value::Null => return Ok(Value::Null),
                _ => return err("projection applied to a value that is not an array"),
            };
            let Expr::Ident(f) = field.as_ref() else {
                return err("only field projections are supported");
            };
            Ok(Value::Array(items.iter().map(|i| member(i, f)).collect()))
        }
        Expr::Call { target, name, args } => call(target.as_deref(), name, args, ctx, b),
        Expr::Not(e) => Ok(Value::Bool(!truthy(&ev(e, ctx, b)?)?)),
        Expr::Binary(op, l, r) => binary(*op, l, r, ctx, b),
        Expr::Ternary(c, a, otherwise) => {
            if truthy(&ev(c, ctx, b)?)? {
                ev(a, ctx, b)
            } else {
                ev(otherwise, ctx, b)
            }
        }
        Expr::Elvis(v, fallback) => {
            let value = ev(v, ctx, b)?;
            if is_empty(&value) {
                ev(fallback, ctx, b)
            } else {
                Ok(value)
            }
        }
    }
}

fn num(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn root(name: &str, ctx: &Context) -> Result<Value, EvalError> {
    Ok(match name {
        "user" => ctx.user.clone().unwrap_or(Value::Null),
        "appuser" => ctx.appuser.clone().unwrap_or(Value::Null),
        "app" => ctx.app.clone(),
        "org" => ctx.org.clone(),
        "access" => json!({ "scope": ctx.scopes }),
        "session" => json!({ "amr": ctx.amr }),
        ns if NAMESPACES.contains(&ns) => {
            return err(format!("'{ns}' can only be used to call its functions"));
        }
        other => return err(format!("unknown reference '{other}'")),
    })
}

fn member(v: &Value, name: &str) -> Value {
    match v {
        Value::Object(m) => m.get(name).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn truthy(v: &Value) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => err(format!("expected a boolean, found {other}")),
    }
}

/// The text of a value for concatenation and string functions.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Result<f64, EvalError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| EvalError("not a number".into())),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| EvalError(format!("'{s}' is not a number"))),
        other => err(format!("expected a number, found {other}")),
    }
}

fn binary(
    op: BinOp,
    l: &Expr,
    r: &Expr,
    ctx: &Context,
    b: &mut Budget,
) -> Result<Value, EvalError> {
    // AND / OR short-circuit like SpEL.
    match op {
        BinOp::And => {
            return Ok(Value::Bool(
                truthy(&ev(l, ctx, b)?)? && truthy(&ev(r, ctx, b)?)?,
            ));
        }
        BinOp::Or => {
            return Ok(Value::Bool(
                truthy(&ev(l, ctx, b)?)? || truthy(&ev(r, ctx, b)?)?,
            ));
        }
        _ => {}
    }
    let (a, z) = (ev(l, ctx, b)?, ev(r, ctx, b)?);
    let b = z;
    Ok(match op {
        BinOp::Add => match (&a, &b) {
            (Value::Number(_), Value::Number(_)) => num(number(&a)? + number(&b)?),
            _ => Value::String(format!("{}{}", text(&a), text(&b))),
        },
        BinOp::Sub => num(number(&a)? - number(&b)?),
        BinOp::Eq => Value::Bool(loose_eq(&a, &b)),
        BinOp::Ne => Value::Bool(!loose_eq(&a, &b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (&a, &b) {
                (Value::String(x), Value::String(y)) => x.cmp(y),
                _ => number(&a)?
                    .partial_cmp(&number(&b)?)
                    .ok_or_else(|| EvalError("incomparable values".into()))?,
            };
            Value::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        BinOp::Matches => {
            let re = pattern(&text(&b))?;
            Value::Bool(re.is_match(&text(&a)))
        }
        BinOp::And | BinOp::Or => Value::Null,
    })
}

/// A whole-value regular expression, compiled within a size limit (the regex crate matches in
/// linear time; the limit bounds the compile).
fn pattern(source: &str) -> Result<regex::Regex, EvalError> {
    regex::RegexBuilder::new(&format!("^(?:{source})$"))
        .size_limit(256 * 1024)
        .dfa_size_limit(256 * 1024)
        .build()
        .map_err(|e| EvalError(e.to_string()))
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn call(
    target: Option<&Expr>,
    name: &str,
    args: &[Expr],
    ctx: &Context,
    b: &mut Budget,
) -> Result<Value, EvalError> {
    let values = args
        .iter()
        .map(|a| ev(a, ctx, b))
        .collect::<Result<Vec<_>, _>>()?;
    match target {
        Some(Expr::Ident(ns)) if NAMESPACES.contains(&ns.as_str()) => {
            namespaced(ns, name, &values, ctx)
        }
        Some(Expr::Ident(root)) if root == "user" => user_method(name, &values, ctx),
        Some(other) => {
            let _ = ev(other, ctx, b)?;
            err(format!("unknown method '{name}'"))
        }
        None => bare(name, &values, ctx),
    }
}

fn arg<'a>(values: &'a [Value], i: usize, fname: &str) -> Result<&'a Value, EvalError> {
    values
        .get(i)
        .ok_or_else(|| EvalError(format!("{fname}: missing argument {}", i + 1)))
}

/// An array argument; a CSV string is accepted and split (§9).
fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => s
            .split(',')
            .map(|p| Value::String(p.trim().to_owned()))
            .collect(),
        other => vec![other.clone()],
    }
}

fn limit(values: &[Value], i: usize) -> Result<usize, EvalError> {
    match values.get(i) {
        None => Ok(usize::MAX),
        Some(v) => Ok(number(v)?.max(0.0) as usize),
    }
}

fn namespaced(ns: &str, name: &str, v: &[Value], ctx: &Context) -> Result<Value, EvalError> {
    let f = format!("{ns}.{name}");
    let s = |i: usize| arg(v, i, &f).map(text);
    Ok(match (ns, name) {
        ("String", "append") => Value::String(format!("{}{}", s(0)?, s(1)?)),
        ("String", "join") => {
            let sep = s(0)?;
            Value::String(
                v[1..]
                    .iter()
                    .flat_map(array)
                    .map(|x| text(&x))
                    .collect::<Vec<_>>()
                    .join(&sep),
            )
        }
        ("String", "len") => json!(s(0)?.chars().count()),
        ("String", "removeSpaces") => {
            Value::String(s(0)?.chars().filter(|c| !c.is_whitespace()).collect())
        }
        ("String", "replace") => {
            let (input, from, to) = (s(0)?, s(1)?, s(2)?);
            // The result's size is known before it is built: refuse it rather than allocate.
            let hits = if from.is_empty() {
                input.chars().count() + 1
            } else {
                input.matches(from.as_str()).count()
            };
            let size = input
                .len()
                .saturating_sub(hits.saturating_mul(from.len()))
                .saturating_add(hits.saturating_mul(to.len()));
            if size > MAX_TEXT {
                return err(format!(
                    "{f}: the result would be longer than {MAX_TEXT} bytes"
                ));
            }
            Value::String(input.replace(&from, &to))
        }
        ("String", "replaceFirst") => Value::String(s(0)?.replacen(&s(1)?, &s(2)?, 1)),
        ("String", "startsWith") => Value::Bool(s(0)?.starts_with(&s(1)?)),
        ("String", "stringContains") => Value::Bool(s(0)?.contains(&s(1)?)),
        ("String", "stringSwitch") => {
            let input = s(0)?;
            let default = arg(v, 1, &f)?.clone();
            let pairs = &v[2..];
            pairs
                .chunks(2)
                .find(|kv| kv.len() == 2 && input.contains(&text(&kv[0])))
                .map_or(default, |kv| kv[1].clone())
        }
        ("String", "substring") => {
            let input: Vec<char> = s(0)?.chars().collect();
            let start = (number(arg(v, 1, &f)?)?.max(0.0) as usize).min(input.len());
            let end = match v.get(2) {
                Some(e) => (number(e)?.max(0.0) as usize).min(input.len()),
                None => input.len(),
            };
            Value::String(input[start..end.max(start)].iter().collect())
        }
        ("String", "substringAfter") => {
            let (input, sep) = (s(0)?, s(1)?);
            Value::String(
                input
                    .split_once(sep.as_str())
                    .map_or(String::new(), |(_, after)| after.to_owned()),
            )
        }
        ("String", "substringBefore") => {
            let (input, sep) = (s(0)?, s(1)?);
            Value::String(
                input
                    .split_once(sep.as_str())
                    .map_or(String::new(), |(before, _)| before.to_owned()),
            )
        }
        ("String", "toUpperCase") => Value::String(s(0)?.to_uppercase()),
        ("String", "toLowerCase") => Value::String(s(0)?.to_lowercase()),
        ("Arrays", "add") => {
            let mut a = array(arg(v, 0, &f)?);
            a.push(arg(v, 1, &f)?.clone());
            Value::Array(a)
        }
        ("Arrays", "remove") => {
            let item = arg(v, 1, &f)?;
            Value::Array(
                array(arg(v, 0, &f)?)
                    .into_iter()
                    .filter(|x| !loose_eq(x, item))
                    .collect(),
            )
        }
        ("Arrays", "clear") => Value::Array(Vec::new()),
        ("Arrays", "get") => {
            let a = array(arg(v, 0, &f)?);
            a.get(number(arg(v, 1, &f)?)? as usize)
                .cloned()
                .unwrap_or(Value::Null)
        }
        ("Arrays", "flatten") => Value::Array(v.iter().flat_map(flatten).collect()),
        ("Arrays", "contains") => {
            let item = arg(v, 1, &f)?;
            Value::Bool(array(arg(v, 0, &f)?).iter().any(|x| loose_eq(x, item)))
        }
        ("Arrays", "size") => json!(array(arg(v, 0, &f)?).len()),
        ("Arrays", "isEmpty") => Value::Bool(array(arg(v, 0, &f)?).is_empty()),
        ("Arrays", "toCsvString") => Value::String(
            array(arg(v, 0, &f)?)
                .iter()
                .map(text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("Convert", "toInt") => json!(number(arg(v, 0, &f)?)?.round() as i64),
        ("Convert", "toNum") => num(number(arg(v, 0, &f)?)?),
        ("Groups", "startsWith" | "contains" | "endsWith") => {
            let pattern = s(1)?.to_lowercase();
            let n = limit(v, 2)?;
            let names: Vec<Value> = ctx
                .groups
                .iter()
                .filter(|g| {
                    let lower = g.name.to_lowercase();
                    match name {
                        "startsWith" => lower.starts_with(&pattern),
                        "endsWith" => lower.ends_with(&pattern),
                        _ => lower.contains(&pattern),
                    }
                })
                .take(n)
                .map(|g| Value::String(g.name.clone()))
                .collect();
            Value::Array(names)
        }
        ("Time", "now") => Value::String(iso8601(ctx.now)?),
        ("Time", "fromUnixToIso8601") => Value::String(iso8601(number(arg(v, 0, &f)?)? as i64)?),
        ("Time", "fromIso8601ToUnix") => {
            let t =
                time::OffsetDateTime::parse(&s(0)?, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| EvalError(format!("{f}: {e}")))?;
            json!(t.unix_timestamp())
        }
        _ => return err(format!("unknown function '{f}'")),
    })
}

fn flatten(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.iter().flat_map(flatten).collect(),
        other => vec![other.clone()],
    }
}

fn iso8601(unix: i64) -> Result<String, EvalError> {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).map_err(|e| EvalError(e.to_string()))?;
    Ok(crate::timefmt::rfc3339(t))
}

fn user_method(name: &str, v: &[Value], ctx: &Context) -> Result<Value, EvalError> {
    match name {
        "getInternalProperty" => Ok(match arg(v, 0, name)?.as_str() {
            Some("id") => ctx.user_id.clone().map_or(Value::Null, Value::String),
            Some("status") => ctx.user_status.clone().map_or(Value::Null, Value::String),
            _ => Value::Null,
        }),
        "getGroups" => {
            // Filters are maps: {'group.id': [...]}, {'group.profile.name': X, 'operator': EXACT|STARTS_WITH},
            // {'group.type': [...]}; every filter must hold.
            let groups = ctx.groups.iter().filter(|g| {
                v.iter().all(|f| {
                    let Value::Object(m) = f else { return true };
                    if let Some(ids) = m.get("group.id") {
                        return array(ids).iter().any(|i| text(i) == g.id);
                    }
                    if let Some(kinds) = m.get("group.type") {
                        return array(kinds).iter().any(|k| text(k) == g.kind);
                    }
                    if let Some(name) = m.get("group.profile.name") {
                        let op = m
                            .get("operator")
                            .map(text)
                            .unwrap_or_else(|| "EXACT".into());
                        return array(name).iter().any(|n| {
                            let n = text(n);
                            if op == "STARTS_WITH" {
                                g.name.starts_with(&n)
                            } else {
                                g.name == n
                            }
                        });
                    }
                    true
                })
            });
            Ok(Value::Array(
                groups
                    .map(|g| json!({ "id": g.id, "name": g.name, "profile": { "name": g.name } }))
                    .collect(),
            ))
        }
        other => err(format!("unknown method 'user.{other}'")),
    }
}

fn bare(name: &str, v: &[Value], ctx: &Context) -> Result<Value, EvalError> {
    let s = |i: usize| arg(v, i, name).map(text);
    Ok(match name {
        "isMemberOfGroupName" => Value::Bool(
            ctx.groups
                .iter()
                .any(|g| g.name == s(0).unwrap_or_default()),
        ),
        "isMemberOfGroup" => {
            Value::Bool(ctx.groups.iter().any(|g| g.id == s(0).unwrap_or_default()))
        }
        "isMemberOfAnyGroup" => {
            let ids: Vec<String> = v.iter().flat_map(array).map(|x| text(&x)).collect();
            Value::Bool(ctx.groups.iter().any(|g| ids.contains(&g.id)))
        }
        "isMemberOfGroupNameStartsWith" => Value::Bool(
            ctx.groups
                .iter()
                .any(|g| g.name.starts_with(&s(0).unwrap_or_default())),
        ),
        "isMemberOfGroupNameContains" => Value::Bool(
            ctx.groups
                .iter()
                .any(|g| g.name.contains(&s(0).unwrap_or_default())),
        ),
        "isMemberOfGroupNameRegex" => {
            let source = s(0)?;
            let re = pattern(source.trim_matches('/'))?;
            Value::Bool(ctx.groups.iter().any(|g| re.is_match(&g.name)))
        }
        "getFilteredGroups" => {
            let allow: Vec<String> = array(arg(v, 0, name)?).iter().map(text).collect();
            let n = limit(v, 2)?;
            Value::Array(
                ctx.groups
                    .iter()
                    .filter(|g| allow.contains(&g.id))
                    .take(n)
                    .map(|g| Value::String(g.name.clone()))
                    .collect(),
            )
        }
        "toUpperCase" | "toLowerCase" | "substring" | "substringBefore" | "substringAfter"
        | "replace" | "replaceFirst" | "stringContains" | "removeSpaces" => {
            return namespaced("String", name, v, ctx);
        }
        other => return err(format!("unknown function '{other}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::el::parse;

    fn ctx() -> Context {
        Context {
            user: Some(
                json!({"login": "ada@example.com", "email": "ada@example.com", "firstName": "Ada", "nickName": "", "age": 36, "isAdmin": true}),
            ),
            user_id: Some("00u1".into()),
            user_status: Some("ACTIVE".into()),
            appuser: Some(json!({"userName": "ada"})),
            app: json!({"id": "0oa1", "clientId": "client-1", "profile": {"tier": "gold"}}),
            org: json!({"name": "acme", "subDomain": "acme"}),
            scopes: vec!["openid".into(), "orders.read".into()],
            groups: vec![
                GroupRef {
                    id: "00g1".into(),
                    name: "Everyone".into(),
                    kind: "BUILT_IN".into(),
                },
                GroupRef {
                    id: "00g2".into(),
                    name: "IT-admins".into(),
                    kind: "OKTA_GROUP".into(),
                },
                GroupRef {
                    id: "00g3".into(),
                    name: "it-ops".into(),
                    kind: "OKTA_GROUP".into(),
                },
            ],
            amr: vec!["pwd".into()],
            now: 1_790_000_000,
        }
    }

    fn run(src: &str) -> Result<Value, EvalError> {
        eval(&parse(src).map_err(|e| EvalError(e.to_string()))?, &ctx())
    }

    #[test]
    fn eval_table() {
        let cases: &[(&str, Value)] = &[
            // references and null handling
            ("user.email", json!("ada@example.com")),
            ("user.missing", Value::Null),
            ("app.profile.tier", json!("gold")),
            ("app.clientId", json!("client-1")),
            ("org.name", json!("acme")),
            ("access.scope", json!(["openid", "orders.read"])),
            ("user.getInternalProperty(\"id\")", json!("00u1")),
            (
                "(appuser != null) ? appuser.userName : app.clientId",
                json!("ada"),
            ),
            // operators and precedence
            ("user.firstName + ' ' + org.name", json!("Ada acme")),
            ("1 + 2", json!(3)),
            ("user.age >= 18 AND user.isAdmin", json!(true)),
            ("user.age < 18 OR !user.isAdmin", json!(false)),
            (
                "user.a == 'x' OR user.age == 36 AND user.isAdmin",
                json!(true),
            ),
            ("user.nickName ?: user.firstName", json!("Ada")),
            ("user.missing ?: 'none'", json!("none")),
            ("user.isAdmin ? 'admin' : 'user'", json!("admin")),
            ("{'a', 'b'}[1]", json!("b")),
            ("user.login matches '.*@example\\.com'", json!(true)),
            // String.*
            ("String.toUpperCase(user.firstName)", json!("ADA")),
            ("toLowerCase('ABC')", json!("abc")),
            ("String.substringBefore(user.email, '@')", json!("ada")),
            (
                "String.substringAfter(user.email, '@')",
                json!("example.com"),
            ),
            ("String.substring('abcdef', 1, 3)", json!("bc")),
            (
                "String.replace(Arrays.toCsvString(access.scope), ',', ' ')",
                json!("openid orders.read"),
            ),
            ("String.replaceFirst('a-a-a', '-', '+')", json!("a+a-a")),
            ("String.join('|', 'a', 'b')", json!("a|b")),
            ("String.len('héllo')", json!(5)),
            (
                "String.stringSwitch('engineering', 'other', 'sales', 'S', 'eng', 'E')",
                json!("E"),
            ),
            ("String.stringContains(user.email, 'example')", json!(true)),
            ("String.removeSpaces(' a b ')", json!("ab")),
            ("String.append('a', 'b')", json!("ab")),
            // Arrays.*
            ("Arrays.size(access.scope)", json!(2)),
            ("Arrays.size(user.missing)", json!(0)),
            ("Arrays.isEmpty(user.missing)", json!(true)),
            ("Arrays.contains(access.scope, 'openid')", json!(true)),
            (
                "Arrays.add(access.scope, 'x')",
                json!(["openid", "orders.read", "x"]),
            ),
            (
                "Arrays.remove(access.scope, 'openid')",
                json!(["orders.read"]),
            ),
            ("Arrays.get('a,b,c', 2)", json!("c")),
            ("Arrays.flatten({1, {2, 3}})", json!([1, 2, 3])),
            ("Arrays.clear(access.scope)", json!([])),
            // Convert.* and Time.*
            ("Convert.toInt('41.6')", json!(42)),
            ("Convert.toNum('2.5')", json!(2.5)),
            (
                "Time.fromIso8601ToUnix('2026-01-01T00:00:00Z')",
                json!(1_767_225_600),
            ),
            (
                "Time.fromUnixToIso8601(0)",
                json!("1970-01-01T00:00:00.000Z"),
            ),
            // groups
            ("isMemberOfGroupName('IT-admins')", json!(true)),
            ("isMemberOfGroup('00g9')", json!(false)),
            ("isMemberOfAnyGroup('00g9', '00g3')", json!(true)),
            ("isMemberOfGroupNameStartsWith('it-')", json!(true)),
            ("isMemberOfGroupNameRegex('/IT-.*/')", json!(true)),
            (
                "Groups.startsWith('OKTA', 'it', 10)",
                json!(["IT-admins", "it-ops"]),
            ),
            ("Groups.startsWith('OKTA', 'it', 1)", json!(["IT-admins"])),
            ("Groups.contains('OKTA', 'admin', 10)", json!(["IT-admins"])),
            (
                "getFilteredGroups({'00g2', '00g1'}, 'group.name', 5)",
                json!(["Everyone", "IT-admins"]),
            ),
            (
                "user.getGroups({'group.profile.name': 'it', 'operator': 'STARTS_WITH'}).![name]",
                json!(["it-ops"]),
            ),
        ];
        for (src, want) in cases {
            assert_eq!(run(src).as_ref(), Ok(want), "{src}");
        }
    }

    #[test]
    fn eval_failures_are_errors_not_values() {
        for src in [
            "user.age AND true",
            "Convert.toInt('abc')",
            "String.nope('x')",
            "user.firstName - 1",
            "String",
        ] {
            assert!(run(src).is_err(), "{src} should fail");
        }
    }

    /// The reported attack: nine nested `String.replace(…, "a", "aaaaaaaaaa")` (327 characters)
    /// made the next token request allocate about 10 GB. Each level multiplies the text by ten;
    /// the level that would pass the limit fails before it allocates.
    #[test]
    fn eval_when_a_string_would_outgrow_the_limit_then_fails_before_building_it() {
        let nested = |levels: usize| {
            let mut e = "'aaaaaaaaaa'".to_owned();
            for _ in 0..levels {
                e = format!("String.replace({e}, \"a\", \"aaaaaaaaaa\")");
            }
            e
        };
        assert_eq!(nested(9).len(), 327);
        assert_eq!(
            run(&nested(2)).map(|v| v.as_str().map(str::len)),
            Ok(Some(1000))
        );
        let e = run(&nested(9)).expect_err("past the limit");
        assert!(e.0.contains("16384 bytes"), "{e}");
        assert!(run(&nested(5)).is_err());
        // An empty pattern inserts the replacement between every character.
        let empty = format!(
            "String.replace('{}', '', '{}')",
            "x".repeat(200),
            "y".repeat(100)
        );
        assert!(run(&empty).is_err());
        // Concatenation and joins grow too, and are caught at the step that passes the limit.
        let doubling = (0..12).fold("'abcdefgh'".to_owned(), |e, _| {
            format!("String.append({e}, {e})")
        });
        assert!(doubling.len() > 1024 || run(&doubling).is_err());
        let long = format!(
            "String.append('{a}', '{a}') + String.append('{a}', '{a}')",
            a = "z".repeat(240)
        );
        assert_eq!(run(&long).map(|v| v.as_str().map(str::len)), Ok(Some(960)));
    }

    #[test]
    fn eval_when_an_array_outgrows_the_limit_then_fails() {
        // 1,001 groups, a projection over all of them.
        let mut c = ctx();
        c.groups = (0..=MAX_ITEMS)
            .map(|i| GroupRef {
                id: format!("00g{i}"),
                name: format!("g{i}"),
                kind: "OKTA_GROUP".into(),
            })
            .collect();
        let expr = parse("Groups.startsWith('OKTA', 'g', 5000)").expect("parses");
        assert!(eval(&expr, &c).is_err());
        let expr = parse("Groups.startsWith('OKTA', 'g', 10)").expect("parses");
        assert_eq!(
            eval(&expr, &c).map(|v| v.as_array().map(Vec::len)),
            Ok(Some(10))
        );
    }

    #[test]
    fn eval_regex_patterns_are_compiled_within_a_size_limit() {
        assert_eq!(run("user.login matches 'ada@.*'"), Ok(json!(true)));
        // A pattern whose compiled form is huge is an error, not an allocation.
        let huge = "user.login matches '(?:[a-z0-9]{1,100}){1,100}'".to_owned();
        assert!(run(&huge).is_err());
    }
}
