//! The CloudFormation custom-resource protocol.
//!
//! Every request gets exactly one response PUT to its `ResponseURL`: on success,
//! on a handled error, on invalid input, on a panic inside the handler, and a
//! few seconds before the Lambda deadline. Without that answer CloudFormation
//! waits for the resource's `ServiceTimeout` (an hour by default).

use crate::deadline::Budget;
use crate::error_chain;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

pub type Request = CloudFormationCustomResourceRequest<Value, Value>;

/// CloudFormation rejects a response body of 4,096 bytes or more.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// What a resource handler answers on success.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
}

/// A handled failure: one sentence for `Reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Failure {
    pub reason: String,
}

impl Failure {
    pub fn new(reason: impl std::fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
        }
    }
}

impl From<crate::props::PropertyError> for Failure {
    fn from(err: crate::props::PropertyError) -> Self {
        Self::new(err)
    }
}

/// The context a handler runs in.
#[derive(Debug, Clone, Copy)]
pub struct Invocation {
    /// When the handler must have returned; the core answers FAILED then.
    pub deadline: Instant,
}

/// One kind of custom resource.
pub trait CustomResource: Send + Sync + 'static {
    /// The id a Create answers with, also when it fails, so that the Delete
    /// CloudFormation then sends can clean up. `None` when the properties are
    /// too broken to derive one.
    fn physical_resource_id(&self, request: &Request) -> Option<String>;

    /// Handles one request. Update and Delete failures keep the request's id.
    fn handle(
        &self,
        request: Arc<Request>,
        invocation: Invocation,
    ) -> impl Future<Output = Result<Success, Failure>> + Send;
}

/// Errors for which no response can be sent at all.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the event is not a CloudFormation custom-resource request: field ResponseURL {0}")]
    NoResponseUrl(&'static str),
    #[error("the response to {url} could not be delivered: {source}")]
    Delivery {
        url: String,
        #[source]
        source: DeliveryError,
    },
}

impl From<ProtocolError> for lambda_runtime::Diagnostic {
    fn from(err: ProtocolError) -> Self {
        let error_type = match err {
            ProtocolError::NoResponseUrl(_) => "InvalidRequest",
            ProtocolError::Delivery { .. } => "ResponseNotDelivered",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("ResponseURL is not a valid URL: {0}")]
    BadUrl(String),
    #[error("PUT answered HTTP {0}")]
    Status(u16),
    #[error("PUT failed: {0}")]
    Transport(String),
    #[error("gave up after {attempts} attempts, last: {last}")]
    Exhausted {
        attempts: u32,
        last: Box<DeliveryError>,
    },
}

/// Timing of the protocol.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long before the Lambda deadline the core answers FAILED, leaving
    /// time for the response PUT and its retries.
    pub safety_margin: Duration,
    /// The time budget when the deadline is missing or already past (as
    /// `cargo lambda watch` sends a relative value).
    pub fallback_budget: Duration,
    /// Attempts of the response PUT on 5xx and connection errors.
    pub put_attempts: u32,
    /// The first backoff between attempts; it doubles after each.
    pub put_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            safety_margin: Duration::from_secs(5),
            fallback_budget: Duration::from_secs(60),
            put_attempts: 5,
            put_backoff: Duration::from_millis(250),
        }
    }
}

impl Settings {
    /// Reads `FRONTDOOR_FALLBACK_BUDGET_SECS`, the budget used when the Lambda
    /// deadline is unknown. Anything unreadable keeps the default.
    pub fn from_env() -> Self {
        Self {
            fallback_budget: Budget::from_env().fallback,
            ..Self::default()
        }
    }

    /// The instant by which the handler must be done: the Lambda deadline
    /// less the safety margin, or the fallback budget from now.
    fn handler_deadline(&self, lambda_deadline_ms: u64, now: SystemTime) -> Instant {
        Budget {
            safety_margin: self.safety_margin,
            fallback: self.fallback_budget,
        }
        .deadline(lambda_deadline_ms, now)
    }
}

