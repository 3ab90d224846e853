//! [`NameResolver`] on `hickory-net`'s DNS client: one server, one name's A or
//! AAAA records, uncached, so that a rotating server shows more of its set.
//!
//! A client, not `hickory-resolver` (cache, server pool, system probing): what
//! a resolver would add that a binding needs is here, on the client's own
//! transports:
//! - a truncated UDP answer (TC) is asked again over TCP (RFC 1035 §4.2.2,
//!   RFC 7766): the records it holds are never taken for the whole set
//!   (RFC 2181 §9), and when TCP fails too, the answer is no evidence;
//! - only records owned by the name asked count, following its CNAME chain
//!   (within the answer, and by asking again for a target the answer leaves
//!   out) to at most [`MAX_CNAME_HOPS`] aliases.

use super::DNS_SERVER_VAR;
use crate::model::Family;
use crate::ports::{DnsError, NameResolver};
use hickory_net::client::ClientHandle;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::{DnsError as WireError, NetError};
use hickory_proto::op::{DnsResponse, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const RESOLV_CONF: &str = "/etc/resolv.conf";
const DNS_PORT: u16 = 53;

/// One query's wait, and how many times it is sent over UDP: a run stays
/// within a few seconds even when the server never answers.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const QUERY_ATTEMPTS: usize = 2;
/// The aliases a name may go through to its addresses; a longer chain (or a
/// loop) is an error, as resolvers bound it.
pub const MAX_CNAME_HOPS: usize = 8;

/// [`NameResolver`] on `hickory-net`'s UDP and TCP clients.
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

/// One question: over UDP (sent again once on a timeout), then over TCP when
/// the UDP answer is truncated. The answer's records, or why there are none.
async fn ask(server: SocketAddr, name: &Name, record: RecordType) -> Result<Vec<Record>, Asked> {
    let mut attempt = 1;
    let response = loop {
        let mut udp = UdpClientStream::builder(server, TokioRuntimeProvider::default())
            .with_timeout(Some(QUERY_TIMEOUT))
            .exchange();
        match udp.query(name.clone(), DNSClass::IN, record).await {
            Err(NetError::Timeout) if attempt < QUERY_ATTEMPTS => attempt += 1,
            other => break other.map_err(Asked::Failed)?,
        }
    };
    let response = if response.metadata.truncation {
        over_tcp(server, name, record)
            .await
            .map_err(Asked::Truncated)?
    } else {
        response
    };
    match response.metadata.response_code {
        ResponseCode::NoError => Ok(response.answers.clone()),
        code => Err(Asked::Failed(NetError::Dns(WireError::ResponseCode(code)))),
    }
}

async fn over_tcp(
    server: SocketAddr,
    name: &Name,
    record: RecordType,
) -> Result<DnsResponse, NetError> {
    // The provider owns the exchange's background task: it must outlive the
    // query (the UDP stream keeps its own; the TCP one lets go after connecting).
    let provider = TokioRuntimeProvider::default();
    let mut tcp =
        TcpClientStream::exchange(server, None, QUERY_TIMEOUT, None, provider.clone()).await?;
    let response = tcp.query(name.clone(), DNSClass::IN, record).await;
    drop(provider);
    response
}

/// Why a question has no answer.
enum Asked {
    Failed(NetError),
    /// The UDP answer was truncated, and the TCP query failed.
    Truncated(NetError),
}

/// Where a name leads within one answer.
#[derive(Debug, PartialEq, Eq)]
enum Followed {
    /// The addresses of the name, or of the end of its chain.
    Addresses(BTreeSet<IpAddr>),
    /// The chain goes on to a name the answer holds no records of.
    Alias(Name),
    /// Neither an address nor an alias of the name.
    Nothing,
    /// More than [`MAX_CNAME_HOPS`] aliases.
    TooLong,
}

/// The addresses of `name` in `answers`: only records owned by `name`, or by
/// the names its CNAME records lead to; `hops` counts the aliases followed
/// so far, across questions.
fn follow(name: &Name, answers: &[Record], family: Family, hops: &mut usize) -> Followed {
    let mut current = name;
    loop {
        let owned = || answers.iter().filter(|r| &r.name == current);
        let addresses: BTreeSet<IpAddr> = owned()
            .filter_map(|r| match &r.data {
                RData::A(a) if family == Family::Ipv4 => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) if family == Family::Ipv6 => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect();
        if !addresses.is_empty() {
            return Followed::Addresses(addresses);
        }
        let alias = owned().find_map(|r| match &r.data {
            RData::CNAME(target) => Some(&target.0),
            _ => None,
        });
        match alias {
            None if current == name => return Followed::Nothing,
            None => return Followed::Alias(current.clone()),
            Some(_) if *hops == MAX_CNAME_HOPS => return Followed::TooLong,
            Some(target) => {
                *hops += 1;
                current = target;
            }
        }
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
        let server = match self.server {
            Some(server) => server,
            None => system_name_server().map_err(|message| DnsError::Other {
                name: name.to_owned(),
                message,
            })?,
        };
        // Absolute: a binding names one host, never one under a search domain.
        let mut asked = Name::from_ascii(format!("{}.", name.trim_end_matches('.')))
            .map_err(|e| dns_error(name, record, NetError::from(e)))?;
        let mut hops = 0;
        loop {
            let answers = ask(server, &asked, record).await.map_err(|e| match e {
                Asked::Failed(err) => dns_error(name, record, err),
                Asked::Truncated(err) => DnsError::Truncated {
                    name: name.to_owned(),
                    message: crate::error_chain(&err),
                },
            })?;
            match follow(&asked, &answers, family, &mut hops) {
                Followed::Addresses(addresses) => return Ok(addresses),
                Followed::Alias(target) => asked = target,
                Followed::Nothing => {
                    return Err(DnsError::NoRecords {
                        name: name.to_owned(),
                        record: record_name(record),
                    });
                }
                Followed::TooLong => {
                    return Err(DnsError::AliasChain {
                        name: name.to_owned(),
                        hops: MAX_CNAME_HOPS,
                    });
                }
            }
        }
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
    use hickory_proto::rr::rdata::CNAME;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn a(owner: &str, address: [u8; 4]) -> Record {
        Record::from_rdata(name(owner), 60, RData::from(IpAddr::from(address)))
    }

    fn cname(owner: &str, target: &str) -> Record {
        Record::from_rdata(name(owner), 60, RData::CNAME(CNAME(name(target))))
    }

    fn addresses(list: &[[u8; 4]]) -> Followed {
        Followed::Addresses(list.iter().map(|&a| IpAddr::from(a)).collect())
    }

    #[test]
    fn only_the_names_own_records_count() {
        let answers = [
            a("api.onprem.example.", [192, 168, 10, 1]),
            a("other.example.", [192, 168, 99, 9]),
            a("API.OnPrem.Example.", [192, 168, 10, 2]),
        ];
        let mut hops = 0;
        assert_eq!(
            follow(
                &name("api.onprem.example."),
                &answers,
                Family::Ipv4,
                &mut hops
            ),
            addresses(&[[192, 168, 10, 1], [192, 168, 10, 2]])
        );
        let foreign = [a("other.example.", [192, 168, 99, 9])];
        assert_eq!(
            follow(
                &name("api.onprem.example."),
                &foreign,
                Family::Ipv4,
                &mut hops
            ),
            Followed::Nothing
        );
    }

    #[test]
    fn a_cname_chain_is_followed_within_the_answer_and_beyond_it() {
        let answers = [
            cname("api.example.", "lb.example."),
            cname("lb.example.", "lb-1.elb.example."),
            a("lb-1.elb.example.", [10, 0, 0, 7]),
            a("stray.example.", [10, 9, 9, 9]),
        ];
        let mut hops = 0;
        assert_eq!(
            follow(&name("api.example."), &answers, Family::Ipv4, &mut hops),
            addresses(&[[10, 0, 0, 7]])
        );
        assert_eq!(hops, 2);
        // The target's records left out: ask again for the target.
        let mut hops = 0;
        assert_eq!(
            follow(
                &name("api.example."),
                &answers[..1],
                Family::Ipv4,
                &mut hops
            ),
            Followed::Alias(name("lb.example."))
        );
    }

    #[test]
    fn a_loop_or_a_long_chain_ends_at_the_bound() {
        let looped = [
            cname("a.example.", "b.example."),
            cname("b.example.", "a.example."),
        ];
        let mut hops = 0;
        assert_eq!(
            follow(&name("a.example."), &looped, Family::Ipv4, &mut hops),
            Followed::TooLong
        );
        assert_eq!(hops, MAX_CNAME_HOPS);
        // Hops count across questions.
        let mut hops = MAX_CNAME_HOPS;
        assert_eq!(
            follow(&name("a.example."), &looped[..1], Family::Ipv4, &mut hops),
            Followed::TooLong
        );
    }
}
