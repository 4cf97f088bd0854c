//! `application/x-www-form-urlencoded` bodies as OAuth reads them: a parameter may appear once
//! (RFC 6749 §3.1, §3.2), and an empty value counts as absent. Pure, so it can be fuzzed.

use std::collections::HashMap;

/// The names that appeared more than once, in order of their second appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub Vec<String>);

/// Parses `body` into its parameters, refusing repeated names. Runs in time linear in the body
/// (whose size the HTTP layer bounds).
pub fn parse_unique(body: &[u8]) -> Result<HashMap<String, String>, Repeated> {
    let mut values = HashMap::new();
    let mut repeated: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if v.is_empty() {
            continue;
        }
        let name = k.into_owned();
        if values.contains_key(&name) {
            if !repeated.contains(&name) {
                repeated.push(name);
            }
            continue;
        }
        values.insert(name, v.into_owned());
    }
    if repeated.is_empty() {
        Ok(values)
    } else {
        Err(Repeated(repeated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_refused_and_empty_values_are_absent() {
        let ok = parse_unique(b"a=1&b=&c=x%20y").expect("parses");
        assert_eq!(ok.get("a").map(String::as_str), Some("1"));
        assert_eq!(ok.get("b"), None);
        assert_eq!(ok.get("c").map(String::as_str), Some("x y"));
        assert_eq!(
            parse_unique(b"a=1&a=2&b=1&a=3&b=2"),
            Err(Repeated(vec!["a".into(), "b".into()]))
        );
        assert!(parse_unique(b"\xff\xfe=%zz&&&=").is_ok());
    }
}
