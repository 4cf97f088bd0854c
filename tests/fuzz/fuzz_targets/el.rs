//! The claim Expression Language: any text either fails to parse with an error, or parses into
//! a tree that evaluates (to a value or an error) within its budget, on a rich context.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tessera_domain::el::{self, MAX_LEN};
use tessera_domain::el_eval::{self, Context, GroupRef, MAX_ITEMS, MAX_TEXT};

fn context() -> Context {
    Context {
        user: Some(json!({
            "login": "ada@example.com", "email": "ada@example.com", "firstName": "Ada",
            "lastName": "Lovelace", "age": 36, "isAdmin": true, "tags": ["a", "b", "c"],
            "nested": {"deep": {"er": [1, 2, {"x": "y"}]}}, "long": "x".repeat(2048),
        })),
        user_id: Some("00u1".into()),
        user_status: Some("ACTIVE".into()),
        appuser: Some(json!({"userName": "ada"})),
        app: json!({"id": "0oa1", "clientId": "client-1", "label": "Portal", "profile": {"tier": "gold"}}),
        org: json!({"name": "acme", "subDomain": "acme"}),
        scopes: vec!["openid".into(), "profile".into(), "orders.read".into()],
        groups: (0..50)
            .map(|i| GroupRef {
                id: format!("00g{i}"),
                name: format!("group-{i}"),
                kind: if i == 0 {
                    "BUILT_IN".into()
                } else {
                    "OKTA_GROUP".into()
                },
            })
            .collect(),
        amr: vec!["pwd".into()],
        now: 1_800_000_000,
    }
}

fn check(v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => assert!(s.len() <= MAX_TEXT),
        serde_json::Value::Array(a) => {
            assert!(a.len() <= MAX_ITEMS);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    match el::parse(&source) {
        Ok(expr) => {
            assert!(source.chars().count() <= MAX_LEN);
            if let Ok(v) = el_eval::eval(&expr, &context()) {
                check(&v);
            }
        }
        Err(e) => {
            // Every refusal has a message a person can read.
            assert!(!e.to_string().is_empty());
        }
    }
});
