//! The Okta Expression Language subset used by claim values (Okta Expression Language, <https://developer.okta.com/docs/reference/okta-expression-language/>).
//!
//! Expressions are parsed once, when a claim is saved, into an [`Expr`] tree; a syntax error
//! is reported with its line and column so the management API can answer a precise 400. The
//! evaluator ([`crate::el_eval`]) walks the same tree per token.
//!
//! The parser is a hand-written precedence climber with bounded recursion: an expression is at
//! most [`MAX_LEN`] characters, nests at most [`MAX_NESTING`] levels and parses into a tree at
//! most [`MAX_DEPTH`] deep, so neither parsing nor evaluation can exhaust a thread's stack.

/// The longest expression Okta accepts.
pub const MAX_LEN: usize = 1024;
/// How deeply sub-expressions may nest: brackets, arguments, array and map elements and the
/// branches of conditionals each go one level down. The parser descends once per level, so this
/// bounds its stack whatever the input.
pub const MAX_NESTING: usize = 32;
/// How deep the parsed tree may be (a chain of `+`, `.member` or `!` deepens it by one per
/// operator). Evaluation walks the tree recursively, so this bounds its stack.
pub const MAX_DEPTH: usize = 64;

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
    #[error("The expression nests deeper than {MAX_NESTING} levels of brackets and conditionals.")]
    TooNested,
    #[error("The expression is too complex: its tree is deeper than {MAX_DEPTH} levels.")]
    TooDeep,
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
    let tokens = lex(source)?;
    let mut p = Parser {
        source,
        tokens,
        pos: 0,
        nesting: 0,
    };
    let expr = p.expr()?;
    if p.pos < p.tokens.len() {
        return Err(p.unexpected());
    }
    if depth_exceeds(&expr, MAX_DEPTH) {
        return Err(ElError::TooDeep);
    }
    Ok(expr)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    Str(String),
    /// An identifier or keyword; what it means depends on where it stands.
    Word(String),
    /// Punctuation and operators: `( ) [ ] { } , : ? ?: . .![ ! == != <= >= < > + - || &&`.
    Punct(&'static str),
}

/// A token and the byte offset where it starts.
type Spanned = (Tok, usize);

const PUNCTUATION: [&str; 23] = [
    ".![", "?:", "==", "!=", "<=", ">=", "||", "&&", "(", ")", "[", "]", "{", "}", ",", ":", "?",
    ".", "!", "<", ">", "+", "-",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

fn lex(source: &str) -> Result<Vec<Spanned>, ElError> {
    let mut out = Vec::new();
    let mut i = 0;
    let bytes = source.as_bytes();
    while let Some(c) = source[i..].chars().next() {
        let start = i;
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            let n = source[start..i]
                .parse()
                .map_err(|_| syntax_at(source, start, "invalid number"))?;
            out.push((Tok::Number(n), start));
            continue;
        }
        if is_ident_start(c) {
            while source[i..].chars().next().is_some_and(is_ident_char) {
                i += 1;
            }
            out.push((Tok::Word(source[start..i].to_owned()), start));
            continue;
        }
        if c == '\'' || c == '"' {
            let (text, end) = string(source, start)?;
            out.push((Tok::Str(text), start));
            i = end;
            continue;
        }
        let Some(p) = PUNCTUATION
            .iter()
            .copied()
            .find(|p| source[i..].starts_with(p))
        else {
            return Err(syntax_at(source, start, "unexpected input"));
        };
        out.push((Tok::Punct(p), start));
        i += p.len();
    }
    Ok(out)
}

/// A string literal starting at `start`: `'it''s'` is `it's`; in double quotes `\"` and `\\`
/// stand for `"` and `\`, any other backslash for itself. Returns the text and the offset after
/// the closing quote.
fn string(source: &str, start: usize) -> Result<(String, usize), ElError> {
    let quote = source[start..].chars().next().unwrap_or('"');
    let mut text = String::new();
    let mut chars = source[start + 1..].char_indices().peekable();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        match (quote, c) {
            ('\'', '\'') => {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    text.push('\'');
                } else {
                    return Ok((text, at + 1));
                }
            }
            ('"', '"') => return Ok((text, at + 1)),
            ('"', '\\') => match chars.peek() {
                Some((_, e @ ('"' | '\\'))) => {
                    text.push(*e);
                    chars.next();
                }
                _ => text.push('\\'),
            },
            _ => text.push(c),
        }
    }
    Err(syntax_at(source, source.len(), "unexpected input"))
}

