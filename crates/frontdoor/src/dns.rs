//! [`NameResolver`] on `hickory-net`'s DNS client, and its configuration:
//! `FRONTDOOR_DNS_SERVER` (the server to ask instead of the system's) and
//! `FRONTDOOR_DNS_GRACE_RUNS` (the no-flap rule's runs).
//!
//! A client, not `hickory-resolver`: the resolver's cache, server pool and
//! system probing cost 586 KB of target-sync's 6 MB budget (measured), and a
//! binding asks one server for one name's A or AAAA records, uncached.

use crate::config::{self, ConfigError};
use crate::model::Family;
use crate::ports::{DnsError, NameResolver};
use hickory_net::client::ClientHandle;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_net::{DnsError as WireError, NetError};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
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
const RESOLV_CONF: &str = "/etc/resolv.conf";
const DNS_PORT: u16 = 53;

/// One query's wait, and how many times it is sent: a run stays within a
/// few seconds even when the server never answers.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const QUERY_ATTEMPTS: usize = 2;

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
    let last = name.iter().next_back().ok_or_else(|| refused(&"it is empty"))?;
    if last.iter().all(u8::is_ascii_digit) {
        return Err(refused(&"its last label is a number, as in an IP address"));
    }
    Ok(name.to_lowercase())
}

/// `FRONTDOOR_DNS_GRACE_RUNS`, checked, or the default.
pub fn grace_runs_from_env() -> Result<u32, ConfigError> {
    grace_runs(config::var(GRACE_RUNS_VAR).as_deref())
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

/// [`NameResolver`] on `hickory-net`'s UDP client: each query goes to the
/// server, so that a rotating server shows more of its set.
pub struct HickoryResolver {
    /// `None`: the system's first name server, looked up when a hostname
    /// binding asks, so that endpoint-only configurations never need it.
    server: Option<SocketAddr>,
}

impl HickoryResolver {
    pub fn new(server: Option<SocketAddr>) -> Self {
        Self { server }
    }
}

/// One query over UDP, from a fresh socket: the answer's records, or the
/// server's error code as an error.
async fn query(
    server: SocketAddr,
    name: &Name,
    record: RecordType,
) -> Result<Vec<RData>, NetError> {
    let mut client = UdpClientStream::builder(server, TokioRuntimeProvider::default())
        .with_timeout(Some(QUERY_TIMEOUT))
        .exchange();
    let response = client.query(name.clone(), DNSClass::IN, record).await?;
    match response.metadata.response_code {
        ResponseCode::NoError => Ok(response.answers.iter().map(|r| r.data.clone()).collect()),
        code => Err(NetError::Dns(WireError::ResponseCode(code))),
    }
}

/// The first `nameserver` of `/etc/resolv.conf`.
fn system_name_server() -> Result<SocketAddr, String> {
    let unknown = |why: String| {
        format!("{DNS_SERVER_VAR} is unset, and the system's name server is unknown: {why}")
    };
    let text = std::fs::read(RESOLV_CONF).map_err(|e| unknown(format!("{RESOLV_CONF}: {e}")))?;
    let conf =
        resolv_conf::Config::parse(&text).map_err(|e| unknown(format!("{RESOLV_CONF}: {e}")))?;
    conf.nameservers
        .first()
        .map(|server| SocketAddr::new(server.into(), DNS_PORT))
        .ok_or_else(|| unknown(format!("{RESOLV_CONF} lists no nameserver")))
}

impl NameResolver for HickoryResolver {
    async fn addresses(&self, name: &str, family: Family) -> Result<BTreeSet<IpAddr>, DnsError> {
        let record = match family {
            Family::Ipv4 => RecordType::A,
            Family::Ipv6 => RecordType::AAAA,
        };
        let error = |err| dns_error(name, record, err);
        let server = match self.server {
            Some(server) => server,
            None => system_name_server().map_err(|message| DnsError::Other {
                name: name.to_owned(),
                message,
            })?,
        };
        // Absolute: a binding names one host, never one under a search domain.
        let absolute = Name::from_ascii(format!("{}.", name.trim_end_matches('.')))
            .map_err(|e| error(NetError::from(e)))?;
        let mut attempt = 1;
        let answers = loop {
            match query(server, &absolute, record).await {
                Err(NetError::Timeout) if attempt < QUERY_ATTEMPTS => attempt += 1,
                other => break other.map_err(error)?,
            }
        };
        let addresses: BTreeSet<IpAddr> = answers
            .iter()
            .filter_map(|data| match data {
                RData::A(a) if family == Family::Ipv4 => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) if family == Family::Ipv6 => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect();
        if addresses.is_empty() {
            return Err(DnsError::NoRecords {
                name: name.to_owned(),
                record: record_name(record),
            });
        }
        Ok(addresses)
    }
}

fn record_name(record: RecordType) -> &'static str {
    if record == RecordType::AAAA {
        "AAAA"
    } else {
        "A"
    }
}

fn dns_error(name: &str, record: RecordType, err: NetError) -> DnsError {
    let name = name.to_owned();
    match err {
        NetError::Dns(WireError::ResponseCode(ResponseCode::NXDomain)) => {
            DnsError::NoSuchName { name }
        }
        NetError::Dns(WireError::NoRecordsFound(_)) => DnsError::NoRecords {
            name,
            record: record_name(record),
        },
        NetError::Dns(WireError::ResponseCode(code)) => DnsError::ServerFailure {
            name,
            code: code.to_string(),
        },
        NetError::Timeout => DnsError::Timeout { name },
        other => DnsError::Other {
            name,
            message: crate::error_chain(&other),
        },
    }
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
