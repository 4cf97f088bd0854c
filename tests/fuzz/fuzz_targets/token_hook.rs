//! A token inline hook's `commands`: any JSON is applied in full or not at all, and never
//! touches a reserved claim.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tessera_domain::token_hook::{Draft, TokenDraft, apply};

fn draft() -> Draft {
    let claims = |pairs: Value| match pairs {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Draft {
        identity: Some(TokenDraft {
            claims: claims(
                json!({"sub": "00u1", "iss": "https://x", "aud": "c1", "name": "Ada",
                "tags": ["a", "b"], "obj": {"k": 1}}),
            ),
            lifetime_secs: 3600,
        }),
        access: Some(TokenDraft {
            claims: claims(json!({"sub": "00u1", "scp": ["a"], "cid": "c1", "arr": [1, 2, 3]})),
            lifetime_secs: 3600,
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(commands) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let before = draft();
    let mut after = before.clone();
    match apply(&commands, &mut after) {
        Ok(()) => {
            for (b, a) in [
                (&before.identity, &after.identity),
                (&before.access, &after.access),
            ] {
                let (Some(b), Some(a)) = (b, a) else { continue };
                for reserved in ["iss", "cid", "scp", "exp", "jti"] {
                    assert_eq!(b.claims.get(reserved), a.claims.get(reserved));
                }
                assert!((300..=86_400).contains(&a.lifetime_secs) || a.lifetime_secs == 3600);
            }
        }
        Err(_) => assert_eq!(before, after),
    }
});
