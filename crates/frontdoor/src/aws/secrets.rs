//! Read access to Secrets Manager, behind a port so that what reads secrets (the
//! probe's client certificate) is tested with a fake.

use futures_util::future::BoxFuture;

use super::AwsError;

const GET_SECRET_VALUE: &str = "GetSecretValue";

/// Reads the current `SecretString` of a secret.
///
/// Boxed futures keep the trait object-safe: the probe holds a store only when a
/// secret is configured, without a type parameter for that case.
pub trait SecretStore: Send + Sync {
    /// The secret's `SecretString`; a secret stored as binary is an error.
    fn secret_string<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, AwsError>>;
}

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
                .map_err(|e| AwsError::from_sdk(GET_SECRET_VALUE, e))?;
            output.secret_string.ok_or_else(|| AwsError {
                operation: GET_SECRET_VALUE,
                code: None,
                message: "the secret has no SecretString (binary secrets are not read)".to_owned(),
            })
        })
    }
}