/// Sends responses to `ResponseURL`.
#[derive(Debug, Clone)]
pub struct Responder {
    http: reqwest::Client,
    settings: Settings,
}

impl Responder {
    pub fn new(settings: Settings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, settings })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// PUTs the body with no `Content-Type` (one would break the pre-signed
    /// URL's signature), retrying 5xx and connection errors with backoff.
    pub async fn put(&self, url: &str, body: String) -> Result<(), DeliveryError> {
        let url = reqwest::Url::parse(url).map_err(|e| DeliveryError::BadUrl(e.to_string()))?;
        let mut backoff = self.settings.put_backoff;
        let mut attempt = 1;
        loop {
            let outcome = match self.http.put(url.clone()).body(body.clone()).send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => DeliveryError::Status(resp.status().as_u16()),
                Err(err) => DeliveryError::Transport(error_chain(&err)),
            };
            let retryable = match outcome {
                DeliveryError::Status(code) => code >= 500,
                _ => true,
            };
            if !retryable {
                return Err(outcome);
            }
            if attempt >= self.settings.put_attempts {
                return Err(DeliveryError::Exhausted {
                    attempts: attempt,
                    last: Box::new(outcome),
                });
            }
            tracing::warn!(attempt, error = %outcome, "response PUT failed, retrying");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// The fields of a response that come from the request, read leniently from
/// the raw event so that even a malformed request can be answered.
#[derive(Debug, Clone, Default)]
struct Envelope {
    response_url: String,
    stack_id: String,
    request_id: String,
    logical_resource_id: String,
    physical_resource_id: Option<String>,
}

impl Envelope {
    fn read(raw: &Value) -> Result<Self, ProtocolError> {
        let text = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
        let response_url = match raw.get("ResponseURL") {
            None | Some(Value::Null) => return Err(ProtocolError::NoResponseUrl("is missing")),
            Some(Value::String(url)) if reqwest::Url::parse(url).is_ok() => url.clone(),
            Some(Value::String(url)) if !url.is_empty() => {
                return Err(ProtocolError::NoResponseUrl("is not a valid URL"));
            }
            Some(_) => return Err(ProtocolError::NoResponseUrl("is not a non-empty string")),
        };
        Ok(Self {
            response_url,
            stack_id: text("StackId").unwrap_or_default(),
            request_id: text("RequestId").unwrap_or_default(),
            logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            physical_resource_id: text("PhysicalResourceId").filter(|id| !id.is_empty()),
        })
    }

    /// The first echoed field longer than CloudFormation ever sends: such a
    /// request is refused, not answered with an id cut to fit.
    fn oversized_field(&self) -> Option<&'static str> {
        [
            ("StackId", self.stack_id.as_str()),
            ("RequestId", self.request_id.as_str()),
            ("LogicalResourceId", self.logical_resource_id.as_str()),
            (
                "PhysicalResourceId",
                self.physical_resource_id.as_deref().unwrap_or_default(),
            ),
        ]
        .into_iter()
        .find(|(_, value)| value.len() > MAX_ID_BYTES)
        .map(|(name, _)| name)
    }
}

/// The longest id CloudFormation sends in a request (its own limit is 1 KB).
const MAX_ID_BYTES: usize = 1024;

/// The physical id of a Create that failed before its properties gave one.
/// A Delete of this id has nothing to clean up.
fn unprovisioned_id(envelope: &Envelope) -> String {
    format!("unprovisioned-{}", envelope.request_id)
}

