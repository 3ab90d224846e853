//! The properties of `Custom::EndpointTargets`, and the `Data` it answers.

use crate::cfn::Data;
use crate::cfn::props::{self, Properties, PropertyError};
use serde_json::Value;

pub const MAX_TARGET_GROUPS: usize = 5;
const DEFAULT_PORT: u16 = 443;

/// The resource properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTargetsProps {
    pub vpc_endpoint_id: String,
    pub target_group_arns: Vec<String>,
    pub port: u16,
}

impl EndpointTargetsProps {
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Properties::new(value)?;
        let vpc_endpoint_id = props::ec2_id(
            "VpcEndpointId",
            "vpce",
            props.required_str("VpcEndpointId")?,
        )?;
        let arns = props.string_list("TargetGroupArns")?;
        if arns.is_empty() || arns.len() > MAX_TARGET_GROUPS {
            return Err(PropertyError::new(
                "TargetGroupArns",
                format!(
                    "must list 1 to {MAX_TARGET_GROUPS} target-group ARNs, got {}",
                    arns.len()
                ),
            ));
        }
        let mut target_group_arns = Vec::with_capacity(arns.len());
        for arn in arns {
            let arn = props::target_group_arn("TargetGroupArns", arn)?.to_owned();
            if !target_group_arns.contains(&arn) {
                target_group_arns.push(arn);
            }
        }
        Ok(Self {
            vpc_endpoint_id: vpc_endpoint_id.to_owned(),
            target_group_arns,
            port: props.port_or("Port", DEFAULT_PORT)?,
        })
    }
}

/// The `Data` of a response: `Ips`, `IpCount` and `IP0…IPn`.
pub fn ip_data(ips: &[String]) -> Data {
    let mut data: Data = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| (format!("IP{i}"), ip.clone()))
        .collect();
    data.insert("Ips".into(), ips.join(","));
    data.insert("IpCount".into(), ips.len().to_string());
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    #[test]
    fn data_lists_every_ip_in_order() {
        let data = ip_data(&["10.0.0.3".into(), "10.0.0.20".into(), "10.0.1.5".into()]);
        assert_eq!(data["IP0"], "10.0.0.3");
        assert_eq!(data["IP2"], "10.0.1.5");
        assert_eq!(data["IpCount"], "3");
        assert_eq!(data["Ips"], "10.0.0.3,10.0.0.20,10.0.1.5");
    }

    #[test]
    fn properties_accept_strings_and_reject_bad_input() {
        let p = EndpointTargetsProps::parse(&json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "VpcEndpointId": "vpce-0123456789abcdef0",
            "TargetGroupArns": [ARN, ARN],
            "Port": "8443"
        }))
        .unwrap();
        assert_eq!(p.port, 8443);
        assert_eq!(p.target_group_arns, [ARN]);

        let cases = [
            (json!({"TargetGroupArns": [ARN]}), "VpcEndpointId"),
            (
                json!({"VpcEndpointId": "vpc-123", "TargetGroupArns": [ARN]}),
                "VpcEndpointId",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": []}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN, ARN, ARN, ARN, ARN, ARN]}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": ["arn:aws:s3:::b"]}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN], "Port": "70000"}),
                "Port",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN], "Port": true}),
                "Port",
            ),
        ];
        for (value, field) in cases {
            assert_eq!(
                EndpointTargetsProps::parse(&value).unwrap_err().property,
                field,
                "{value}"
            );
        }
    }
}
