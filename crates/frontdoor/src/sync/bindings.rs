//! `FRONTDOOR_BINDINGS`: which target groups hold which endpoint's IPs, or
//! which DNS name's addresses.

use crate::cfn::props;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// The environment variable that holds the bindings.
pub const BINDINGS_VAR: &str = "FRONTDOOR_BINDINGS";
const DEFAULT_PORT: u16 = 443;

/// One binding: these target groups hold, on this port, the addresses of
/// this source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(flatten)]
    pub source: Source,
    pub target_group_arns: Vec<String>,
    pub port: u16,
}

/// Where a binding's addresses come from; in the JSON, exactly one of
/// `vpcEndpointId` and `hostname`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// An interface VPC endpoint: its network interfaces' IPs.
    VpcEndpointId(String),
    /// A DNS name: its A records, or AAAA records for an `ipv6` group.
    Hostname(String),
}

impl Binding {
    /// The endpoint, for an endpoint binding.
    pub fn vpc_endpoint_id(&self) -> Option<&str> {
        match &self.source {
            Source::VpcEndpointId(id) => Some(id),
            Source::Hostname(_) => None,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::VpcEndpointId(id) => write!(f, "endpoint {id}"),
            Source::Hostname(name) => write!(f, "hostname {name}"),
        }
    }
}

/// Invalid `FRONTDOOR_BINDINGS`, naming the binding and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingsError {
    #[error("{BINDINGS_VAR} is not set")]
    Missing,
    #[error("{BINDINGS_VAR} is not a JSON array of bindings: {0}")]
    NotAnArray(String),
    #[error("{BINDINGS_VAR}[{index}].{field}: {problem}")]
    Binding {
        index: usize,
        field: String,
        problem: String,
    },
}

const FIELDS: [&str; 4] = ["vpcEndpointId", "hostname", "targetGroupArns", "port"];

/// Reads the bindings from `FRONTDOOR_BINDINGS`.
pub fn bindings_from_env() -> Result<Vec<Binding>, BindingsError> {
    parse_bindings(&std::env::var(BINDINGS_VAR).map_err(|_| BindingsError::Missing)?)
}

/// Parses and checks every binding; one bad binding rejects them all, so
/// that no run acts on half a configuration.
pub fn parse_bindings(text: &str) -> Result<Vec<Binding>, BindingsError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| BindingsError::NotAnArray(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(BindingsError::NotAnArray(
            "the top level is not an array".into(),
        ));
    };
    if items.is_empty() {
        return Err(BindingsError::NotAnArray(
            "the array is empty; list at least one binding".into(),
        ));
    }
    let bindings = items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_binding(index, item))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = BTreeSet::new();
    for (index, binding) in bindings.iter().enumerate() {
        for arn in &binding.target_group_arns {
            if !seen.insert((arn.as_str(), binding.port)) {
                return Err(BindingsError::Binding {
                    index,
                    field: "targetGroupArns".into(),
                    problem: format!(
                        "{arn} on port {} is already owned by another binding",
                        binding.port
                    ),
                });
            }
        }
    }
    Ok(bindings)
}

fn parse_binding(index: usize, item: &Value) -> Result<Binding, BindingsError> {
    let error = |field: &str, problem: String| BindingsError::Binding {
        index,
        field: field.to_owned(),
        problem,
    };
    let Value::Object(map) = item else {
        return Err(error("", "must be an object".into()));
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(error(
            &props::excerpt(unknown),
            format!("is not a field; the fields are {}", FIELDS.join(", ")),
        ));
    }
    // The same checks as the custom resource's properties, with the JSON names.
    let properties = props::Properties::new(item).map_err(|e| error("", e.problem))?;
    let rename = |e: props::PropertyError| error(&e.property, e.problem);
    let source = match (map.get("vpcEndpointId"), map.get("hostname")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(error(
                "vpcEndpointId",
                "give exactly one source: vpcEndpointId or hostname".into(),
            ));
        }
        (Some(_), None) => {
            let endpoint = properties.required_str("vpcEndpointId").map_err(rename)?;
            let endpoint = props::ec2_id("vpcEndpointId", "vpce", endpoint).map_err(rename)?;
            Source::VpcEndpointId(endpoint.to_owned())
        }
        (None, Some(_)) => {
            let name = properties.required_str("hostname").map_err(rename)?;
            Source::Hostname(hostname(name).map_err(|problem| error("hostname", problem))?)
        }
    };
    let arns = match map.get("targetGroupArns") {
        Some(Value::Array(_)) => properties.string_list("targetGroupArns").map_err(rename)?,
        _ => {
            return Err(error(
                "targetGroupArns",
                "must be a list of target-group ARNs".into(),
            ));
        }
    };
    if arns.is_empty() {
        return Err(error(
            "targetGroupArns",
            "must list at least one target-group ARN".into(),
        ));
    }
    let mut target_group_arns: Vec<String> = Vec::with_capacity(arns.len());
    for arn in arns {
        let arn = props::target_group_arn("targetGroupArns", arn).map_err(rename)?;
        if !target_group_arns.iter().any(|a| a == arn) {
            target_group_arns.push(arn.to_owned());
        }
    }
    Ok(Binding {
        source,
        target_group_arns,
        port: properties.port_or("port", DEFAULT_PORT).map_err(rename)?,
    })
}

