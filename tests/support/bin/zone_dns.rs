//! `zone-dns ZONE_FILE`: the scripted DNS server of `tests/support/dns.rs` as a
//! process, for `make demo` and `make bench`. It answers each name from
//! ZONE_FILE, a JSON object of name → list of addresses (a name not there is
//! NXDOMAIN), read again whenever it changes. It prints the address it
//! listens on (`127.0.0.1:PORT`) as its first line, and runs until killed.

use frontdoor_tests::dns::DnsServer;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

const RELOAD_EVERY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zone_file = std::env::args()
        .nth(1)
        .ok_or("usage: zone-dns ZONE_FILE (a JSON object of name -> addresses)")?;
    let server = DnsServer::start().await;
    println!("{}", server.addr);
    std::io::stdout().flush()?;
    let mut loaded: Option<SystemTime> = None;
    let mut names: Vec<String> = Vec::new();
    loop {
        let modified = std::fs::metadata(&zone_file)
            .and_then(|m| m.modified())
            .ok();
        if modified.is_some() && modified != loaded {
            let zone: BTreeMap<String, Vec<String>> =
                serde_json::from_slice(&std::fs::read(&zone_file)?)?;
            for gone in names.iter().filter(|n| !zone.contains_key(*n)) {
                server.remove(gone);
            }
            for (name, addresses) in &zone {
                let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
                server.set_addresses(name, &addresses);
            }
            names = zone.into_keys().collect();
            loaded = modified;
        }
        tokio::time::sleep(RELOAD_EVERY).await;
    }
}
