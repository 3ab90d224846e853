//! A scripted DNS server on 127.0.0.1 (UDP): what each name answers is set by
//! the test, and may change between queries, as a rotating or failing server
//! would. target-sync asks it through `FRONTDOOR_DNS_SERVER`'s path
//! ([`frontdoor::dns::HickoryResolver`] with this server's address).

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// What a name answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// These addresses, every time (of the family asked for).
    Addresses(Vec<IpAddr>),
    /// Each query the next of these sets, round and round: a rotating server.
    Rotating(Vec<Vec<IpAddr>>),
    NxDomain,
    ServFail,
    /// No answer at all: the client times out.
    Silent,
}

#[derive(Default)]
struct Zone {
    answers: BTreeMap<String, Answer>,
    queries: BTreeMap<String, usize>,
}

/// The server; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    task: JoinHandle<()>,
}

impl DnsServer {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind a UDP port");
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let task = tokio::spawn(serve(socket, zone.clone()));
        Self { addr, zone, task }
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

    /// How many queries for `name` the server has had.
    pub fn queries(&self, name: &str) -> usize {
        let zone = self.zone.lock().unwrap();
        zone.queries.get(&normal(name)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

async fn serve(socket: UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        let Ok(query) = Message::from_vec(&buffer[..len]) else {
            continue;
        };
        if let Some(reply) = respond(&query, &zone) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// The reply to one query, or `None` to stay silent.
fn respond(query: &Message, zone: &Mutex<Zone>) -> Option<Vec<u8>> {
    let question = query.queries.first()?;
    let name = normal(&question.name().to_ascii());
    let record_type = question.query_type();
    let answer = {
        let mut zone = zone.lock().unwrap();
        let count = zone.queries.entry(name.clone()).or_insert(0);
        *count += 1;
        let turn = *count - 1;
        match zone.answers.get(&name) {
            None => Answer::NxDomain,
            Some(Answer::Rotating(sets)) => Answer::Addresses(sets[turn % sets.len()].clone()),
            Some(other) => other.clone(),
        }
    };
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(question.clone());
    match answer {
        Answer::Silent => return None,
        Answer::NxDomain => reply.metadata.response_code = ResponseCode::NXDomain,
        Answer::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
        Answer::Addresses(addresses) => {
            let owner = Name::from_ascii(format!("{name}.")).ok()?;
            for address in addresses {
                let matches = matches!(
                    (address, record_type),
                    (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::AAAA)
                );
                if matches {
                    reply.add_answer(Record::from_rdata(owner.clone(), 0, RData::from(address)));
                }
            }
        }
        Answer::Rotating(_) => unreachable!("resolved to one set above"),
    }
    reply.to_vec().ok()
}
