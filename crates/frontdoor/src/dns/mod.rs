//! DNS for hostname bindings: the client ([`HickoryResolver`], in `client`),
//! its configuration (`FRONTDOOR_DNS_SERVER`, the server to ask instead of the
//! system's; `FRONTDOOR_DNS_GRACE_RUNS` and `FRONTDOOR_DNS_GRACE_INTERVAL_SECS`,
//! the no-flap rule's runs and how far apart they count), and the one
//! host-name check ([`host_name`]).

mod client;

pub use client::HickoryResolver;

use crate::config::{self, ConfigError};
use crate::plan::hostname::Grace;
use hickory_proto::rr::Name;
use std::net::SocketAddr;
use std::time::Duration;

/// `ip:port` of the DNS server to ask, e.g. a Route 53 Resolver endpoint;
/// unset, the first `nameserver` of `/etc/resolv.conf` (in a VPC, its resolver).
pub const DNS_SERVER_VAR: &str = "FRONTDOOR_DNS_SERVER";
/// How many consecutive runs an address must be missing from every answer
/// before it is deregistered.
pub const GRACE_RUNS_VAR: &str = "FRONTDOOR_DNS_GRACE_RUNS";
pub const DEFAULT_GRACE_RUNS: u32 = 3;
/// An hour of one-minute runs: beyond it, a removed address lingers too long.
const MAX_GRACE_RUNS: u32 = 60;
/// How many seconds after a counted absence the next may be counted, so
/// that duplicate and overlapping runs count once.
pub const GRACE_INTERVAL_VAR: &str = "FRONTDOOR_DNS_GRACE_INTERVAL_SECS";
/// A little under the one-minute schedule of the on-premises option.
pub const DEFAULT_GRACE_INTERVAL: Duration = Duration::from_secs(50);
/// An hour: the longest schedule that still deregisters within a day.
const MAX_GRACE_INTERVAL_SECS: u64 = 3600;

/// A host name, as `hickory_proto` reads one (labels of 1 to 63 letters,
/// digits, hyphens and underscores, none starting with a hyphen; 255 octets
/// on the wire), lower-cased, with or without a final dot. Wildcards and
/// escapes are refused, and so is a last label of digits only, so that a
/// mistyped address such as `10.0.0.256` is never taken for a name. The one
/// host-name check: hostname bindings and the probe's connect-to names.
pub fn host_name(text: &str) -> Result<Name, String> {
    let refused = |why: &dyn std::fmt::Display| {
        format!(
            "`{}` is not a host name: {why}",
            crate::cfn::props::excerpt(text)
        )
    };
    if text.contains(['\\', '*']) {
        return Err(refused(&"wildcards and escapes are not names of hosts"));
    }
    let name = Name::from_ascii(text).map_err(|e| refused(&e))?;
    let last = name
        .iter()
        .next_back()
        .ok_or_else(|| refused(&"it is empty"))?;
    if last.iter().all(u8::is_ascii_digit) {
        return Err(refused(&"its last label is a number, as in an IP address"));
    }
    Ok(name.to_lowercase())
}

/// The no-flap rule: `FRONTDOOR_DNS_GRACE_RUNS` and
/// `FRONTDOOR_DNS_GRACE_INTERVAL_SECS`, checked, or their defaults.
pub fn grace_from_env() -> Result<Grace, ConfigError> {
    Ok(Grace {
        runs: grace_runs(config::var(GRACE_RUNS_VAR).as_deref())?,
        interval: grace_interval(config::var(GRACE_INTERVAL_VAR).as_deref())?,
    })
}

/// The defaults of [`grace_from_env`].
pub const DEFAULT_GRACE: Grace = Grace {
    runs: DEFAULT_GRACE_RUNS,
    interval: DEFAULT_GRACE_INTERVAL,
};

fn grace_interval(text: Option<&str>) -> Result<Duration, ConfigError> {
    let Some(text) = text else {
        return Ok(DEFAULT_GRACE_INTERVAL);
    };
    let secs: u64 = config::number(GRACE_INTERVAL_VAR, text)?;
    if secs > MAX_GRACE_INTERVAL_SECS {
        return Err(ConfigError::invalid(
            GRACE_INTERVAL_VAR,
            format!("{secs} is more than {MAX_GRACE_INTERVAL_SECS} seconds"),
        ));
    }
    Ok(Duration::from_secs(secs))
}

