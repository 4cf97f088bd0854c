//! The SCIM-style filter of the System Log, users and groups: any text is refused or parses into a filter that matches
//! an event without failing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tessera_domain::scim::parse_filter;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(filter) = parse_filter(&text) {
        let event = json!({
            "eventType": "app.oauth2.as.token.grant",
            "outcome": {"result": "FAILURE", "reason": "invalid_scope"},
            "actor": {"id": "0oa1", "type": "PublicClientApp"},
            "target": [{"id": "AT.1", "type": "access_token"}, {"id": "aus1"}],
            "published": "2026-12-01T08:00:00.000Z",
            "severity": "WARN",
            "debugContext": {"debugData": {"grantType": "client_credentials", "n": 3}},
        });
        let _ = filter.matches(&event);
    }
});