/// A host name ([`crate::dns::host_name`]), lower-cased and without its
/// final dot; an IP literal is refused with its own reason.
fn hostname(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "`{name}` is an IP address; a hostname binding follows a DNS name"
        ));
    }
    let parsed = crate::dns::host_name(name)?;
    Ok(parsed.to_ascii().trim_end_matches('.').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    #[test]
    fn bindings_parse_with_a_default_port() {
        let text = json!([{"vpcEndpointId": "vpce-0123456789abcdef0", "targetGroupArns": [ARN]}])
            .to_string();
        let bindings = parse_bindings(&text).unwrap();
        assert_eq!(bindings[0].port, 443);
        assert_eq!(bindings[0].target_group_arns, [ARN]);
        assert_eq!(
            bindings[0].source,
            Source::VpcEndpointId("vpce-0123456789abcdef0".into())
        );
    }

    #[test]
    fn a_hostname_binding_parses_and_serializes_with_its_one_source() {
        let text =
            json!([{"hostname": "Api.OnPrem.Example.", "targetGroupArns": [ARN], "port": 8443}])
                .to_string();
        let bindings = parse_bindings(&text).unwrap();
        assert_eq!(
            bindings[0].source,
            Source::Hostname("api.onprem.example".into())
        );
        let back = serde_json::to_value(&bindings[0]).unwrap();
        assert_eq!(back["hostname"], "api.onprem.example");
        assert!(back.get("vpcEndpointId").is_none());
        assert_eq!(back["port"], 8443);
    }

    #[test]
    fn invalid_bindings_name_the_binding_and_the_field() {
        let good = json!({"vpcEndpointId": "vpce-0123456789abcdef0", "targetGroupArns": [ARN]});
        let cases = [
            (
                json!([good, {"targetGroupArns": [ARN]}]),
                "FRONTDOOR_BINDINGS[1].vpcEndpointId",
            ),
            (
                json!([{"vpcEndpointId": "vpc-1", "targetGroupArns": [ARN]}]),
                "[0].vpcEndpointId",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": []}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": ARN}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": ["arn:x"]}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": [ARN], "port": "x"}]),
                "[0].port",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": [ARN], "prot": 1}]),
                "[0].prot",
            ),
            (json!([good, good]), "[1].targetGroupArns"),
            (json!([7]), "[0]"),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "hostname": "a.example", "targetGroupArns": [ARN]}]),
                "[0].vpcEndpointId: give exactly one source",
            ),
            (
                json!([{"targetGroupArns": [ARN]}]),
                "[0].vpcEndpointId: give exactly one",
            ),
            (
                json!([{"hostname": "bad/name.example", "targetGroupArns": [ARN]}]),
                "[0].hostname",
            ),
            (
                json!([{"hostname": "10.1.2.3", "targetGroupArns": [ARN]}]),
                "[0].hostname: `10.1.2.3` is an IP address",
            ),
            (
                json!([{"hostname": "-a.example", "targetGroupArns": [ARN]}]),
                "[0].hostname",
            ),
            (
                json!([{"hostname": format!("{}.example", "a".repeat(64)), "targetGroupArns": [ARN]}]),
                "[0].hostname",
            ),
            (
                json!([{"hostname": 7, "targetGroupArns": [ARN]}]),
                "[0].hostname",
            ),
        ];
        for (value, needle) in cases {
            let err = parse_bindings(&value.to_string()).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
        assert!(matches!(
            parse_bindings("{}"),
            Err(BindingsError::NotAnArray(_))
        ));
        assert!(matches!(
            parse_bindings("not json"),
            Err(BindingsError::NotAnArray(_))
        ));
    }
}