fn grace_runs(text: Option<&str>) -> Result<u32, ConfigError> {
    let Some(text) = text else {
        return Ok(DEFAULT_GRACE_RUNS);
    };
    let runs: u32 = config::number(GRACE_RUNS_VAR, text)?;
    if !(1..=MAX_GRACE_RUNS).contains(&runs) {
        return Err(ConfigError::invalid(
            GRACE_RUNS_VAR,
            format!("{runs} is not between 1 and {MAX_GRACE_RUNS}"),
        ));
    }
    Ok(runs)
}

/// `FRONTDOOR_DNS_SERVER`, checked, or `None` for the system's resolver.
pub fn dns_server_from_env() -> Result<Option<SocketAddr>, ConfigError> {
    dns_server(config::var(DNS_SERVER_VAR).as_deref())
}

fn dns_server(text: Option<&str>) -> Result<Option<SocketAddr>, ConfigError> {
    text.map(|text| {
        text.trim().parse().map_err(|_| {
            ConfigError::invalid(
                DNS_SERVER_VAR,
                format!(
                    "`{}` is not ip:port (e.g. 10.0.0.2:53 or [fd00::2]:53)",
                    text.trim()
                ),
            )
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_runs_default_to_three_and_bad_values_name_the_variable() {
        assert_eq!(grace_runs(None).unwrap(), 3);
        assert_eq!(grace_runs(Some(" 5 ")).unwrap(), 5);
        for bad in ["three", "0", "61", "-1"] {
            let err = grace_runs(Some(bad)).unwrap_err();
            assert_eq!(err.var(), Some(GRACE_RUNS_VAR), "{bad}");
        }
    }

    #[test]
    fn the_grace_interval_defaults_to_50_s_takes_0_and_bad_values_name_the_variable() {
        assert_eq!(grace_interval(None).unwrap(), Duration::from_secs(50));
        assert_eq!(grace_interval(Some("0")).unwrap(), Duration::ZERO);
        assert_eq!(
            grace_interval(Some(" 240 ")).unwrap(),
            Duration::from_secs(240)
        );
        for bad in ["fifty", "-1", "3601", "1.5"] {
            let err = grace_interval(Some(bad)).unwrap_err();
            assert_eq!(err.var(), Some(GRACE_INTERVAL_VAR), "{bad}");
        }
    }

    #[test]
    fn host_names_are_hickorys_names_without_wildcards_escapes_or_a_numeric_end() {
        for (text, name) in [
            ("Api.OnPrem.Example", "api.onprem.example"),
            ("alb.example.com.", "alb.example.com."),
            ("_svc.example", "_svc.example"),
            ("localhost", "localhost"),
        ] {
            assert_eq!(host_name(text).unwrap().to_ascii(), name, "{text}");
        }
        for bad in [
            "",
            ".",
            "a..example",
            "-a.example",
            "*.example",
            "a\\.b.example",
            "bad/name.example",
            "bad name.example",
            "10.0.0.256",
            "fd00::1",
            "https://alb.example.com",
            "alb.example.com:443",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "a.".repeat(130)),
        ] {
            let err = host_name(bad).unwrap_err();
            assert!(err.contains("is not a host name"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_dns_server_is_ip_and_port() {
        assert_eq!(dns_server(None).unwrap(), None);
        assert_eq!(
            dns_server(Some("10.0.0.2:53")).unwrap(),
            Some("10.0.0.2:53".parse().unwrap())
        );
        assert!(dns_server(Some("[fd00::2]:5353")).unwrap().is_some());
        for bad in ["10.0.0.2", "dns.internal:53", "10.0.0.2:99999"] {
            let err = dns_server(Some(bad)).unwrap_err();
            assert_eq!(err.var(), Some(DNS_SERVER_VAR), "{bad}");
        }
    }
}
