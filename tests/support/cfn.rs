//! CloudFormation's side of the custom-resource protocol: a local HTTP server
//! that plays the S3 pre-signed `ResponseURL` and records what was PUT, and
//! events in CloudFormation's real shape.

use crate::proxy::{self, Conn, Draws, Fault};
use frontdoor::cfn::{self, CustomResource, ProtocolError, Responder, Retries, Settings};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/frontdoor-test/5b0c6a10-1f2e-11ef-9f4a-0a1b2c3d4e5f";

/// One PUT received by the stand-in.
#[derive(Debug, Clone)]
pub struct Put {
    pub body: Value,
    pub content_type: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    puts: Mutex<Vec<Put>>,
    attempts: AtomicUsize,
    /// Faults for the next PUTs, in order.
    script: Mutex<VecDeque<Fault>>,
    /// The faults injected, by name, in order.
    faulted: Mutex<Vec<String>>,
}

/// The `ResponseURL` stand-in.
#[derive(Debug, Clone)]
pub struct ResponseUrl {
    pub url: String,
    state: Arc<State>,
}

impl ResponseUrl {
    pub async fn start() -> Self {
        Self::failing_first(0).await
    }

    /// Answers the first `failures` PUTs with 503, as S3 may under load.
    pub async fn failing_first(failures: usize) -> Self {
        Self::with_faults(vec![Fault::Status(503); failures]).await
    }

    /// Meets the first PUTs with these faults, one each, in order, then
    /// accepts: throttling is S3's `SlowDown` (503); a reset or a hang means
    /// that the PUT did not land; `ResetAfterForward` lands, then resets.
    pub async fn with_faults(faults: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.script.lock().unwrap().extend(faults);
        let server_state = Arc::clone(&state);
        proxy::serve(listener, move |req, conn| {
            record(Arc::clone(&server_state), req, conn)
        });
        Self {
            url: format!(
                "http://{addr}/cloudformation-custom-resource-response-useast1/{}?X-Amz-Signature=abc",
                addr.port()
            ),
            state,
        }
    }

    /// The faults injected so far, by name.
    pub fn faults(&self) -> Vec<String> {
        self.state.faulted.lock().unwrap().clone()
    }

    /// The responses that landed.
    pub fn puts(&self) -> Vec<Put> {
        self.state.puts.lock().unwrap().clone()
    }

    /// Every PUT attempt, including those answered with an error.
    pub fn attempts(&self) -> usize {
        self.state.attempts.load(Ordering::SeqCst)
    }

    /// The one response that landed; fails the test unless there is exactly one.
    pub fn only(&self) -> Value {
        let puts = self.puts();
        assert_eq!(puts.len(), 1, "expected exactly one response, got {puts:?}");
        assert_eq!(
            puts[0].content_type, None,
            "the PUT must not carry a Content-Type"
        );
        puts[0].body.clone()
    }
}

async fn record(
    state: Arc<State>,
    req: Request<Incoming>,
    conn: Conn,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let attempt = state.attempts.fetch_add(1, Ordering::SeqCst);
    let is_put = req.method() == hyper::Method::PUT;
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req.into_body().collect().await?.to_bytes();
    let mut draws = Draws::new(0, "PUT", attempt as u64);
    let fault = if is_put {
        state
            .script
            .lock()
            .unwrap()
            .pop_front()
            .map(|fault| draws.resolve(&fault))
    } else {
        None
    };
    if let Some(fault) = &fault {
        state.faulted.lock().unwrap().push(fault.name());
    }
    let land = |state: &State| {
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        state.puts.lock().unwrap().push(Put { body, content_type });
    };
    let status = match fault {
        _ if !is_put => StatusCode::METHOD_NOT_ALLOWED,
        None => {
            land(&state);
            StatusCode::OK
        }
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            land(&state);
            StatusCode::OK
        }
        Some(Fault::Throttle) => {
            let (status, text) = proxy::throttling_response("s3", false, &draws.request_id());
            return Ok(Response::builder()
                .status(status)
                .header(hyper::header::CONTENT_TYPE, "application/xml")
                .body(Full::new(Bytes::from(text)))
                .unwrap());
        }
        Some(Fault::Status(code)) => return Ok(proxy::status_response(code)),
        Some(Fault::Error(code)) => {
            let (status, text) = proxy::error_response("s3", code, &draws.request_id());
            return Ok(Response::builder()
                .status(status)
                .body(Full::new(Bytes::from(text)))
                .unwrap());
        }
        Some(Fault::Reset) => return conn.reset().await,
        Some(Fault::Hang) => return conn.hang().await,
        Some(Fault::ResetAfterForward) => {
            land(&state);
            return conn.reset().await;
        }
        Some(Fault::OneOf(_)) => unreachable!("resolved by the draw"),
    };
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .unwrap())
}

/// A port that accepts connections and never answers: an AWS endpoint that hangs.
pub async fn stalled_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