/// Handles one custom-resource event end to end and returns the response that
/// was delivered. Only a response that could not be delivered is an error,
/// which Lambda's asynchronous retries may then deliver.
///
/// An event without a usable `ResponseURL` cannot be answered, however often
/// it is retried: it is logged at error level, naming `ResponseURL`, and the
/// invocation ends without an error, returning `{"Unanswered": "<why>"}`, so
/// that Lambda does not run it twice more for nothing.
pub async fn run<R: CustomResource>(
    resource: Arc<R>,
    responder: &Responder,
    event: LambdaEvent<Value>,
) -> Result<Value, ProtocolError> {
    let settings = *responder.settings();
    let handler_deadline = settings.handler_deadline(event.context.deadline, SystemTime::now());
    let raw = event.payload;
    let envelope = match Envelope::read(&raw) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::error!(%error, "no response can be sent: the event has no usable ResponseURL; not retrying");
            return Ok(serde_json::json!({ "Unanswered": error.to_string() }));
        }
    };
    let response = if let Some(field) = envelope.oversized_field() {
        failed(
            &envelope,
            unprovisioned_id(&envelope),
            format!("Invalid request: field {field} is longer than {MAX_ID_BYTES} bytes."),
        )
    } else {
        match Request::deserialize(&raw) {
            Err(err) => failed(
                &envelope,
                unprovisioned_id(&envelope),
                invalid_request_reason(&err, &raw),
            ),
            Ok(request) => answer(resource, request, &envelope, handler_deadline).await,
        }
    };
    let body = encode(&response);
    match response.status {
        CloudFormationCustomResourceResponseStatus::Success => {
            tracing::info!(physical_resource_id = %response.physical_resource_id, "answering SUCCESS")
        }
        _ => tracing::error!(
            reason = response.reason.as_deref().unwrap_or_default(),
            "answering FAILED"
        ),
    }
    responder
        .put(&envelope.response_url, body.clone())
        .await
        .map_err(|source| ProtocolError::Delivery {
            url: redact(&envelope.response_url),
            source,
        })?;
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Runs the handler under the deadline and the panic guard.
async fn answer<R: CustomResource>(
    resource: Arc<R>,
    request: Request,
    envelope: &Envelope,
    deadline: Instant,
) -> CloudFormationCustomResourceResponse {
    let request_id = match &request {
        Request::Create(_) => resource
            .physical_resource_id(&request)
            .unwrap_or_else(|| unprovisioned_id(envelope)),
        Request::Update(u) => u.physical_resource_id.clone(),
        Request::Delete(d) => d.physical_resource_id.clone(),
        _ => unprovisioned_id(envelope),
    };
    let request = Arc::new(request);
    let task = tokio::spawn({
        let resource = Arc::clone(&resource);
        let request = Arc::clone(&request);
        async move { resource.handle(request, Invocation { deadline }).await }
    });
    let abort = task.abort_handle();
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(Ok(success))) => succeeded(envelope, success),
        Ok(Ok(Err(failure))) => failed(envelope, request_id, failure.reason),
        Ok(Err(join_error)) => {
            let detail = panic_text(join_error);
            tracing::error!(panic = %detail, "handler panicked");
            failed(
                envelope,
                request_id,
                format!("Internal error: the handler panicked ({detail})."),
            )
        }
        Err(_elapsed) => {
            abort.abort();
            failed(
                envelope,
                request_id,
                "Timed out: the operation did not finish before the Lambda deadline; see the function's logs.",
            )
        }
    }
}

fn panic_text(err: tokio::task::JoinError) -> String {
    match err.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned()),
        Err(err) => err.to_string(),
    }
}

/// The request's fields that must be strings, required ones first.
const STRING_FIELDS: [&str; 8] = [
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "ResourceType",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ServiceToken",
];

/// serde's message names a missing field (`missing field `StackId``) and an
/// unknown variant (`unknown variant `create``), but not the field of a value
/// of the wrong type (`invalid type: map, expected a string`): that one is
/// found in the raw event.
fn invalid_request_reason(err: &serde_json::Error, raw: &Value) -> String {
    let text = err.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    let text = text.replace("unknown variant", "unknown RequestType");
    if text.starts_with("invalid type") {
        let wrong = STRING_FIELDS
            .iter()
            .find(|field| raw.get(**field).is_some_and(|v| !v.is_string()));
        if let Some(field) = wrong {
            let detail = text.replace("variant identifier", "Create, Update or Delete");
            return format!("Invalid request: field {field} must be a string: {detail}.");
        }
    }
    format!("Invalid request: {text}.")
}

