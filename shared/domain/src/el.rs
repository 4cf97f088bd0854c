//! The Okta Expression Language subset used by claim values (OKTA-REFERENCE §9).
//!
//! Expressions are parsed once, when a claim is saved, into an [`Expr`] tree; a syntax error
//! is reported with its line and column so the management API can answer a precise 400. The
//! evaluator (issue "token issuance core") walks the same tree per token.

use pest::Parser as _;
use pest::iterators::Pair;

/// The longest expression Okta accepts.
pub const MAX_LEN: usize = 1024;

#[derive(pest_derive::Parser)]
#[grammar = "el.pest"]
struct ElParser;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    /// `{a, b}`
    Array(Vec<Expr>),
    /// `{'group.id': {...}}`, used by `user.getGroups`.
    Map(Vec<(String, Expr)>),
    /// A bare name: `user`, `String`, `access`.
    Ident(String),
    /// `target.name`
    Member(Box<Expr>, String),
    /// `target[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `target.![expr]`: projection over an array.
    Projection(Box<Expr>, Box<Expr>),
    /// `name(args)` or `target.name(args)`.
    Call {
        target: Option<Box<Expr>>,
        name: String,
        args: Vec<Expr>,
    },
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? then : otherwise`
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `value ?: fallback`: the fallback when value is null or empty.
    Elvis(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
    Add,
    Sub,
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElError {
    #[error("The expression is longer than {MAX_LEN} characters.")]
    TooLong,
    #[error("Invalid expression at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("Invalid expression at line {line}, column {column}: unknown reference '{name}'")]
    UnknownReference {
        line: usize,
        column: usize,
        name: String,
    },
}

/// Root names an expression may start from: the in-context objects and the function
/// namespaces of §9.
const ROOTS: &[&str] = &[
    "user",
    "appuser",
    "app",
    "org",
    "access",
    "session",
    "String",
    "Arrays",
    "Convert",
    "Groups",
    "Time",
    "Iso3166Convert",
];

/// Functions that may be called without a namespace (§9 group functions and the deprecated
/// bare string functions).
const BARE_FUNCTIONS: &[&str] = &[
    "isMemberOfGroupName",
    "isMemberOfGroup",
    "isMemberOfAnyGroup",
    "isMemberOfGroupNameStartsWith",
    "isMemberOfGroupNameContains",
    "isMemberOfGroupNameRegex",
    "getFilteredGroups",
    "toUpperCase",
    "toLowerCase",
    "substring",
    "substringBefore",
    "substringAfter",
    "replace",
    "replaceFirst",
    "stringContains",
    "removeSpaces",
];

/// Parses and checks an expression.
pub fn parse(source: &str) -> Result<Expr, ElError> {
    if source.chars().count() > MAX_LEN {
        return Err(ElError::TooLong);
    }
    let mut pairs = ElParser::parse(Rule::expression, source).map_err(|e| {
        let (line, column) = match e.line_col {
            pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
        };
        let message = match &e.variant {
            pest::error::ErrorVariant::ParsingError { .. } => "unexpected input".to_owned(),
            pest::error::ErrorVariant::CustomError { message } => message.clone(),
        };
        ElError::Syntax {
            line,
            column,
            message,
        }
    })?;
    let root = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| ElError::Syntax {
            line: 1,
            column: 1,
            message: "empty expression".into(),
        })?;
    build_expr(root)
}

fn pos(pair: &Pair<'_, Rule>) -> (usize, usize) {
    pair.as_span().start_pos().line_col()
}

fn syntax(pair: &Pair<'_, Rule>, message: &str) -> ElError {
    let (line, column) = pos(pair);
    ElError::Syntax {
        line,
        column,
        message: message.to_owned(),
    }
}

fn build_expr(pair: Pair<'_, Rule>) -> Result<Expr, ElError> {
    match pair.as_rule() {
        Rule::expr => {
            let mut inner = pair.into_inner();
            let head = next(&mut inner, "expression")?;
            let base = build_expr(head)?;
            match inner.next() {
                None => Ok(base),
                Some(tail) if tail.as_rule() == Rule::elvis_tail => {
                    let fallback = build_expr(next(&mut tail.into_inner(), "fallback")?)?;
                    Ok(Expr::Elvis(Box::new(base), Box::new(fallback)))
                }
                Some(tail) => {
                    let mut parts = tail.into_inner();
                    let then = build_expr(next(&mut parts, "then branch")?)?;
                    let otherwise = build_expr(next(&mut parts, "else branch")?)?;
                    Ok(Expr::Ternary(
                        Box::new(base),
                        Box::new(then),
                        Box::new(otherwise),
                    ))
                }
            }
        }
        Rule::or_expr | Rule::and_expr | Rule::add_expr => {
            let mut inner = pair.into_inner();
            let mut acc = build_expr(next(&mut inner, "operand")?)?;
            while let Some(op) = inner.next() {
                let rhs = build_expr(next(&mut inner, "operand")?)?;
                acc = Expr::Binary(bin_op(op.as_str()), Box::new(acc), Box::new(rhs));
            }
            Ok(acc)
        }
        Rule::cmp_expr => {
            let mut inner = pair.into_inner();
            let lhs = build_expr(next(&mut inner, "operand")?)?;
            match inner.next() {
                None => Ok(lhs),
                Some(op) => {
                    let rhs = build_expr(next(&mut inner, "operand")?)?;
                    Ok(Expr::Binary(
                        bin_op(op.as_str()),
                        Box::new(lhs),
                        Box::new(rhs),
                    ))
                }
            }
        }
        Rule::unary => {
            let parts: Vec<_> = pair.into_inner().collect();
            let mut nots = 0;
            let mut operand = None;
            for p in parts {
                if p.as_rule() == Rule::not_op {
                    nots += 1;
                } else {
                    operand = Some(build_expr(p)?);
                }
            }
            let mut e = operand.ok_or_else(|| ElError::Syntax {
                line: 1,
                column: 1,
                message: "missing operand".into(),
            })?;
            for _ in 0..nots {
                e = Expr::Not(Box::new(e));
            }
            Ok(e)
        }
        Rule::postfix => build_postfix(pair),
        Rule::primary => build_expr(next(&mut pair.into_inner(), "value")?),
        Rule::literal => build_literal(next(&mut pair.into_inner(), "literal")?),
        Rule::array_lit => Ok(Expr::Array(
            pair.into_inner()
                .map(build_expr)
                .collect::<Result<_, _>>()?,
        )),
        Rule::map_lit => {
            let mut entries = Vec::new();
            for entry in pair.into_inner() {
                let mut kv = entry.into_inner();
                let key = unquote(next(&mut kv, "key")?);
                let value = build_expr(next(&mut kv, "value")?)?;
                entries.push((key, value));
            }
            Ok(Expr::Map(entries))
        }
        Rule::call => {
            let (line, column) = pos(&pair);
            let mut inner = pair.into_inner();
            let name = next(&mut inner, "function name")?.as_str().to_owned();
            if !BARE_FUNCTIONS.contains(&name.as_str()) {
                return Err(ElError::UnknownReference { line, column, name });
            }
            let args = match inner.next() {
                Some(a) => a.into_inner().map(build_expr).collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            Ok(Expr::Call {
                target: None,
                name,
                args,
            })
        }
        Rule::ident => {
            let (line, column) = pos(&pair);
            let name = pair.as_str().to_owned();
            if !ROOTS.contains(&name.as_str()) {
                return Err(ElError::UnknownReference { line, column, name });
            }
            Ok(Expr::Ident(name))
        }
        _ => Err(syntax(&pair, "unexpected construct")),
    }
}

fn build_postfix(pair: Pair<'_, Rule>) -> Result<Expr, ElError> {
    let mut inner = pair.into_inner();
    let mut acc = build_expr(next(&mut inner, "value")?)?;
    for op in inner {
        acc = match op.as_rule() {
            Rule::member => {
                let name = next(&mut op.into_inner(), "member name")?
                    .as_str()
                    .to_owned();
                Expr::Member(Box::new(acc), name)
            }
            Rule::method => {
                let mut parts = op.into_inner();
                let name = next(&mut parts, "method name")?.as_str().to_owned();
                let args = match parts.next() {
                    Some(a) => a.into_inner().map(build_expr).collect::<Result<_, _>>()?,
                    None => Vec::new(),
                };
                Expr::Call {
                    target: Some(Box::new(acc)),
                    name,
                    args,
                }
            }
            Rule::index => Expr::Index(
                Box::new(acc),
                Box::new(build_expr(next(&mut op.into_inner(), "index")?)?),
            ),
            Rule::projection => {
                // Inside `.![...]` a bare name is a field of each element, not a root reference.
                let body = next(&mut op.into_inner(), "projection")?;
                let field = body.as_str().trim();
                let projected = if !field.is_empty()
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    Expr::Ident(field.to_owned())
                } else {
                    build_expr(body)?
                };
                Expr::Projection(Box::new(acc), Box::new(projected))
            }
            _ => return Err(syntax(&op, "unexpected postfix")),
        };
    }
    Ok(acc)
}

fn build_literal(pair: Pair<'_, Rule>) -> Result<Expr, ElError> {
    match pair.as_rule() {
        Rule::null => Ok(Expr::Null),
        Rule::boolean => Ok(Expr::Bool(pair.as_str() == "true")),
        Rule::number => pair
            .as_str()
            .parse()
            .map(Expr::Number)
            .map_err(|_| syntax(&pair, "invalid number")),
        Rule::string => Ok(Expr::Str(unquote(pair))),
        _ => Err(syntax(&pair, "unexpected literal")),
    }
}

/// The value of a string literal: `'it''s'` → `it's`, `"a\"b"` → `a"b`.
fn unquote(pair: Pair<'_, Rule>) -> String {
    let raw = pair.as_str();
    let (quote, body) = (
        raw.chars().next().unwrap_or('"'),
        &raw[1..raw.len().saturating_sub(1)],
    );
    if quote == '\'' {
        body.replace("''", "'")
    } else {
        body.replace("\\\"", "\"").replace("\\\\", "\\")
    }
}

