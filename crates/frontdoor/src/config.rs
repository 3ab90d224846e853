//! Configuration from the environment, read once at initialisation. Every
//! variable is checked the same way: a value that does not parse is an
//! error naming the variable, never a silent default.

use crate::probe::ClientCertError;
use std::str::FromStr;

/// The CloudWatch namespace of the functions' EMF metrics.
pub const METRIC_NAMESPACE: &str = "METRIC_NAMESPACE";
pub const DEFAULT_NAMESPACE: &str = "Frontdoor";
/// CloudWatch's limit on a namespace.
const MAX_NAMESPACE_LEN: usize = 255;

/// A fault of a function's configuration: the function cannot start, and the
/// error names the variable to blame.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required")]
    Missing { var: &'static str },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{first} and {second} are both set; set one of them")]
    Conflict {
        first: &'static str,
        second: &'static str,
    },
    #[error("{var}: {error}")]
    ClientCertificate {
        var: &'static str,
        #[source]
        error: ClientCertError,
    },
    #[error("cannot build the HTTPS client: {0}")]
    HttpClient(String),
}

impl ConfigError {
    pub fn invalid(var: &'static str, reason: impl ToString) -> Self {
        Self::Invalid {
            var,
            reason: reason.to_string(),
        }
    }

    /// The variable at fault, if one is.
    pub fn var(&self) -> Option<&'static str> {
        match self {
            Self::Missing { var }
            | Self::Invalid { var, .. }
            | Self::ClientCertificate { var, .. } => Some(var),
            // Two variables are at fault; the message names both.
            Self::Conflict { .. } | Self::HttpClient(_) => None,
        }
    }
}

/// The HTTPS client's TLS configuration could not be made: no variable is
/// at fault.
impl From<crate::tls::TlsError> for ConfigError {
    fn from(error: crate::tls::TlsError) -> Self {
        Self::HttpClient(error.to_string())
    }
}

/// A variable of the process environment; an empty or blank value counts as
/// unset, because templates often pass `""` for an optional parameter. A
/// value that is not Unicode is passed on lossily, so that it fails its
/// parse with the variable's name rather than reading as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.trim().is_empty())
}

/// A number, or an error naming the variable.
pub fn number<T: FromStr>(var: &'static str, text: &str) -> Result<T, ConfigError> {
    let text = text.trim();
    text.parse()
        .map_err(|_| ConfigError::invalid(var, format!("`{text}` is not a whole number in range")))
}

/// `METRIC_NAMESPACE`, checked, or the default.
pub fn metric_namespace_from_env() -> Result<String, ConfigError> {
    let namespace = var(METRIC_NAMESPACE)
        .map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |ns| ns.trim().to_owned());
    check_namespace(&namespace)?;
    Ok(namespace)
}

/// CloudWatch's rules: up to 255 of `0-9A-Za-z.-_/#: `, and `AWS/` is reserved.
pub fn check_namespace(namespace: &str) -> Result<(), ConfigError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if namespace.is_empty()
        || namespace.len() > MAX_NAMESPACE_LEN
        || !namespace.chars().all(allowed)
    {
        return Err(ConfigError::invalid(
            METRIC_NAMESPACE,
            format!(
                "`{namespace}` must be 1 to {MAX_NAMESPACE_LEN} of 0-9A-Za-z . - _ / # : and space"
            ),
        ));
    }
    if namespace.starts_with("AWS/") {
        return Err(ConfigError::invalid(
            METRIC_NAMESPACE,
            "the AWS/ prefix is reserved for AWS",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_their_variable() {
        assert_eq!(number::<u64>("X", " 12 ").unwrap(), 12);
        assert!(matches!(
            number::<u64>("FRONTDOOR_FALLBACK_BUDGET_SECS", "soon"),
            Err(ConfigError::Invalid {
                var: "FRONTDOOR_FALLBACK_BUDGET_SECS",
                ..
            })
        ));
    }

    #[test]
    fn namespaces_follow_cloudwatch_rules() {
        assert!(check_namespace("Team/Api").is_ok());
        for bad in ["", "AWS/ApiGateway", "bad*name"] {
            assert!(matches!(
                check_namespace(bad),
                Err(ConfigError::Invalid {
                    var: METRIC_NAMESPACE,
                    ..
                })
            ));
        }
    }
}
