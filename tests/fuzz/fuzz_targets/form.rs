//! OAuth form bodies: any bytes parse into unique parameters or a list of repeated names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_domain::form::{Repeated, parse_unique};

fuzz_target!(|data: &[u8]| {
    match parse_unique(data) {
        Ok(values) => assert!(values.values().all(|v| !v.is_empty())),
        Err(Repeated(names)) => assert!(!names.is_empty()),
    }
});
