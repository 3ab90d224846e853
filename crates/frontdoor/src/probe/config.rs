//! The probe's configuration, read from the environment once at initialisation.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use super::status::ExpectedStatus;
use crate::config::{self, ConfigError, DEFAULT_NAMESPACE, METRIC_NAMESPACE};

pub const PROBE_URL: &str = "PROBE_URL";
pub const PROBE_EXPECTED_STATUS: &str = "PROBE_EXPECTED_STATUS";
pub const PROBE_TIMEOUT_MS: &str = "PROBE_TIMEOUT_MS";
pub const PROBE_ATTEMPTS: &str = "PROBE_ATTEMPTS";
pub const PROBE_CONNECT_TO: &str = "PROBE_CONNECT_TO";
pub const PROBE_CA_BUNDLE: &str = "PROBE_CA_BUNDLE";
pub const PROBE_CLIENT_CERT_FILE: &str = "PROBE_CLIENT_CERT_FILE";
pub const PROBE_CLIENT_CERT_SECRET: &str = "PROBE_CLIENT_CERT_SECRET";
pub const PROBE_NAME: &str = "PROBE_NAME";

const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3000);
const DEFAULT_ATTEMPTS: u32 = 2;
/// CloudWatch's limit on a dimension value.
const MAX_DIMENSION_VALUE_LEN: usize = 1024;

/// Why a client certificate (file or secret) cannot be used. The messages never
/// quote the PEM, which holds the private key.
#[derive(Debug, thiserror::Error)]
pub enum ClientCertError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot read the secret: {0}")]
    Fetch(#[from] crate::ports::AwsError),
    #[error("the PEM is malformed")]
    MalformedPem,
    #[error("the PEM holds no certificate")]
    NoCertificate,
    #[error("the PEM holds no private key")]
    NoPrivateKey,
    #[error("the certificate cannot be parsed: {0}")]
    BadCertificate(String),
    #[error("the private key cannot be used: {0}")]
    BadKey(String),
    #[error("the private key does not match the certificate")]
    KeyMismatch,
}

/// One entry of `PROBE_CONNECT_TO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConnectTo {
    Address(IpAddr),
    /// Resolved on every run, so that a load balancer's changing addresses are
    /// followed; every address it yields is probed.
    Name(String),
}

impl FromStr for ConnectTo {
    type Err = String;

    fn from_str(item: &str) -> Result<Self, Self::Err> {
        let item = item.trim();
        if let Ok(address) = item.parse() {
            Ok(Self::Address(address))
        } else {
            crate::dns::host_name(item)
                .map(|name| Self::Name(name.to_ascii()))
                .map_err(|why| format!("`{item}` is neither an IP address nor a host name ({why})"))
        }
    }
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(address) => address.fmt(f),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// Where the client certificate (chain and private key, as PEM) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCertSource {
    /// `PROBE_CLIENT_CERT_FILE`: read once, at initialisation.
    File(PathBuf),
    /// `PROBE_CLIENT_CERT_SECRET`: an ARN or name, read at initialisation and
    /// again once the copy in hand is 15 minutes old.
    Secret(String),
}

impl ClientCertSource {
    /// The variable it was read from, for error messages.
    pub fn var(&self) -> &'static str {
        match self {
            Self::File(_) => PROBE_CLIENT_CERT_FILE,
            Self::Secret(_) => PROBE_CLIENT_CERT_SECRET,
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
    /// Addresses and host names to connect to instead of resolving the URL's
    /// host; empty to resolve it. SNI and `Host` stay the URL's host.
    pub connect_to: Vec<ConnectTo>,
    /// A PEM file of roots trusted on top of the system's.
    pub ca_bundle: Option<PathBuf>,
    /// The client certificate presented when a server asks for one (mutual TLS).
    pub client_cert: Option<ClientCertSource>,
    pub namespace: String,
    /// The value of the `Probe` dimension.
    pub probe_name: String,
}

impl ProbeConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(config::var)
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
            Some(ms) => Duration::from_millis(config::number(PROBE_TIMEOUT_MS, &ms)?),
            None => DEFAULT_TIMEOUT,
        };
        let attempts = match get(PROBE_ATTEMPTS) {
            Some(n) => config::number(PROBE_ATTEMPTS, &n)?,
            None => DEFAULT_ATTEMPTS,
        };
        let connect_to = match get(PROBE_CONNECT_TO) {
            Some(list) => parse_addresses(&list)?,
            None => Vec::new(),
        };
        let client_cert = match (get(PROBE_CLIENT_CERT_FILE), get(PROBE_CLIENT_CERT_SECRET)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    first: PROBE_CLIENT_CERT_FILE,
                    second: PROBE_CLIENT_CERT_SECRET,
                });
            }
            (Some(path), None) => Some(ClientCertSource::File(PathBuf::from(path.trim()))),
            (None, Some(secret)) => Some(ClientCertSource::Secret(secret.trim().to_owned())),
            (None, None) => None,
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
            client_cert,
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
        if let Some(domain) = self.url.domain() {
            // Also keeps the default PROBE_NAME (the host) from being blamed.
            crate::dns::host_name(domain).map_err(|why| ConfigError::invalid(PROBE_URL, why))?;
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(PROBE_TIMEOUT_MS, "must be at least 1"));
        }
        if self.attempts == 0 {
            return Err(ConfigError::invalid(PROBE_ATTEMPTS, "must be at least 1"));
        }
        config::check_namespace(&self.namespace)?;
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

