//! CloudFormation resource properties.
//!
//! CloudFormation passes every scalar property as a string (`"443"`, `"true"`),
//! while lists stay lists of strings. These accessors accept both the string
//! and the native JSON form, and every error names the property.

use serde_json::{Map, Value};
use std::fmt;

/// A property that is missing or malformed. Its message names the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property {property}: {problem}")]
pub struct PropertyError {
    pub property: String,
    pub problem: String,
}

impl PropertyError {
    pub fn new(property: &str, problem: impl fmt::Display) -> Self {
        Self {
            property: property.to_owned(),
            problem: problem.to_string(),
        }
    }
}

/// The longest excerpt of an offending value quoted back in an error.
const QUOTE_LIMIT: usize = 64;

/// Quotes a value for an error message, cut so that a 1 MB string stays short.
pub fn quote(value: &str) -> String {
    format!("{:?}", excerpt(value))
}

/// The start of a value, cut to a length an error message can carry.
pub fn excerpt(value: &str) -> String {
    let mut cut: String = value.chars().take(QUOTE_LIMIT).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    cut
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The `ResourceProperties` (or `OldResourceProperties`) of a request.
#[derive(Debug, Clone, Copy)]
pub struct Properties<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Properties<'a> {
    /// Reads the properties object; `null` or absent means no properties.
    pub fn new(value: &'a Value) -> Result<Self, PropertyError> {
        match value {
            Value::Object(map) => Ok(Self { map: Some(map) }),
            Value::Null => Ok(Self { map: None }),
            other => Err(PropertyError::new(
                "ResourceProperties",
                format!("must be an object, got {}", describe(other)),
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    pub fn required_str(&self, name: &str) -> Result<&'a str, PropertyError> {
        self.optional_str(name)?
            .ok_or_else(|| PropertyError::new(name, "is required"))
    }

    /// An optional string; an empty string counts as absent, since templates
    /// often pass `""` for "not set".
    pub fn optional_str(&self, name: &str) -> Result<Option<&'a str>, PropertyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(PropertyError::new(
                name,
                format!("must be a string, got {}", describe(other)),
            )),
        }
    }

    /// A port number, as a number or a numeric string.
    pub fn port_or(&self, name: &str, default: u16) -> Result<u16, PropertyError> {
        self.number_in(name, 1, u64::from(u16::MAX))?
            .map_or(Ok(default), |n| {
                u16::try_from(n).map_err(|_| PropertyError::new(name, "is out of range"))
            })
    }

    /// A whole number within `min..=max`, as a number or a numeric string.
    pub fn number_in(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, PropertyError> {
        let bad = |got: &Value| {
            PropertyError::new(
                name,
                format!(
                    "must be a whole number from {min} to {max}, got {}",
                    describe(got)
                ),
            )
        };
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let number = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(value)),
        }
    }

    /// A boolean, as `true`/`false` or their strings in any case.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, PropertyError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.is_empty() => Ok(default),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(PropertyError::new(
                name,
                format!("must be true or false, got {}", describe(other)),
            )),
        }
    }

    /// A list of non-empty strings. A single comma-separated string is read as
    /// a list too, as `!Join` or a `CommaDelimitedList` parameter may give.
    pub fn string_list(&self, name: &str) -> Result<Vec<&'a str>, PropertyError> {
        let items: Vec<&'a str> = match self.get(name) {
            None => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(str::trim).collect(),
            Some(Value::Array(values)) => values
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim()),
                    other => Err(PropertyError::new(
                        name,
                        format!(
                            "must be a list of strings, got an item that is {}",
                            describe(other)
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => Err(PropertyError::new(
                name,
                format!("must be a list of strings, got {}", describe(other)),
            ))?,
        };
        if items.iter().any(|s| s.is_empty()) {
            return Err(PropertyError::new(name, "has an empty item"));
        }
        Ok(items)
    }
}