fn bin_op(op: &str) -> BinOp {
    match op {
        "||" | "OR" | "or" => BinOp::Or,
        "&&" | "AND" | "and" => BinOp::And,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "-" => BinOp::Sub,
        "matches" => BinOp::Matches,
        _ => BinOp::Add,
    }
}

fn next<'a>(
    it: &mut pest::iterators::Pairs<'a, Rule>,
    what: &str,
) -> Result<Pair<'a, Rule>, ElError> {
    it.next().ok_or_else(|| ElError::Syntax {
        line: 1,
        column: 1,
        message: format!("missing {what}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(s: &str) -> Box<Expr> {
        Box::new(Expr::Ident(s.into()))
    }

    #[test]
    fn parse_when_member_path_then_nested_members() {
        assert_eq!(
            parse("user.email"),
            Ok(Expr::Member(ident("user"), "email".into()))
        );
        assert_eq!(
            parse("app.profile.tier"),
            Ok(Expr::Member(
                Box::new(Expr::Member(ident("app"), "profile".into())),
                "tier".into()
            ))
        );
    }

    #[test]
    fn parse_when_namespaced_function_then_call_on_target() {
        let e = parse("String.replace(Arrays.toCsvString(access.scope), \",\", \" \")");
        let Ok(Expr::Call {
            target: Some(t),
            name,
            args,
        }) = e
        else {
            panic!("not a call: {e:?}")
        };
        assert_eq!(
            (*t, name.as_str(), args.len()),
            (Expr::Ident("String".into()), "replace", 3)
        );
    }

    #[test]
    fn parse_precedence_and_binds_tighter_than_or_and_comparison_tighter_than_and() {
        let e = parse("user.a == 'x' OR user.b == 'y' AND !user.c");
        let Ok(Expr::Binary(BinOp::Or, _, rhs)) = e else {
            panic!("OR must be the root: {e:?}")
        };
        assert!(matches!(*rhs, Expr::Binary(BinOp::And, _, _)));
    }

    #[test]
    fn parse_ternary_elvis_arrays_index_and_literals() {
        assert!(matches!(
            parse("user.isAdmin ? 'admin' : 'user'"),
            Ok(Expr::Ternary(..))
        ));
        assert!(matches!(
            parse("user.nickName ?: user.firstName"),
            Ok(Expr::Elvis(..))
        ));
        assert_eq!(
            parse("{1, 2.5, 'a', \"b\", true, null}[0]"),
            Ok(Expr::Index(
                Box::new(Expr::Array(vec![
                    Expr::Number(1.0),
                    Expr::Number(2.5),
                    Expr::Str("a".into()),
                    Expr::Str("b".into()),
                    Expr::Bool(true),
                    Expr::Null
                ])),
                Box::new(Expr::Number(0.0))
            ))
        );
        assert_eq!(parse("'it''s'"), Ok(Expr::Str("it's".into())));
    }

    #[test]
    fn parse_group_functions_maps_and_projection() {
        assert!(matches!(
            parse("isMemberOfGroupName(\"admins\")"),
            Ok(Expr::Call { target: None, .. })
        ));
        assert!(parse("Groups.startsWith(\"OKTA\", \"IT\", 10)").is_ok());
        assert!(
            parse("user.getGroups({'group.profile.name': 'X', 'operator': 'STARTS_WITH'}).![name]")
                .is_ok()
        );
        assert!(
            parse("ORGANIZATION_ROLE").is_err(),
            "ORG prefix must not be read as OR"
        );
    }

    #[test]
    fn parse_when_syntax_error_then_line_and_column() {
        assert_eq!(
            parse("user.email +"),
            Err(ElError::Syntax {
                line: 1,
                column: 13,
                message: "unexpected input".into()
            })
        );
        let Err(ElError::Syntax { line, column, .. }) = parse("user.a ==\n  == 'b'") else {
            panic!()
        };
        assert_eq!((line, column), (2, 3));
        assert!(matches!(parse("(user.email"), Err(ElError::Syntax { .. })));
        assert!(matches!(parse(""), Err(ElError::Syntax { .. })));
    }

    #[test]
    fn parse_when_unknown_root_or_function_then_refused_with_position() {
        assert_eq!(
            parse("customer.email"),
            Err(ElError::UnknownReference {
                line: 1,
                column: 1,
                name: "customer".into()
            })
        );
        assert!(matches!(
            parse("doEvil('x')"),
            Err(ElError::UnknownReference { .. })
        ));
        assert_eq!(parse(&"a".repeat(1025)), Err(ElError::TooLong));
    }
}
