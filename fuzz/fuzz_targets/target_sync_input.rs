//! target-sync's untrusted inputs: `FRONTDOOR_BINDINGS` (any text) and the
//! event (any JSON). Nothing may panic; a configuration error names
//! FRONTDOOR_BINDINGS and stays short.
#![no_main]

use frontdoor::sync::{self, Scope};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(err) = sync::parse_bindings(&text) {
        let message = err.to_string();
        assert!(message.contains(sync::BINDINGS_VAR), "{message}");
        assert!(message.len() < 1024, "an error of {} bytes", message.len());
    }
    if let Ok(event) = serde_json::from_slice::<Value>(data) {
        let _ = Scope::of_event(&event);
    }
});
