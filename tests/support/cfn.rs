//! CloudFormation's side of the custom-resource protocol: a local HTTP server
//! that plays the S3 pre-signed `ResponseURL` and records what was PUT, and
//! events in CloudFormation's real shape.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
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
    failures_left: AtomicUsize,
    attempts: AtomicUsize,
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
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.failures_left.store(failures, Ordering::SeqCst);
        let server_state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&server_state);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| record(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!(
                "http://{addr}/cloudformation-custom-resource-response-useast1/{}?X-Amz-Signature=abc",
                addr.port()
            ),
            state,
        }
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
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    state.attempts.fetch_add(1, Ordering::SeqCst);
    let is_put = req.method() == hyper::Method::PUT;
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req.into_body().collect().await?.to_bytes();
    let fail = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if !is_put {
        StatusCode::METHOD_NOT_ALLOWED
    } else if fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        state.puts.lock().unwrap().push(Put { body, content_type });
        StatusCode::OK
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
}

impl Events {
    pub fn new(response_url: &ResponseUrl, resource_type: &str, logical_resource_id: &str) -> Self {
        Self {
            response_url: response_url.url.clone(),
            resource_type: resource_type.to_owned(),
            logical_resource_id: logical_resource_id.to_owned(),
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
            "StackId": STACK_ID,
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
