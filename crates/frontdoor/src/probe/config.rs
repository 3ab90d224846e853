//! The probe's configuration, read from the environment once at initialisation.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::status::ExpectedStatus;

pub const PROBE_URL: &str = "PROBE_URL";
pub const PROBE_EXPECTED_STATUS: &str = "PROBE_EXPECTED_STATUS";
pub const PROBE_TIMEOUT_MS: &str = "PROBE_TIMEOUT_MS";
pub const PROBE_ATTEMPTS: &str = "PROBE_ATTEMPTS";
pub const PROBE_CONNECT_TO: &str = "PROBE_CONNECT_TO";
pub const PROBE_CA_BUNDLE: &str = "PROBE_CA_BUNDLE";
pub const METRIC_NAMESPACE: &str = "METRIC_NAMESPACE";
pub const PROBE_NAME: &str = "PROBE_NAME";
/// The longest host name DNS allows.
const MAX_HOST_NAME_LEN: usize = 253;

const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3000);
const DEFAULT_ATTEMPTS: u32 = 2;
const DEFAULT_NAMESPACE: &str = "Frontdoor";
/// CloudWatch's limits on a namespace and on a dimension value.
const MAX_NAMESPACE_LEN: usize = 255;
const MAX_DIMENSION_VALUE_LEN: usize = 1024;

