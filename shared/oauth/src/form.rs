//! Form bodies (`application/x-www-form-urlencoded`). A repeated parameter is refused
//! (RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once).

use std::collections::HashMap;

use crate::error::OAuthError;

/// A parsed form with no repeated names and no empty values (an empty value counts as absent).
#[derive(Debug, Default, Clone)]
pub struct Form {
    values: HashMap<String, String>,
}

impl Form {
    /// The body of a POST to a protocol endpoint: `Content-Type`
    /// `application/x-www-form-urlencoded` (parameters allowed), then [`Form::parse`].
    pub fn posted(req: &actix_web::HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        let is_form = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "The request must use Content-Type application/x-www-form-urlencoded.",
            ));
        }
        Self::parse(body)
    }

    /// Parses `body`; refuses repeated parameters.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        match tessera_domain::form::parse_unique(body) {
            Ok(values) => Ok(Self { values }),
            Err(tessera_domain::form::Repeated(names)) => {
                Err(OAuthError::invalid_request(format!(
                    "Duplicate parameter provided in request. Duplicated parameters: [{}].",
                    names.join(", ")
                )))
            }
        }
    }

    /// A form from name/value pairs (empty values count as absent).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let values = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Sets `name` (a signed request object's parameters override the query's); an empty value
    /// removes it, as an empty parameter counts as absent.
    pub fn set(&mut self, name: &str, value: String) {
        if value.is_empty() {
            self.values.remove(name);
        } else {
            self.values.insert(name.to_owned(), value);
        }
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::missing(name))
    }

    /// The parameters re-encoded as `application/x-www-form-urlencoded`.
    pub fn encoded(&self) -> String {
        let mut pairs: Vec<(&String, &String)> = self.values.iter().collect();
        pairs.sort();
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    /// The space-separated `scope` parameter, if present.
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.get("scope").map(|s| {
            s.split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_refuses_repeated_parameters_and_drops_empty_ones() {
        let err = Form::parse(b"scope=a&scope=b&grant_type=x").unwrap_err();
        assert_eq!(err.error, "invalid_request");
        assert!(err.description.contains("[scope]"));
        let f =
            Form::parse(b"grant_type=client_credentials&scope=a%20b&empty=").unwrap_or_default();
        assert_eq!(f.scopes(), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(f.get("empty"), None);
        assert_eq!(
            f.require("code").unwrap_err().description,
            "The required parameter 'code' is missing."
        );
    }
}