/// Builds events for one logical resource, as CloudFormation sends them.
#[derive(Debug, Clone)]
pub struct Events {
    pub response_url: String,
    pub resource_type: String,
    pub logical_resource_id: String,
    pub stack_id: String,
}

impl Events {
    pub fn new(response_url: &ResponseUrl, resource_type: &str, logical_resource_id: &str) -> Self {
        Self {
            response_url: response_url.url.clone(),
            resource_type: resource_type.to_owned(),
            logical_resource_id: logical_resource_id.to_owned(),
            stack_id: STACK_ID.to_owned(),
        }
    }

    /// The same resource under another logical id: a rename.
    pub fn renamed(&self, logical_resource_id: &str) -> Self {
        Self {
            logical_resource_id: logical_resource_id.to_owned(),
            ..self.clone()
        }
    }

    /// The same resource in another stack.
    pub fn in_stack(&self, stack_id: &str) -> Self {
        Self {
            stack_id: stack_id.to_owned(),
            ..self.clone()
        }
    }

    fn base(&self, request_type: &str, properties: Value) -> Value {
        let mut properties = properties;
        properties["ServiceToken"] =
            json!("arn:aws:lambda:us-east-1:123456789012:function:frontdoor-test-fn");
        json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:frontdoor-test-fn",
            "ResponseURL": self.response_url,
            "StackId": self.stack_id,
            "RequestId": format!("{request_type}-{}", std::process::id()),
            "LogicalResourceId": self.logical_resource_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": properties,
        })
    }

    pub fn create(&self, properties: Value) -> Value {
        self.base("Create", properties)
    }

    pub fn update(&self, physical_id: &str, properties: Value, old: Value) -> Value {
        let mut event = self.base("Update", properties);
        event["PhysicalResourceId"] = json!(physical_id);
        let mut old = old;
        old["ServiceToken"] = event["ServiceToken"].clone();
        event["OldResourceProperties"] = old;
        event
    }

    pub fn delete(&self, physical_id: &str, properties: Value) -> Value {
        let mut event = self.base("Delete", properties);
        event["PhysicalResourceId"] = json!(physical_id);
        event
    }
}

/// A Lambda event with no deadline, so the protocol's budget applies.
pub fn lambda_event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

/// The protocol's real settings, with a short backoff between PUT attempts.
pub fn quick_settings() -> Settings {
    Settings {
        retries: Retries {
            backoff: std::time::Duration::from_millis(20),
            ..Retries::default()
        },
        ..Settings::default()
    }
}

/// The protocol as a function runs it: its settings and its responder.
pub struct Protocol {
    pub settings: Settings,
    responder: Responder,
}

impl Protocol {
    pub fn new(settings: Settings) -> Self {
        Self {
            responder: Responder::new(settings.retries).unwrap(),
            settings,
        }
    }

    /// [`quick_settings`] with another safety margin before the Lambda deadline.
    pub fn with_margin(safety_margin: std::time::Duration) -> Self {
        let mut settings = quick_settings();
        settings.budget.safety_margin = safety_margin;
        Self::new(settings)
    }

    /// [`quick_settings`] with another budget for an unknown deadline.
    pub fn with_fallback(fallback: std::time::Duration) -> Self {
        let mut settings = quick_settings();
        settings.budget.fallback = fallback;
        Self::new(settings)
    }

    pub async fn run<R: CustomResource>(
        &self,
        resource: Arc<R>,
        event: LambdaEvent<Value>,
    ) -> Result<Value, ProtocolError> {
        cfn::run(resource, &self.responder, &self.settings, event).await
    }
}

impl Default for Protocol {
    fn default() -> Self {
        Self::new(quick_settings())
    }
}

/// Runs one event through the protocol and returns the one response that
/// landed for it, failing the test unless exactly one did, without a
/// `Content-Type`.
pub async fn invoke<R: CustomResource>(resource: Arc<R>, url: &ResponseUrl, event: Value) -> Value {
    let before = url.puts().len();
    Protocol::default()
        .run(resource, lambda_event(event))
        .await
        .unwrap();
    let puts = url.puts();
    assert_eq!(puts.len(), before + 1, "one response per request: {puts:?}");
    assert_eq!(puts[before].content_type, None);
    puts[before].body.clone()
}

/// A Lambda deadline (epoch milliseconds) this far from now.
pub fn lambda_deadline_in(left: std::time::Duration) -> u64 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + left)
        .as_millis() as u64
}

/// Fails the test unless the response is FAILED with a `Reason` that
/// contains every one of `needles`.
pub fn assert_failed_naming(response: &Value, needles: &[&str]) {
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(
            reason.contains(needle),
            "reason {reason:?} should name {needle}"
        );
    }
}

pub fn assert_success(response: &Value) {
    assert_eq!(response["Status"], "SUCCESS", "{response}");
}

pub fn id_of(response: &Value) -> String {
    response["PhysicalResourceId"].as_str().unwrap().to_owned()
}
