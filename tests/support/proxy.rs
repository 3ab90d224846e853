//! A fault-injecting proxy between the functions and moto_server.
//!
//! It counts the requests that pass through it by AWS action and, by rules,
//! answers some of them with a fault instead: the service's own throttling
//! error in its real shape, a bare 500 or 503, added latency, a connection
//! reset (before or after the request reached moto), or a connection that is
//! accepted and never answered.
//!
//! Faults are drawn from a seeded generator, so a run is reproducible: the
//! draw for the n-th request of an action depends only on the seed, the action
//! and n. (Where requests of one action are sent concurrently, which of them is
//! the n-th can vary; the schedule of faults per action does not.)

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the proxy (or the `ResponseURL` stand-in) does to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The service's own throttling error, in its protocol's shape: EC2's
    /// `RequestLimitExceeded` (503), ELBv2's `Throttling` (400), S3's
    /// `SlowDown` (503), or a JSON protocol's `ThrottlingException` (400).
    Throttle,
    /// A bare status, such as 500 or 503, with a plain body.
    Status(u16),
    /// The request is forwarded after this delay: with a delay longer than
    /// the client's attempt timeout, a stalled call (e.g. only the first
    /// request of an action, with [`Rule::first`]).
    Latency(Duration),
    /// The service's own error with this code, in its protocol's shape (EC2:
    /// HTTP 400 with `<Response><Errors><Error><Code>`), e.g. an error moto
    /// never sends, such as `RulesPerSecurityGroupLimitExceeded`.
    Error(&'static str),
    /// The connection is reset before any answer; the request is not applied.
    Reset,
    /// The request is applied, then the connection is reset: the answer is lost.
    ResetAfterForward,
    /// The connection is accepted and the request never answered.
    Hang,
    /// One of these, drawn from the seeded generator.
    OneOf(Vec<Fault>),
}

impl Fault {
    /// A short name, as recorded by [`Proxy::faults`].
    pub fn name(&self) -> String {
        match self {
            Fault::Throttle => "Throttle".into(),
            Fault::Status(code) => format!("Status{code}"),
            Fault::Latency(_) => "Latency".into(),
            Fault::Error(code) => format!("Error:{code}"),
            Fault::Reset => "Reset".into(),
            Fault::ResetAfterForward => "ResetAfterForward".into(),
            Fault::Hang => "Hang".into(),
            Fault::OneOf(_) => "OneOf".into(),
        }
    }

    /// The usual mix of faults an AWS client meets: throttling, 500, 503,
    /// latency, resets before and after the request was applied, and hangs.
    pub fn mix() -> Self {
        Fault::OneOf(vec![
            Fault::Throttle,
            Fault::Status(500),
            Fault::Status(503),
            Fault::Latency(Duration::from_millis(40)),
            Fault::Reset,
            Fault::ResetAfterForward,
            Fault::Hang,
        ])
    }
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Any,
    /// An AWS action, as [`action_of`] reads it (`DescribeVpcEndpoints`).
    Action(String),
    /// A service, as the request's signature scope names it (`ec2`,
    /// `elasticloadbalancing`, `s3`).
    Service(String),
}

/// When a matching rule fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    Always,
    /// With this probability, drawn from the seeded generator.
    Probability(f64),
    /// For the first n matching requests.
    First(usize),
}

/// A fault, the requests it applies to, and when it fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub matches: Match,
    pub fault: Fault,
    pub trigger: Trigger,
}

impl Rule {
    /// The fault on every request.
    pub fn every(fault: Fault) -> Self {
        Self {
            matches: Match::Any,
            fault,
            trigger: Trigger::Always,
        }
    }

    /// The fault on every request of one action.
    pub fn on(action: &str, fault: Fault) -> Self {
        Self {
            matches: Match::Action(action.to_owned()),
            ..Self::every(fault)
        }
    }

    /// The fault on every request to one service (`ec2`, `elasticloadbalancing`).
    pub fn service(service: &str, fault: Fault) -> Self {
        Self {
            matches: Match::Service(service.to_owned()),
            ..Self::every(fault)
        }
    }

    pub fn with_probability(mut self, probability: f64) -> Self {
        self.trigger = Trigger::Probability(probability);
        self
    }

    pub fn first(mut self, n: usize) -> Self {
        self.trigger = Trigger::First(n);
        self
    }
}

