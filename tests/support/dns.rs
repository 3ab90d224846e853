//! A scripted DNS server on 127.0.0.1, UDP and TCP on one port: what each name
//! answers is set by the test, and may change between queries, as a rotating
//! or failing server would. target-sync asks it through
//! `FRONTDOOR_DNS_SERVER`'s path ([`frontdoor::dns::HickoryResolver`] with
//! this server's address).
//!
//! As a real server does, it truncates a UDP answer that does not fit the
//! client's payload (512 bytes without EDNS): the records that fit, with the
//! TC bit set. The same question over TCP gets the whole answer, unless the
//! test turns TCP off ([`DnsServer::set_tcp`]).

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// What a name answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// These addresses, every time (of the family asked for).
    Addresses(Vec<IpAddr>),
    /// Each query the next of these sets, round and round: a rotating server.
    Rotating(Vec<Vec<IpAddr>>),
    /// A CNAME to another name, with that name's records, as a recursive
    /// server answers.
    Alias(String),
    /// A CNAME to another name, without its records, as a server answers
    /// for a target outside its zone: the client asks again for the target.
    AliasOnly(String),
    NxDomain,
    ServFail,
    /// No answer at all: the client times out.
    Silent,
}

/// How long a CNAME chain the server follows for its answer.
const MAX_ALIASES: usize = 16;

#[derive(Default)]
struct Zone {
    answers: BTreeMap<String, Answer>,
    queries: BTreeMap<String, usize>,
    tcp_queries: BTreeMap<String, usize>,
}

/// The server; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    tcp: Arc<AtomicBool>,
    tasks: [JoinHandle<()>; 2],
}

impl DnsServer {
    pub async fn start() -> Self {
        // UDP takes a free port; TCP the same one, which is almost always
        // free too (else another UDP port is tried).
        let (socket, listener) = loop {
            let socket = UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind a UDP port");
            if let Ok(listener) = TcpListener::bind(socket.local_addr().unwrap()).await {
                break (socket, listener);
            }
        };
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let tcp = Arc::new(AtomicBool::new(true));
        let tasks = [
            tokio::spawn(serve_udp(socket, zone.clone())),
            tokio::spawn(serve_tcp(listener, zone.clone(), tcp.clone())),
        ];
        Self {
            addr,
            zone,
            tcp,
            tasks,
        }
    }

    /// Sets what `name` answers from now on.
    pub fn set(&self, name: &str, answer: Answer) {
        self.zone
            .lock()
            .unwrap()
            .answers
            .insert(normal(name), answer);
    }

    /// Sets fixed addresses, given as text.
    pub fn set_addresses(&self, name: &str, addresses: &[&str]) {
        self.set(
            name,
            Answer::Addresses(addresses.iter().map(|a| a.parse().unwrap()).collect()),
        );
    }

    /// Forgets `name`: it is NXDOMAIN from now on.
    pub fn remove(&self, name: &str) {
        self.zone.lock().unwrap().answers.remove(&normal(name));
    }

    /// Whether TCP answers; off, each connection is closed unanswered.
    pub fn set_tcp(&self, on: bool) {
        self.tcp.store(on, Ordering::SeqCst);
    }

    /// How many queries for `name` the server has had (UDP and TCP).
    pub fn queries(&self, name: &str) -> usize {
        let zone = self.zone.lock().unwrap();
        zone.queries.get(&normal(name)).copied().unwrap_or(0)
    }

    /// How many of them came over TCP.
    pub fn tcp_queries(&self, name: &str) -> usize {
        let zone = self.zone.lock().unwrap();
        zone.tcp_queries.get(&normal(name)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

async fn serve_udp(socket: UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        let Ok(query) = Message::from_vec(&buffer[..len]) else {
            continue;
        };
        if let Some(reply) = respond(&query, &zone, false) {
            let _ = socket.send_to(&fit(reply, query.max_payload()), peer).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, zone: Arc<Mutex<Zone>>, on: Arc<AtomicBool>) {
    while let Ok((stream, _)) = listener.accept().await {
        if on.load(Ordering::SeqCst) {
            tokio::spawn(answer_tcp(stream, zone.clone()));
        }
    }
}

/// Each message on a TCP connection, with its two-byte length (RFC 1035 §4.2.2).
async fn answer_tcp(mut stream: TcpStream, zone: Arc<Mutex<Zone>>) {
    loop {
        let Ok(len) = stream.read_u16().await else {
            return;
        };
        let mut buffer = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut buffer).await.is_err() {
            return;
        }
        let Ok(query) = Message::from_vec(&buffer) else {
            return;
        };
        let Some(reply) = respond(&query, &zone, true).and_then(|r| r.to_vec().ok()) else {
            continue;
        };
        let Ok(len) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_u16(len).await.is_err() || stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The reply as UDP carries it: whole when it fits `max` bytes, else the
/// answers that fit, with the TC bit.
fn fit(mut reply: Message, max: u16) -> Vec<u8> {
    loop {
        let bytes = reply.to_vec().unwrap();
        if bytes.len() <= usize::from(max) || reply.answers.is_empty() {
            return bytes;
        }
        reply.answers.pop();
        reply.metadata.truncation = true;
    }
}

/// The reply to one query, or `None` to stay silent.
fn respond(query: &Message, zone: &Mutex<Zone>, tcp: bool) -> Option<Message> {
    let question = query.queries.first()?;
    let name = normal(&question.name().to_ascii());
    let record_type = question.query_type();
    let mut zone = zone.lock().unwrap();
    *zone.queries.entry(name.clone()).or_insert(0) += 1;
    if tcp {
        *zone.tcp_queries.entry(name.clone()).or_insert(0) += 1;
    }
    let turn = zone.queries[&name] - 1;
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(question.clone());
    let mut owner = name;
    for _ in 0..MAX_ALIASES {
        let answer = match zone.answers.get(&owner) {
            None => Answer::NxDomain,
            Some(Answer::Rotating(sets)) => Answer::Addresses(sets[turn % sets.len()].clone()),
            Some(other) => other.clone(),
        };
        let record_owner = Name::from_ascii(format!("{owner}.")).ok()?;
        match answer {
            Answer::Silent => return None,
            Answer::NxDomain => reply.metadata.response_code = ResponseCode::NXDomain,
            Answer::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
            Answer::Addresses(addresses) => {
                for address in addresses {
                    let matches = matches!(
                        (address, record_type),
                        (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::AAAA)
                    );
                    if matches {
                        let data = RData::from(address);
                        reply.add_answer(Record::from_rdata(record_owner.clone(), 0, data));
                    }
                }
            }
            Answer::Alias(target) => {
                reply.add_answer(alias(record_owner, &target)?);
                owner = normal(&target);
                continue;
            }
            Answer::AliasOnly(target) => {
                reply.add_answer(alias(record_owner, &target)?);
            }
            Answer::Rotating(_) => unreachable!("resolved to one set above"),
        }
        break;
    }
    Some(reply)
}

fn alias(owner: Name, target: &str) -> Option<Record> {
    let target = Name::from_ascii(format!("{}.", normal(target))).ok()?;
    Some(Record::from_rdata(owner, 0, RData::CNAME(CNAME(target))))
}