fn succeeded(envelope: &Envelope, success: Success) -> CloudFormationCustomResourceResponse {
    let mut response = base(envelope, success.physical_resource_id);
    response.data = success.data.into_iter().collect::<HashMap<_, _>>();
    response.reason = Some("OK".to_owned());
    response
}

fn failed(
    envelope: &Envelope,
    physical_resource_id: String,
    reason: impl Into<String>,
) -> CloudFormationCustomResourceResponse {
    let physical_resource_id = envelope
        .physical_resource_id
        .clone()
        .unwrap_or(physical_resource_id);
    let mut response = base(envelope, physical_resource_id);
    response.status = CloudFormationCustomResourceResponseStatus::Failed;
    response.reason = Some(reason.into());
    response
}

fn base(envelope: &Envelope, physical_resource_id: String) -> CloudFormationCustomResourceResponse {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.physical_resource_id = physical_resource_id;
    response.stack_id = envelope.stack_id.clone();
    response.request_id = envelope.request_id.clone();
    response.logical_resource_id = envelope.logical_resource_id.clone();
    response
}

/// Serialises the response under CloudFormation's size limit: the reason is
/// cut first; a response still too large loses its data and fails.
fn encode(response: &CloudFormationCustomResourceResponse) -> String {
    let mut response = response.clone();
    loop {
        let body = serde_json::to_string(&response).unwrap_or_default();
        if body.len() < MAX_RESPONSE_BYTES {
            return body;
        }
        let excess = body.len() + 1 - MAX_RESPONSE_BYTES;
        let reason = response.reason.take().unwrap_or_default();
        if reason.len() > excess + 1 {
            response.reason = Some(cut_to(&reason, reason.len() - excess - 1));
        } else if !response.data.is_empty() {
            response.data.clear();
            response.status = CloudFormationCustomResourceResponseStatus::Failed;
            response.reason = Some(format!(
                "The response Data would exceed CloudFormation's {MAX_RESPONSE_BYTES}-byte limit."
            ));
        } else {
            // Only the echoed ids are left: cut the longest one.
            response.reason = Some(reason);
            let longest = [
                &mut response.physical_resource_id,
                &mut response.stack_id,
                &mut response.request_id,
                &mut response.logical_resource_id,
            ]
            .into_iter()
            .max_by_key(|id| id.len());
            match longest {
                Some(id) if id.len() > '…'.len_utf8() => {
                    *id = cut_to(id, id.len().saturating_sub(excess + 1));
                }
                _ => return body,
            }
        }
    }
}

/// Cuts text to at most `max` bytes on a character boundary, marking the cut.
fn cut_to(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub('…'.len_utf8());
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The pre-signed URL's query carries credentials: log only its path.
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// The stack's name from its ARN (`arn:…:stack/<name>/<uuid>`).
pub fn stack_name(stack_id: &str) -> &str {
    stack_id
        .split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|name| !name.is_empty())
        .unwrap_or(stack_id)
}

/// Fields every request kind has.
pub struct Common<'a> {
    pub stack_id: &'a str,
    pub logical_resource_id: &'a str,
    pub properties: &'a Value,
}

