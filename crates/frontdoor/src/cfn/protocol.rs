//! The protocol's core: every request gets exactly one response PUT to its
//! `ResponseURL`: on success, on a handled error, on invalid input, on a
//! panic inside the handler, and a few seconds before the Lambda deadline.
//! Without that answer CloudFormation waits for the resource's
//! `ServiceTimeout` (an hour by default).

use super::encode::encode;
use super::resource::{self, CustomResource, Data};
use super::responder::{DeliveryError, Responder, Retries};
use crate::config::ConfigError;
use crate::deadline::Budget;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

pub type Request = CloudFormationCustomResourceRequest<Value, Value>;

/// The time the function keeps, after the last PUT attempt, to return to
/// the Lambda runtime before the deadline.
const EXIT_MARGIN: Duration = Duration::from_millis(500);

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

/// The protocol's timing: the invocation's budget (the handler stops its
/// safety margin before the Lambda deadline, leaving that time for the
/// response) and the response PUT's retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    pub budget: Budget,
    pub retries: Retries,
}

impl Settings {
    /// The defaults, with `FRONTDOOR_FALLBACK_BUDGET_SECS` checked.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            budget: Budget::from_env()?,
            retries: Retries::default(),
        })
    }
}

/// A `ResponseURL` that can carry a response: an http(s) URL with a host.
/// Anything else is refused before the handler runs, so that no AWS call is
/// made for a request that can never be answered: CloudFormation would never
/// learn the physical id of what a Create made, and nothing would clean it up.
fn response_url(text: &str) -> Result<reqwest::Url, ProtocolError> {
    let invalid = || ProtocolError::NoResponseUrl("is not an http(s) URL with a host");
    if text.chars().any(char::is_control) {
        return Err(invalid());
    }
    let url = reqwest::Url::parse(text).map_err(|_| invalid())?;
    match url.scheme() {
        "https" | "http" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        _ => Err(invalid()),
    }
}

/// The fields of a response that come from the request, read leniently from
/// the raw event so that even a malformed request can be answered.
#[derive(Debug, Clone)]
struct Envelope {
    response_url: reqwest::Url,
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
            Some(Value::String(url)) => response_url(url)?,
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

/// Serves one custom resource on the Lambda Runtime API: the protocol's
/// settings from the environment (a bad value is an initialisation error
/// naming the variable), then every event through [`run`].
pub async fn serve<R: CustomResource>(resource: R) -> Result<(), lambda_runtime::Error> {
    let settings = Settings::from_env().inspect_err(|error| tracing::error!("{error}"))?;
    let responder = Responder::new(settings.retries)?;
    let resource = Arc::new(resource);
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        run(Arc::clone(&resource), &responder, &settings, event)
    }))
    .await
}

/// Handles one custom-resource event end to end and returns the response that
/// was delivered. Only a response that could not be delivered is an error,
/// which Lambda's asynchronous retries may then deliver.
///
/// An event without a usable `ResponseURL` cannot be answered, however often
/// it is retried: nothing is done for it, it is logged at error level, naming
/// `ResponseURL`, and the invocation ends without an error, returning
/// `{"Unanswered": "<why>"}`, so that Lambda does not run it twice more for
/// nothing.
pub async fn run<R: CustomResource>(
    resource: Arc<R>,
    responder: &Responder,
    settings: &Settings,
    event: LambdaEvent<Value>,
) -> Result<Value, ProtocolError> {
    let end = settings
        .budget
        .end(event.context.deadline, SystemTime::now());
    let handler_deadline = end - settings.budget.safety_margin;
    let raw = event.payload;
    let envelope = match Envelope::read(&raw) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::error!(%error, "no response can be sent: the event has no usable ResponseURL; nothing done, not retrying");
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
        .put(&envelope.response_url, body.clone(), end - EXIT_MARGIN)
        .await
        .map_err(|source| ProtocolError::Delivery {
            url: redact(&envelope.response_url),
            source,
        })?;
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Runs the resource under the deadline and the panic guard.
async fn answer<R: CustomResource>(
    resource: Arc<R>,
    request: Request,
    envelope: &Envelope,
    deadline: Instant,
) -> CloudFormationCustomResourceResponse {
    // Answered when the resource gives no id: on a timeout, on a panic.
    let fallback_id =
        resource::create_id::<R>(&request).unwrap_or_else(|| unprovisioned_id(envelope));
    let task =
        tokio::spawn(
            async move { resource::dispatch(resource.as_ref(), &request, deadline).await },
        );
    let abort = task.abort_handle();
    let outcome = match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join_error)) => {
            let detail = panic_text(join_error);
            tracing::error!(panic = %detail, "handler panicked");
            return failed(
                envelope,
                fallback_id,
                format!("Internal error: the handler panicked ({detail})."),
            );
        }
        Err(_elapsed) => {
            abort.abort();
            return failed(
                envelope,
                fallback_id,
                "Timed out: the operation did not finish before the Lambda deadline; see the function's logs.",
            );
        }
    };
    match outcome.result {
        Ok(data) => {
            // A Delete answers with the id it was asked about.
            let id = outcome
                .physical_resource_id
                .or_else(|| envelope.physical_resource_id.clone())
                .unwrap_or(fallback_id);
            succeeded(envelope, id, data)
        }
        Err(reason) => failed(
            envelope,
            outcome.physical_resource_id.unwrap_or(fallback_id),
            reason,
        ),
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

fn succeeded(
    envelope: &Envelope,
    physical_resource_id: String,
    data: Data,
) -> CloudFormationCustomResourceResponse {
    let mut response = base(envelope, physical_resource_id);
    response.data = data.into_iter().collect::<HashMap<_, _>>();
    response.reason = Some("OK".to_owned());
    response
}

/// A FAILED that keeps the request's id (Update, Delete), else this one.
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

/// The pre-signed URL's query carries credentials: log only its path.
fn redact(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            response_url: reqwest::Url::parse("http://127.0.0.1/x").unwrap(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/0f0e".into(),
            request_id: "r-1".into(),
            logical_resource_id: "Targets".into(),
            physical_resource_id: None,
        }
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
    fn echoed_ids_longer_than_cloudformation_sends_are_refused() {
        let mut env = envelope();
        env.stack_id = "s".repeat(3000);
        assert_eq!(env.oversized_field(), Some("StackId"));
    }

    #[test]
    fn only_http_urls_with_a_host_can_carry_a_response() {
        for good in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=s",
            "http://127.0.0.1:8080/x",
        ] {
            assert!(response_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "not a url",
            "file:///etc/passwd",
            "mailto:cfn@example.com",
            "data:text/plain,x",
            "https://bucket.s3.amazonaws.com/x\u{1}y",
            "https://bucket.s3.amazonaws.com/x\ny",
            "https://",
        ] {
            assert!(
                matches!(response_url(bad), Err(ProtocolError::NoResponseUrl(_))),
                "{bad:?}"
            );
        }
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
        let url = reqwest::Url::parse("https://b.s3/x?X-Amz-Signature=s").unwrap();
        assert_eq!(redact(&url), "https://b.s3/x");
    }
}