/// Checks an EC2 id such as `vpce-0123456789abcdef0`: the prefix, then 8 or 17
/// lowercase hex digits.
pub fn ec2_id<'a>(property: &str, prefix: &str, value: &'a str) -> Result<&'a str, PropertyError> {
    let ok = value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if ok {
        Ok(value)
    } else {
        Err(PropertyError::new(
            property,
            format!(
                "must be an id like {prefix}-0123456789abcdef0, got {}",
                quote(value)
            ),
        ))
    }
}

/// Checks an ELBv2 target-group ARN:
/// `arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>`.
pub fn target_group_arn<'a>(property: &str, value: &'a str) -> Result<&'a str, PropertyError> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let well_formed = match parts.as_slice() {
        [
            "arn",
            partition,
            "elasticloadbalancing",
            region,
            account,
            resource,
        ] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("targetgroup/")
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(name, id)| {
                        !name.is_empty()
                            && !id.is_empty()
                            && id.bytes().all(|b| b.is_ascii_hexdigit())
                    })
        }
        _ => false,
    };
    if well_formed {
        Ok(value)
    } else {
        Err(PropertyError::new(
            property,
            format!(
                "must hold target-group ARNs like arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>, got {}",
                quote(value)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_booleans_arrive_as_strings() {
        let v = json!({"Port": "8443", "Flag": "TRUE", "Off": "false", "N": 7, "B": true});
        let p = Properties::new(&v).unwrap();
        assert_eq!(p.port_or("Port", 443).unwrap(), 8443);
        assert_eq!(p.port_or("Missing", 443).unwrap(), 443);
        assert!(p.bool_or("Flag", false).unwrap());
        assert!(!p.bool_or("Off", true).unwrap());
        assert!(p.bool_or("B", false).unwrap());
        assert_eq!(p.number_in("N", 1, 10).unwrap(), Some(7));
    }

    #[test]
    fn bad_values_name_the_property() {
        let v = json!({"Port": "0", "Other": "x443", "Flag": "yes", "List": [1], "S": {"a": 1}});
        let p = Properties::new(&v).unwrap();
        for err in [
            p.port_or("Port", 443).unwrap_err(),
            p.port_or("Other", 443).unwrap_err(),
            p.bool_or("Flag", true).unwrap_err(),
            p.string_list("List").unwrap_err(),
            p.required_str("S").unwrap_err(),
            p.required_str("Absent").unwrap_err(),
        ] {
            assert!(err.to_string().starts_with("property "), "{err}");
        }
        assert_eq!(p.port_or("Port", 443).unwrap_err().property, "Port");
        assert_eq!(
            p.required_str("Absent").unwrap_err().to_string(),
            "property Absent: is required"
        );
    }

    #[test]
    fn lists_accept_a_comma_string() {
        let v = json!({"A": ["x", "y"], "B": "x, y", "C": ["x", ""]});
        let p = Properties::new(&v).unwrap();
        assert_eq!(p.string_list("A").unwrap(), ["x", "y"]);
        assert_eq!(p.string_list("B").unwrap(), ["x", "y"]);
        assert!(p.string_list("C").is_err());
    }

    #[test]
    fn long_values_are_cut_when_quoted() {
        let long = "a".repeat(1_000_000);
        let err = ec2_id("VpcEndpointId", "vpce", &long).unwrap_err();
        assert!(err.to_string().len() < 200);
    }

    #[test]
    fn ids_and_arns_are_checked_by_shape() {
        assert!(ec2_id("X", "vpce", "vpce-0123456789abcdef0").is_ok());
        assert!(ec2_id("X", "vpce", "vpce-01234567").is_ok());
        assert!(ec2_id("X", "vpce", "sg-0123456789abcdef0").is_err());
        assert!(ec2_id("X", "vpce", "vpce-0123456789ABCDEF0").is_err());
        let arn =
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";
        assert!(target_group_arn("X", arn).is_ok());
        assert!(target_group_arn("X", &arn.replace("targetgroup", "loadbalancer/app")).is_err());
        assert!(target_group_arn("X", &arn.replace("elasticloadbalancing", "ec2")).is_err());
        assert!(target_group_arn("X", &arn.replace("123456789012", "1234")).is_err());
    }
}