/// The fields of a request that every kind has.
pub fn common(request: &Request) -> Common<'_> {
    match request {
        Request::Create(r) => Common {
            stack_id: &r.stack_id,
            logical_resource_id: &r.logical_resource_id,
            properties: &r.resource_properties,
        },
        Request::Update(r) => Common {
            stack_id: &r.stack_id,
            logical_resource_id: &r.logical_resource_id,
            properties: &r.resource_properties,
        },
        Request::Delete(r) => Common {
            stack_id: &r.stack_id,
            logical_resource_id: &r.logical_resource_id,
            properties: &r.resource_properties,
        },
        _ => Common {
            stack_id: "",
            logical_resource_id: "",
            properties: &Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            response_url: "http://127.0.0.1/x".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/0f0e".into(),
            request_id: "r-1".into(),
            logical_resource_id: "Targets".into(),
            physical_resource_id: None,
        }
    }

    #[test]
    fn a_long_reason_is_cut_to_fit() {
        let response = failed(&envelope(), "id".into(), "é".repeat(10_000));
        let body = encode(&response);
        assert!(body.len() < MAX_RESPONSE_BYTES, "{}", body.len());
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert!(parsed["Reason"].as_str().unwrap().ends_with('…'));
        assert_eq!(parsed["Status"], "FAILED");
    }

    #[test]
    fn oversized_data_turns_into_a_failure() {
        let data = (0..200)
            .map(|i| (format!("IP{i}"), "10.100.100.100".to_owned()))
            .collect();
        let response = succeeded(
            &envelope(),
            Success {
                physical_resource_id: "id".into(),
                data,
            },
        );
        let body = encode(&response);
        assert!(body.len() < MAX_RESPONSE_BYTES);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["Status"], "FAILED");
        assert!(parsed["Reason"].as_str().unwrap().contains("4096-byte"));
    }

    #[test]
    fn long_echoed_ids_are_cut_until_the_response_fits() {
        let mut env = envelope();
        env.stack_id = "s".repeat(3000);
        env.request_id = "r".repeat(3000);
        let body = encode(&failed(&env, "p".repeat(3000), "Reason."));
        assert!(body.len() < MAX_RESPONSE_BYTES, "{}", body.len());
        assert!(env.oversized_field() == Some("StackId"));
    }

    #[test]
    fn a_small_response_is_unchanged() {
        let response = failed(&envelope(), "id".into(), "Short.");
        let parsed: Value = serde_json::from_str(&encode(&response)).unwrap();
        assert_eq!(parsed["Reason"], "Short.");
        assert_eq!(parsed["PhysicalResourceId"], "id");
        assert_eq!(parsed["LogicalResourceId"], "Targets");
    }

    #[test]
    fn a_failed_update_keeps_the_request_id() {
        let mut env = envelope();
        env.physical_resource_id = Some("old-id".into());
        assert_eq!(
            failed(&env, "new-id".into(), "x").physical_resource_id,
            "old-id"
        );
    }

    #[test]
    fn stack_names_come_from_the_arn() {
        assert_eq!(
            stack_name("arn:aws:cloudformation:us-east-1:1:stack/demo/uuid"),
            "demo"
        );
        assert_eq!(stack_name("plain"), "plain");
    }

    #[test]
    fn request_errors_name_the_field() {
        let reason = |raw: Value| {
            let err = serde_json::from_value::<Request>(raw.clone()).unwrap_err();
            invalid_request_reason(&err, &raw)
        };
        let text = reason(serde_json::json!({"RequestType": "create"}));
        assert!(text.contains("RequestType `create`"), "{text}");
        let text = reason(serde_json::json!({"RequestType": "Create"}));
        assert!(text.contains("missing field"), "{text}");
        for (raw, field) in [
            (serde_json::json!({"RequestType": 1}), "RequestType"),
            (serde_json::json!({"RequestType": null}), "RequestType"),
            (
                serde_json::json!({"RequestType": "Create", "ResponseURL": "u", "StackId": 7}),
                "StackId",
            ),
            (
                serde_json::json!({"RequestType": "Delete", "RequestId": {"a": 1}}),
                "RequestId",
            ),
        ] {
            let text = reason(raw);
            assert!(text.contains(&format!("field {field} ")), "{text}");
        }
    }

    #[test]
    fn redaction_drops_the_signature() {
        assert_eq!(redact("https://b.s3/x?X-Amz-Signature=s"), "https://b.s3/x");
    }
}