/// A fault of the probe itself: the function cannot start, and says which
/// variable is to blame.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required")]
    Missing { var: &'static str },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("cannot build the HTTPS client: {0}")]
    HttpClient(String),
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, reason: impl ToString) -> Self {
        Self::Invalid {
            var,
            reason: reason.to_string(),
        }
    }

    /// The variable at fault, if one is.
    pub fn var(&self) -> Option<&'static str> {
        match self {
            Self::Missing { var } | Self::Invalid { var, .. } => Some(var),
            Self::HttpClient(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeConfig {
    /// An `https://` URL (which always has a host).
    pub url: Url,
    pub expected_status: ExpectedStatus,
    /// The limit of one attempt, from the start of the connection to the response headers.
    pub timeout: Duration,
    /// At least 1.
    pub attempts: u32,
    /// Addresses to connect to instead of resolving the URL's host; empty to resolve it.
    pub connect_to: Vec<IpAddr>,
    /// A PEM file of roots trusted on top of the system's.
    pub ca_bundle: Option<PathBuf>,
    pub namespace: String,
    /// The value of the `Probe` dimension.
    pub probe_name: String,
}

impl ProbeConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A value that is not Unicode is passed on lossily, so that it fails its
        // parse with the variable's name rather than reading as unset.
        Self::from_lookup(|var| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads the variables through `lookup`. An empty value counts as unset, because
    /// templates often pass `""` for an optional parameter left out.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|value| !value.trim().is_empty());

        let url_text = get(PROBE_URL).ok_or(ConfigError::Missing { var: PROBE_URL })?;
        let url = Url::parse(url_text.trim()).map_err(|e| ConfigError::invalid(PROBE_URL, e))?;
        let expected_status = match get(PROBE_EXPECTED_STATUS) {
            Some(list) => list
                .parse()
                .map_err(|e| ConfigError::invalid(PROBE_EXPECTED_STATUS, e))?,
            None => ExpectedStatus::default(),
        };
        let timeout = match get(PROBE_TIMEOUT_MS) {
            Some(ms) => Duration::from_millis(parse_number(PROBE_TIMEOUT_MS, &ms)?),
            None => DEFAULT_TIMEOUT,
        };
        let attempts = match get(PROBE_ATTEMPTS) {
            Some(n) => parse_number(PROBE_ATTEMPTS, &n)?,
            None => DEFAULT_ATTEMPTS,
        };
        let connect_to = match get(PROBE_CONNECT_TO) {
            Some(list) => parse_addresses(&list)?,
            None => Vec::new(),
        };
        let probe_name = match get(PROBE_NAME) {
            Some(name) => name.trim().to_owned(),
            None => url.host_str().unwrap_or_default().to_owned(),
        };

        let config = Self {
            url,
            expected_status,
            timeout,
            attempts,
            connect_to,
            ca_bundle: get(PROBE_CA_BUNDLE).map(|path| PathBuf::from(path.trim())),
            namespace: get(METRIC_NAMESPACE)
                .map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |ns| ns.trim().to_owned()),
            probe_name,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what the field types alone do not, for configurations built in code too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.url.scheme() != "https" {
            return Err(ConfigError::invalid(
                PROBE_URL,
                format!("`{}` is not an https:// URL", self.url),
            ));
        }
        if !self.connect_to.is_empty() && self.url.domain().is_none() {
            // A literal address in the URL is never resolved, so there would be
            // nothing for the connect-to addresses to replace.
            return Err(ConfigError::invalid(
                PROBE_CONNECT_TO,
                "needs a host name, not an address, in PROBE_URL",
            ));
        }
        if self
            .url
            .host_str()
            .is_some_and(|host| host.len() > MAX_HOST_NAME_LEN)
        {
            // Also keeps the default PROBE_NAME (the host) from being blamed.
            return Err(ConfigError::invalid(
                PROBE_URL,
                format!("its host is longer than the {MAX_HOST_NAME_LEN} characters DNS allows"),
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(PROBE_TIMEOUT_MS, "must be at least 1"));
        }
        if self.attempts == 0 {
            return Err(ConfigError::invalid(PROBE_ATTEMPTS, "must be at least 1"));
        }
        validate_namespace(&self.namespace)?;
        if self.probe_name.trim().is_empty()
            || self.probe_name.chars().count() > MAX_DIMENSION_VALUE_LEN
        {
            return Err(ConfigError::invalid(
                PROBE_NAME,
                format!("must be 1 to {MAX_DIMENSION_VALUE_LEN} characters, not blank"),
            ));
        }
        Ok(())
    }
}

fn parse_number<T: std::str::FromStr>(var: &'static str, text: &str) -> Result<T, ConfigError> {
    let text = text.trim();
    text.parse()
        .map_err(|_| ConfigError::invalid(var, format!("`{text}` is not a whole number in range")))
}

fn parse_addresses(list: &str) -> Result<Vec<IpAddr>, ConfigError> {
    let mut seen = HashSet::new();
    let mut addresses = Vec::new();
    for item in list.split(',').map(str::trim) {
        let address: IpAddr = item.parse().map_err(|_| {
            ConfigError::invalid(PROBE_CONNECT_TO, format!("`{item}` is not an IP address"))
        })?;
        if !seen.insert(address) {
            return Err(ConfigError::invalid(
                PROBE_CONNECT_TO,
                format!("{address} is listed twice"),
            ));
        }
        addresses.push(address);
    }
    Ok(addresses)
}

/// CloudWatch's rules: up to 255 of `0-9A-Za-z.-_/#: `, and `AWS/` is reserved.
fn validate_namespace(namespace: &str) -> Result<(), ConfigError> {
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
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<ProbeConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProbeConfig::from_lookup(|var| vars.get(var).cloned())
    }

    fn failing_var(vars: &[(&str, &str)]) -> Option<&'static str> {
        config(vars).err().and_then(|e| e.var())
    }

    #[test]
    fn defaults() {
        let config = config(&[(PROBE_URL, "https://api.example.com/health")]).expect("valid");
        assert_eq!(config.url.as_str(), "https://api.example.com/health");
        assert_eq!(config.expected_status, ExpectedStatus::default());
        assert_eq!(config.timeout, Duration::from_millis(3000));
        assert_eq!(config.attempts, 2);
        assert!(config.connect_to.is_empty());
        assert_eq!(config.ca_bundle, None);
        assert_eq!(config.namespace, "Frontdoor");
        assert_eq!(config.probe_name, "api.example.com");
    }

    #[test]
    fn every_variable_is_read() {
        let config = config(&[
            (PROBE_URL, "https://api.example.com:8443/health"),
            (PROBE_EXPECTED_STATUS, "200-299,403"),
            (PROBE_TIMEOUT_MS, "1500"),
            (PROBE_ATTEMPTS, "3"),
            (PROBE_CONNECT_TO, "10.0.1.5, 10.0.2.5,fd00::1"),
            (PROBE_CA_BUNDLE, "/opt/ca.pem"),
            (METRIC_NAMESPACE, "Team/Api"),
            (PROBE_NAME, "eu-west-1"),
        ])
        .expect("valid");
        assert!(config.expected_status.contains(403));
        assert!(config.expected_status.contains(204));
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(config.attempts, 3);
        let addresses: Vec<String> = config.connect_to.iter().map(ToString::to_string).collect();
        assert_eq!(addresses, ["10.0.1.5", "10.0.2.5", "fd00::1"]);
        assert_eq!(config.ca_bundle, Some(PathBuf::from("/opt/ca.pem")));
        assert_eq!(config.namespace, "Team/Api");
        assert_eq!(config.probe_name, "eu-west-1");
    }

    #[test]
    fn empty_optional_values_mean_the_default() {
        let config = config(&[
            (PROBE_URL, "https://api.example.com/"),
            (PROBE_CONNECT_TO, ""),
            (PROBE_CA_BUNDLE, " "),
            (PROBE_ATTEMPTS, ""),
        ])
        .expect("valid");
        assert!(config.connect_to.is_empty());
        assert_eq!(config.ca_bundle, None);
        assert_eq!(config.attempts, 2);
    }

    #[test]
    fn each_error_names_its_variable() {
        let url = (PROBE_URL, "https://api.example.com/health");
        assert_eq!(failing_var(&[]), Some(PROBE_URL));
        assert_eq!(failing_var(&[(PROBE_URL, "")]), Some(PROBE_URL));
        assert_eq!(
            failing_var(&[(PROBE_URL, "http://api.example.com/")]),
            Some(PROBE_URL)
        );
        assert_eq!(failing_var(&[(PROBE_URL, "not a url")]), Some(PROBE_URL));
        assert_eq!(
            failing_var(&[url, (PROBE_EXPECTED_STATUS, "2xx")]),
            Some(PROBE_EXPECTED_STATUS)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_TIMEOUT_MS, "0")]),
            Some(PROBE_TIMEOUT_MS)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_TIMEOUT_MS, "-5")]),
            Some(PROBE_TIMEOUT_MS)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_ATTEMPTS, "0")]),
            Some(PROBE_ATTEMPTS)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_ATTEMPTS, "two")]),
            Some(PROBE_ATTEMPTS)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_CONNECT_TO, "10.0.0.1,api")]),
            Some(PROBE_CONNECT_TO)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_CONNECT_TO, "10.0.0.1,")]),
            Some(PROBE_CONNECT_TO)
        );
        assert_eq!(
            failing_var(&[url, (PROBE_CONNECT_TO, "10.0.0.1,10.0.0.1")]),
            Some(PROBE_CONNECT_TO)
        );
        assert_eq!(
            failing_var(&[
                (PROBE_URL, "https://10.0.0.9/health"),
                (PROBE_CONNECT_TO, "10.0.0.1")
            ]),
            Some(PROBE_CONNECT_TO)
        );
        assert_eq!(
            failing_var(&[url, (METRIC_NAMESPACE, "AWS/ApiGateway")]),
            Some(METRIC_NAMESPACE)
        );
        assert_eq!(
            failing_var(&[url, (METRIC_NAMESPACE, "bad*name")]),
            Some(METRIC_NAMESPACE)
        );
        let long_name = "x".repeat(1025);
        assert_eq!(
            failing_var(&[url, (PROBE_NAME, &long_name)]),
            Some(PROBE_NAME)
        );
    }

    #[test]
    fn the_message_names_the_variable() {
        let error = config(&[
            (PROBE_URL, "https://api.example.com/"),
            (PROBE_ATTEMPTS, "many"),
        ])
        .expect_err("invalid");
        let message = error.to_string();
        assert!(message.contains("PROBE_ATTEMPTS"), "{message}");
        assert!(message.contains("many"), "{message}");
    }

    proptest! {
        #[test]
        fn any_timeout_in_ms_is_read_exactly(ms in 1u64..=u64::from(u32::MAX)) {
            let config = config(&[(PROBE_URL, "https://api.example.com/"), (PROBE_TIMEOUT_MS, &ms.to_string())])
                .expect("valid");
            prop_assert_eq!(config.timeout, Duration::from_millis(ms));
        }

        #[test]
        fn any_value_either_parses_or_names_its_variable(value in "\\PC{0,20}") {
            for var in [PROBE_EXPECTED_STATUS, PROBE_TIMEOUT_MS, PROBE_ATTEMPTS, PROBE_CONNECT_TO, METRIC_NAMESPACE, PROBE_NAME] {
                if let Err(error) = config(&[(PROBE_URL, "https://api.example.com/"), (var, &value)]) {
                    prop_assert_eq!(error.var(), Some(var));
                }
            }
        }
    }
}
