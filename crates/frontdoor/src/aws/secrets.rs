//! [`SecretStore`] on Secrets Manager: the probe's client certificate.

use super::sdk_error;
use crate::ports::{AwsError, SecretStore};
use futures_util::future::BoxFuture;

const GET_SECRET_VALUE: &str = "GetSecretValue";

/// [`SecretStore`] on Secrets Manager (`secretsmanager:GetSecretValue`).
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerStore {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

impl SecretStore for SecretsManagerStore {
    fn secret_string<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, AwsError>> {
        Box::pin(async move {
            let output = self
                .client
                .get_secret_value()
                .secret_id(secret_id)
                .send()
                .await
                .map_err(|e| sdk_error(GET_SECRET_VALUE, e))?;
            output.secret_string.ok_or_else(|| AwsError {
                operation: GET_SECRET_VALUE,
                code: None,
                message: "the secret has no SecretString (binary secrets are not read)".to_owned(),
            })
        })
    }
}