fn parse_addresses(list: &str) -> Result<Vec<ConnectTo>, ConfigError> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for item in list.split(',') {
        let entry: ConnectTo = item
            .parse()
            .map_err(|reason| ConfigError::invalid(PROBE_CONNECT_TO, reason))?;
        if !seen.insert(entry.clone()) {
            return Err(ConfigError::invalid(
                PROBE_CONNECT_TO,
                format!("{entry} is listed twice"),
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
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
        assert_eq!(config.client_cert, None);
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
            failing_var(&[url, (PROBE_CONNECT_TO, "10.0.0.1,api/gw")]),
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

    fn connect_to(list: &str) -> Result<Vec<ConnectTo>, ConfigError> {
        config(&[
            (PROBE_URL, "https://api.example.com/"),
            (PROBE_CONNECT_TO, list),
        ])
        .map(|c| c.connect_to)
    }

    fn name(n: &str) -> ConnectTo {
        ConnectTo::Name(n.to_owned())
    }

    #[test]
    fn connect_to_takes_host_names() {
        assert_eq!(
            connect_to("internal-alb-1.eu-west-1.elb.amazonaws.com, localhost").expect("names"),
            [
                name("internal-alb-1.eu-west-1.elb.amazonaws.com"),
                name("localhost")
            ]
        );
        // Names are case-insensitive, kept in lower case; a final dot is allowed.
        assert_eq!(
            connect_to("ALB.Example.COM.").expect("name"),
            [name("alb.example.com.")]
        );
    }

    #[test]
    fn connect_to_mixes_names_and_addresses_in_order() {
        let entries = connect_to("10.0.1.5,alb.example.com,fd00::1").expect("mixed");
        assert_eq!(
            entries,
            [
                ConnectTo::Address("10.0.1.5".parse().expect("ip")),
                name("alb.example.com"),
                ConnectTo::Address("fd00::1".parse().expect("ip")),
            ]
        );
    }

    #[test]
    fn connect_to_refuses_duplicates_and_non_names() {
        for list in [
            "alb.example.com,alb.example.com",
            "alb.example.com,ALB.example.com",
            "10.0.0.1,alb.example.com,10.0.0.1",
            "alb.example.com,",
            "alb..example.com",
            "-alb.example.com",
            "alb/1.example.com",
            "*.example.com",
            "https://alb.example.com",
            "alb.example.com:443",
            "10.0.0.256",
            "1.2.3",
            &format!("{}.example.com", "a".repeat(64)),
        ] {
            let error = connect_to(list).expect_err(list);
            assert_eq!(error.var(), Some(PROBE_CONNECT_TO), "{list}: {error}");
        }
        let message = connect_to("alb.example.com,alb.example.com")
            .expect_err("duplicate")
            .to_string();
        assert!(
            message.contains("alb.example.com is listed twice"),
            "{message}"
        );
    }

    #[test]
    fn a_client_certificate_comes_from_a_file_or_a_secret() {
        let url = (PROBE_URL, "https://api.example.com/");
        let file = config(&[url, (PROBE_CLIENT_CERT_FILE, " /opt/probe.pem ")]).expect("file");
        assert_eq!(
            file.client_cert,
            Some(ClientCertSource::File(PathBuf::from("/opt/probe.pem")))
        );
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:probe-AbCdEf";
        let secret = config(&[url, (PROBE_CLIENT_CERT_SECRET, arn)]).expect("secret");
        assert_eq!(
            secret.client_cert,
            Some(ClientCertSource::Secret(arn.to_owned()))
        );
        // An empty value is unset, as for every optional variable.
        let neither = config(&[
            url,
            (PROBE_CLIENT_CERT_FILE, ""),
            (PROBE_CLIENT_CERT_SECRET, " "),
        ]);
        assert_eq!(neither.expect("unset").client_cert, None);
    }

    #[test]
    fn both_client_certificate_variables_are_refused_naming_both() {
        let error = config(&[
            (PROBE_URL, "https://api.example.com/"),
            (PROBE_CLIENT_CERT_FILE, "/opt/probe.pem"),
            (PROBE_CLIENT_CERT_SECRET, "probe-client-cert"),
        ])
        .expect_err("both set");
        assert!(
            matches!(
                error,
                ConfigError::Conflict {
                    first: PROBE_CLIENT_CERT_FILE,
                    second: PROBE_CLIENT_CERT_SECRET
                }
            ),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(PROBE_CLIENT_CERT_FILE) && message.contains(PROBE_CLIENT_CERT_SECRET),
            "{message}"
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
