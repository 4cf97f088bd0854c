//! Request paths put in normal form: the result is stable (normalizing twice changes nothing)
//! and holds no escaped unreserved character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_domain::urls::normal_path;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if !path.is_ascii() {
        return;
    }
    if let Some(normal) = normal_path(path) {
        assert_eq!(normal_path(&normal), None, "{path:?} -> {normal:?}");
    }
});
