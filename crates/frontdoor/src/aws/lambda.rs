//! [`Observer`] on Lambda's `Invoke` (the operator CLI): health-probe's
//! `observe` request, synchronously. With `AWS_ENDPOINT_URL_LAMBDA` the same
//! call reaches a local emulator (`make demo`).

use super::sdk_error;
use crate::observe::{OBSERVE, Observation, ObserveRequest};
use crate::ports::{AwsError, Observer};
use aws_sdk_lambda::primitives::Blob;

const INVOKE: &str = "Invoke";

/// [`Observer`] on Lambda (`lambda:InvokeFunction` on the observer only).
#[derive(Debug, Clone)]
pub struct LambdaObserver {
    client: aws_sdk_lambda::Client,
}

impl LambdaObserver {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

fn invalid(message: String) -> AwsError {
    AwsError {
        operation: INVOKE,
        code: None,
        message,
    }
}

impl Observer for LambdaObserver {
    async fn observe(
        &self,
        function: &str,
        request: &ObserveRequest,
    ) -> Result<Observation, AwsError> {
        let payload = serde_json::to_vec(&serde_json::json!({ OBSERVE: request }))
            .map_err(|e| invalid(e.to_string()))?;
        let output = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| sdk_error(INVOKE, e))?;
        let body = output.payload().map(Blob::as_ref).unwrap_or_default();
        // A function error is a 200 with FunctionError set and the error as the payload.
        if let Some(kind) = output.function_error() {
            return Err(AwsError {
                operation: INVOKE,
                code: Some(kind.to_owned()),
                message: String::from_utf8_lossy(body).into_owned(),
            });
        }
        serde_json::from_slice(body)
            .map_err(|e| invalid(format!("{function} answered no observation: {e}")))
    }
}