/// Line and column (1-based, in characters) of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn syntax_at(source: &str, offset: usize, message: &str) -> ElError {
    let (line, column) = line_col(source, offset);
    ElError::Syntax {
        line,
        column,
        message: message.to_owned(),
    }
}

/// Precedence climbing over the tokens (lowest first: conditionals, `or`, `and`, comparison,
/// `+`/`-`, `!`, postfix), one frame per nesting level and operator class.
struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Spanned>,
    pos: usize,
    /// How many sub-expressions enclose the current one.
    nesting: usize,
}

fn binary_op(tok: &Tok) -> Option<BinOp> {
    Some(match tok {
        Tok::Punct("||") => BinOp::Or,
        Tok::Punct("&&") => BinOp::And,
        Tok::Punct("==") => BinOp::Eq,
        Tok::Punct("!=") => BinOp::Ne,
        Tok::Punct("<") => BinOp::Lt,
        Tok::Punct("<=") => BinOp::Le,
        Tok::Punct(">") => BinOp::Gt,
        Tok::Punct(">=") => BinOp::Ge,
        Tok::Punct("+") => BinOp::Add,
        Tok::Punct("-") => BinOp::Sub,
        Tok::Word(w) => match w.as_str() {
            "OR" | "or" => BinOp::Or,
            "AND" | "and" => BinOp::And,
            "matches" => BinOp::Matches,
            _ => return None,
        },
        _ => return None,
    })
}

fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Matches => 3,
        BinOp::Add | BinOp::Sub => 4,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.source.len(), |(_, at)| *at)
    }

    fn unexpected(&self) -> ElError {
        syntax_at(self.source, self.offset(), "unexpected input")
    }

    fn eat(&mut self, punct: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(p)) if *p == punct) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, punct: &str) -> Result<(), ElError> {
        if self.eat(punct) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A full expression, one nesting level below the caller's.
    fn expr(&mut self) -> Result<Expr, ElError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(ElError::TooNested);
        }
        let result = self.conditional();
        self.nesting -= 1;
        result
    }

    /// `cond ? a : b` and `value ?: fallback`; the branches are expressions of their own.
    fn conditional(&mut self) -> Result<Expr, ElError> {
        let base = self.binary(1)?;
        if self.eat("?:") {
            let fallback = self.expr()?;
            return Ok(Expr::Elvis(Box::new(base), Box::new(fallback)));
        }
        if self.eat("?") {
            let then = self.expr()?;
            self.expect(":")?;
            let otherwise = self.expr()?;
            return Ok(Expr::Ternary(
                Box::new(base),
                Box::new(then),
                Box::new(otherwise),
            ));
        }
        Ok(base)
    }

    /// Operators of precedence `min` and above, left-associative; a comparison takes no second
    /// comparison at the same level (`a == b == c` is refused).
    fn binary(&mut self, min: u8) -> Result<Expr, ElError> {
        let mut lhs = self.unary()?;
        let mut compared = false;
        while let Some(op) = self.peek().and_then(binary_op) {
            let prec = precedence(op);
            if prec < min {
                break;
            }
            if prec == 3 && compared {
                return Err(self.unexpected());
            }
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            compared = prec == 3;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ElError> {
        let mut nots = 0usize;
        while self.eat("!") {
            nots += 1;
        }
        let mut e = self.postfix()?;
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
        }
        Ok(e)
    }

    fn name(&mut self) -> Result<String, ElError> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `(args)`, the opening parenthesis already read.
    fn args(&mut self) -> Result<Vec<Expr>, ElError> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn postfix(&mut self) -> Result<Expr, ElError> {
        let mut acc = self.primary()?;
        loop {
            if self.eat(".![") {
                // Inside `.![…]` a bare name is a field of each element, not a root reference.
                let field = match (self.peek(), self.tokens.get(self.pos + 1)) {
                    (Some(Tok::Word(w)), Some((Tok::Punct("]"), _))) => {
                        let f = Expr::Ident(w.clone());
                        self.pos += 1;
                        f
                    }
                    _ => self.expr()?,
                };
                self.expect("]")?;
                acc = Expr::Projection(Box::new(acc), Box::new(field));
            } else if self.eat("[") {
                let index = self.expr()?;
                self.expect("]")?;
                acc = Expr::Index(Box::new(acc), Box::new(index));
            } else if self.eat(".") {
                let name = self.name()?;
                acc = if self.eat("(") {
                    Expr::Call {
                        target: Some(Box::new(acc)),
                        name,
                        args: self.args()?,
                    }
                } else {
                    Expr::Member(Box::new(acc), name)
                };
            } else {
                return Ok(acc);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ElError> {
        let at = self.offset();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.pos += 1;
        match tok {
            Tok::Number(n) => Ok(Expr::Number(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("{") => self.braces(),
            Tok::Word(w) => match w.as_str() {
                "null" => Ok(Expr::Null),
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                _ => {
                    let (line, column) = line_col(self.source, at);
                    if self.eat("(") {
                        if !BARE_FUNCTIONS.contains(&w.as_str()) {
                            return Err(ElError::UnknownReference {
                                line,
                                column,
                                name: w,
                            });
                        }
                        return Ok(Expr::Call {
                            target: None,
                            name: w,
                            args: self.args()?,
                        });
                    }
                    if !ROOTS.contains(&w.as_str()) {
                        return Err(ElError::UnknownReference {
                            line,
                            column,
                            name: w,
                        });
                    }
                    Ok(Expr::Ident(w))
                }
            },
            Tok::Punct(_) => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }

    /// `{a, b}` (an array) or `{'key': value, …}` (a map), the brace already read.
    fn braces(&mut self) -> Result<Expr, ElError> {
        if self.eat("}") {
            return Ok(Expr::Array(Vec::new()));
        }
        let is_map = matches!(
            (self.peek(), self.tokens.get(self.pos + 1)),
            (Some(Tok::Str(_)), Some((Tok::Punct(":"), _)))
        );
        if is_map {
            let mut entries = Vec::new();
            loop {
                let key = match self.peek() {
                    Some(Tok::Str(k)) => k.clone(),
                    _ => return Err(self.unexpected()),
                };
                self.pos += 1;
                self.expect(":")?;
                entries.push((key, self.expr()?));
                if self.eat("}") {
                    return Ok(Expr::Map(entries));
                }
                self.expect(",")?;
            }
        }
        let mut items = Vec::new();
        loop {
            items.push(self.expr()?);
            if self.eat("}") {
                return Ok(Expr::Array(items));
            }
            self.expect(",")?;
        }
    }
}

/// Whether `expr` is deeper than `limit`, looking no further than `limit` levels down.
fn depth_exceeds(expr: &Expr, limit: usize) -> bool {
    let Some(below) = limit.checked_sub(1) else {
        return true;
    };
    let deeper = |e: &Expr| depth_exceeds(e, below);
    match expr {
        Expr::Null | Expr::Bool(_) | Expr::Number(_) | Expr::Str(_) | Expr::Ident(_) => false,
        Expr::Array(items) => items.iter().any(deeper),
        Expr::Map(entries) => entries.iter().any(|(_, e)| deeper(e)),
        Expr::Member(t, _) | Expr::Not(t) => deeper(t),
        Expr::Index(a, b) | Expr::Projection(a, b) | Expr::Binary(_, a, b) | Expr::Elvis(a, b) => {
            deeper(a) || deeper(b)
        }
        Expr::Ternary(a, b, c) => deeper(a) || deeper(b) || deeper(c),
        Expr::Call { target, args, .. } => {
            target.as_deref().is_some_and(deeper) || args.iter().any(deeper)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_when_nesting_is_past_the_limit_then_refused() {
        let parens = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        // The whole expression is one level; each parenthesis adds one.
        assert!(parse(&parens(MAX_NESTING - 1)).is_ok());
        assert_eq!(parse(&parens(MAX_NESTING)), Err(ElError::TooNested));
        // The reported crashes: 200 open parentheses, 100 open braces.
        assert_eq!(parse(&"(".repeat(200)), Err(ElError::TooNested));
        assert_eq!(parse(&"{".repeat(100)), Err(ElError::TooNested));
        assert_eq!(parse(&"[".repeat(1025)), Err(ElError::TooLong));
        let ternaries = |n: usize| format!("{}'x'", "user.a ? 'y' : ".repeat(n));
        assert!(parse(&ternaries(MAX_NESTING - 1)).is_ok());
        assert_eq!(parse(&ternaries(MAX_NESTING)), Err(ElError::TooNested));
        let elvis = format!("{}'x'", "user.a ?: ".repeat(MAX_NESTING));
        assert_eq!(parse(&elvis), Err(ElError::TooNested));
        // Brackets inside string literals do not count.
        assert!(parse(&format!("'{}'", "(".repeat(500))).is_ok());
        assert!(parse(&format!("\"{}\\\"\"", "{[(".repeat(100))).is_ok());
        // Groups side by side do not add up.
        let side_by_side = vec![parens(20); 10].join(" + ");
        assert!(parse(&side_by_side).is_ok(), "{side_by_side}");
    }

    #[test]
    fn parse_when_the_tree_is_past_the_depth_limit_then_refused() {
        let chain = |n: usize| vec!["user.a"; n + 1].join(" + ");
        assert!(parse(&chain(MAX_DEPTH - 2)).is_ok());
        assert_eq!(parse(&chain(MAX_DEPTH + 5)), Err(ElError::TooDeep));
        assert_eq!(
            parse(&format!("{}true", "!".repeat(500))),
            Err(ElError::TooDeep)
        );
        let members = format!("user{}", ".a".repeat(200));
        assert_eq!(parse(&members), Err(ElError::TooDeep));
        assert_eq!(
            ElError::TooNested.to_string(),
            "The expression nests deeper than 32 levels of brackets and conditionals."
        );
    }

    /// The deepest expressions the limits allow parse and evaluate within half of a worker
    /// thread's 2 MiB stack, even in a debug build (measured: at most about 400 KiB in debug,
    /// 60 KiB in release).
    #[test]
    fn the_deepest_accepted_expressions_fit_a_small_stack() {
        let n = MAX_NESTING - 1;
        let inputs = [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}'x'", "user.a ? 'y' : ".repeat(n)),
            format!("{}1{}", "String.len(".repeat(n), ")".repeat(n)),
            format!("{}1{}", "{".repeat(n), "}".repeat(n)),
            format!("{}1{}", "Arrays.get({".repeat(n / 2), "}, 0)".repeat(n / 2)),
            vec!["user.a"; MAX_DEPTH - 1].join(" + "),
            format!("{}true", "!".repeat(MAX_DEPTH - 1)),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || {
                for input in &inputs {
                    let expr = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
                    let ctx = crate::el_eval::Context::default();
                    let _ = crate::el_eval::eval(&expr, &ctx);
                }
            })
            .expect("thread");
        assert!(handle.join().is_ok());
    }

    #[test]
    fn parse_operators_words_and_strings_as_the_grammar_has_them() {
        assert!(matches!(
            parse("user.a == 'x' or user.b != 'y' and user.c matches 'z.*'"),
            Ok(Expr::Binary(BinOp::Or, ..))
        ));
        // A comparison takes no second comparison at its level.
        assert!(matches!(
            parse("user.a == user.b == user.c"),
            Err(ElError::Syntax { .. })
        ));
        assert!(parse("(user.a == user.b) == true").is_ok());
        // Keywords are words only when whole: `orange` is a name, `user.or` a member.
        assert!(matches!(
            parse("user.orange"),
            Ok(Expr::Member(_, ref m)) if m == "orange"
        ));
        assert!(matches!(
            parse("user.null"),
            Ok(Expr::Member(_, ref m)) if m == "null"
        ));
        assert_eq!(
            parse("\"a\\\"b\\\\c\\n\""),
            Ok(Expr::Str("a\"b\\c\\n".into()))
        );
        assert!(matches!(
            parse("'unterminated"),
            Err(ElError::Syntax { .. })
        ));
        assert!(matches!(parse("user.a # 1"), Err(ElError::Syntax { .. })));
        assert!(matches!(parse("user.a ? 'b'"), Err(ElError::Syntax { .. })));
        assert_eq!(
            parse("user.tags.![name]"),
            Ok(Expr::Projection(
                Box::new(Expr::Member(ident("user"), "tags".into())),
                Box::new(Expr::Ident("name".into()))
            ))
        );
        assert_eq!(
            parse("{'a': 1}"),
            Ok(Expr::Map(vec![("a".into(), Expr::Number(1.0))]))
        );
        assert_eq!(parse("{}"), Ok(Expr::Array(Vec::new())));
        assert_eq!(
            parse("user.a - 1"),
            Ok(Expr::Binary(
                BinOp::Sub,
                Box::new(Expr::Member(ident("user"), "a".into())),
                Box::new(Expr::Number(1.0))
            ))
        );
        assert!(parse("user.a ?: user.b ?: 'x'").is_ok());
        assert!(matches!(parse("user.a +"), Err(ElError::Syntax { .. })));
    }

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