/// A small seeded generator (SplitMix64), stable across Rust versions.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A reproducible stream of draws for one request.
#[derive(Debug, Clone)]
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: u64, key: &str, n: u64) -> Self {
        Self(splitmix(
            seed ^ frontdoor::plan::owner::fnv1a(key) ^ splitmix(n),
        ))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }

    /// A draw in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Picks the fault to apply; `OneOf` is resolved by a draw.
    pub fn resolve(&mut self, fault: &Fault) -> Fault {
        match fault {
            Fault::OneOf(options) if !options.is_empty() => {
                let pick = &options[(self.next_u64() % options.len() as u64) as usize];
                self.resolve(pick)
            }
            Fault::OneOf(_) => Fault::Status(500),
            other => other.clone(),
        }
    }

    pub fn request_id(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// One request that passed through to the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    pub action: String,
    pub body: String,
}

#[derive(Debug, Default)]
struct State {
    /// Requests that reached the upstream, in order.
    passed: Mutex<Vec<Passed>>,
    /// Faults injected, as (action, fault name), in order.
    faulted: Mutex<Vec<(String, String)>>,
    rules: Mutex<Vec<(Rule, usize)>>,
    /// How many requests of each action were seen, for the draws.
    seen: Mutex<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone)]
pub struct Proxy {
    pub url: String,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (e.g. moto's URL), with no fault.
    pub async fn start(upstream: &str) -> Self {
        Self::with_seed(upstream, 0).await
    }

    /// Starts a proxy whose faults are drawn from `seed`.
    pub async fn with_seed(upstream: &str, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = Arc::clone(&state);
        serve(listener, move |req, conn| {
            forward(
                client.clone(),
                upstream.clone(),
                Arc::clone(&shared),
                seed,
                req,
                conn,
            )
        });
        Self { url, state }
    }

    /// Adds a rule; rules are tried in the order they were added and the
    /// first that fires applies.
    pub fn inject(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push((rule, 0));
    }

    /// Removes every rule: from now on everything passes through.
    pub fn clear_faults(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Every action that passed through to the upstream, in order.
    pub fn calls(&self) -> Vec<String> {
        self.passed().into_iter().map(|p| p.action).collect()
    }

    /// Every request that passed through to the upstream, with its body.
    pub fn passed(&self) -> Vec<Passed> {
        self.state.passed.lock().unwrap().clone()
    }

    /// How many times each action passed through.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in self.calls() {
            *counts.entry(call).or_default() += 1;
        }
        counts
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|c| *c == action).count()
    }

    /// The faults injected, as (action, fault name), in order.
    pub fn faults(&self) -> Vec<(String, String)> {
        self.state.faulted.lock().unwrap().clone()
    }

    /// Forgets what was recorded (the rules stay).
    pub fn reset(&self) {
        self.state.passed.lock().unwrap().clear();
        self.state.faulted.lock().unwrap().clear();
    }
}

/// The AWS action of a request: the query protocol's form field `Action=`,
/// the JSON protocols' `X-Amz-Target`, or else the REST path.
pub fn action_of(headers: &hyper::HeaderMap, path: &str, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let form = String::from_utf8_lossy(body);
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
        .unwrap_or_else(|| path.to_owned())
}

/// The service a request is signed for (`ec2`, `elasticloadbalancing`), from
/// the SigV4 credential scope, or from the query protocol's API version.
pub fn service_of(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    let scope = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split(['/', ',']).nth(3));
    if let Some(service) = scope {
        return service.to_owned();
    }
    let form = String::from_utf8_lossy(body);
    match form.split('&').find_map(|p| p.strip_prefix("Version=")) {
        Some("2016-11-15") => "ec2".into(),
        Some("2015-12-01") => "elasticloadbalancing".into(),
        _ => String::new(),
    }
}

/// The throttling error of a service, in its protocol's real shape.
pub fn throttling_response(service: &str, json: bool, request_id: &str) -> (u16, String) {
    match service {
        "ec2" => (
            503,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
        ),
        "s3" => (
            503,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>{request_id}</RequestId></Error>"
            ),
        ),
        _ if json => (
            400,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned(),
        ),
        // ELBv2 and the other query-protocol services.
        _ => (
            400,
            format!(
                "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        ),
    }
}

/// A client error of a service, in its protocol's real shape (400).
pub fn error_response(service: &str, code: &str, request_id: &str) -> (u16, String) {
    let message = format!("Injected {code}.");
    match service {
        "ec2" => (
            400,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
        ),
        _ => (
            400,
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        ),
    }
}

/// A bare status with a plain body.
pub fn status_response(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::from(format!("injected HTTP {code}"))))
        .unwrap()
}

pub type Answer = Result<Response<Full<Bytes>>, hyper::Error>;

/// A handle on the connection a request came on, to reset it.
#[derive(Debug, Clone)]
pub struct Conn {
    reset: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Conn {
    /// Resets the connection (TCP RST) and never answers this request.
    pub async fn reset(&self) -> Answer {
        self.reset.store(true, Ordering::SeqCst);
        self.notify.notify_one();
        std::future::pending().await
    }

    /// Never answers; the connection stays open until the client gives up.
    pub async fn hang(&self) -> Answer {
        std::future::pending().await
    }
}

/// A TCP stream that is reset (SO_LINGER 0, so the close sends RST) when it
/// is dropped after [`Conn::reset`].
struct Resettable {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for Resettable {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for Resettable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves HTTP/1 on the listener; each request is handed to `handler` with
/// its connection, which the handler may reset.
pub fn serve<H, Fut>(listener: TcpListener, handler: H)
where
    H: Fn(Request<Incoming>, Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let conn = Conn {
                    reset: Arc::new(AtomicBool::new(false)),
                    notify: Arc::new(Notify::new()),
                };
                let io = Resettable {
                    inner: stream,
                    reset: Arc::clone(&conn.reset),
                };
                let notify = Arc::clone(&conn.notify);
                let service = hyper::service::service_fn(move |req| handler(req, conn.clone()));
                let served = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(io), service);
                tokio::select! {
                    _ = served => {}
                    _ = notify.notified() => {}
                }
            });
        }
    });
}

/// The fault the rules pick for this request, if any.
fn pick(state: &State, seed: u64, action: &str, service: &str) -> Option<(Fault, Draws)> {
    let n = {
        let mut seen = state.seen.lock().unwrap();
        let n = seen.entry(action.to_owned()).or_default();
        *n += 1;
        *n
    };
    let mut draws = Draws::new(seed, action, n);
    let mut rules = state.rules.lock().unwrap();
    for (rule, fired) in rules.iter_mut() {
        let applies = match &rule.matches {
            Match::Any => true,
            Match::Action(a) => a == action,
            Match::Service(s) => s == service,
        };
        if !applies {
            continue;
        }
        let fires = match rule.trigger {
            Trigger::Always => true,
            Trigger::Probability(p) => draws.unit() < p,
            Trigger::First(limit) => *fired < limit,
        };
        if fires {
            *fired += 1;
            let fault = draws.resolve(&rule.fault);
            return Some((fault, draws));
        }
    }
    None
}

async fn forward(
    client: reqwest::Client,
    upstream: String,
    state: Arc<State>,
    seed: u64,
    req: Request<Incoming>,
    conn: Conn,
) -> Answer {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let action = action_of(&parts.headers, parts.uri.path(), &body);
    let service = service_of(&parts.headers, &body);
    let json = parts.headers.contains_key("x-amz-target");
    let fault = pick(&state, seed, &action, &service);
    if let Some((fault, _)) = &fault {
        state
            .faulted
            .lock()
            .unwrap()
            .push((action.clone(), fault.name()));
    }
    let reset_after = match fault {
        None => false,
        Some((Fault::Throttle, mut draws)) => {
            let (status, text) = throttling_response(&service, json, &draws.request_id());
            let content_type = if json {
                "application/x-amz-json-1.1"
            } else {
                "text/xml"
            };
            return Ok(Response::builder()
                .status(status)
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(text)))
                .unwrap());
        }
        Some((Fault::Error(code), mut draws)) => {
            let (status, text) = error_response(&service, code, &draws.request_id());
            return Ok(Response::builder()
                .status(status)
                .header(hyper::header::CONTENT_TYPE, "text/xml")
                .body(Full::new(Bytes::from(text)))
                .unwrap());
        }
        Some((Fault::Status(code), _)) => return Ok(status_response(code)),
        Some((Fault::Reset, _)) => return conn.reset().await,
        Some((Fault::Hang, _)) => return conn.hang().await,
        Some((Fault::Latency(delay), _)) => {
            tokio::time::sleep(delay).await;
            false
        }
        Some((Fault::ResetAfterForward, _)) => true,
        Some((Fault::OneOf(_), _)) => unreachable!("resolved by the draw"),
    };
    state.passed.lock().unwrap().push(Passed {
        action,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut upstream_req = client
        .request(parts.method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            upstream_req = upstream_req.header(name, value);
        }
    }
    let response = match upstream_req.send().await {
        Ok(response) => response,
        Err(err) => {
            return Ok(Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(err.to_string())))
                .unwrap());
        }
    };
    let mut builder = Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    if reset_after {
        return conn.reset().await;
    }
    Ok(builder.body(Full::new(bytes)).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_spread() {
        let a: Vec<u64> = (0..5).map(|n| Draws::new(7, "X", n).next_u64()).collect();
        let b: Vec<u64> = (0..5).map(|n| Draws::new(7, "X", n).next_u64()).collect();
        assert_eq!(a, b);
        let hits = (0..10_000)
            .filter(|n| Draws::new(1, "A", *n).unit() < 0.3)
            .count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
    }
}
