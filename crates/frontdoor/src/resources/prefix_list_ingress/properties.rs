//! The properties of `Custom::PrefixListIngress`.

use crate::cfn::props::{self, Properties, PropertyError, quote};
use serde_json::Value;

pub const DEFAULT_PREFIX_LIST_NAME: &str = "com.amazonaws.global.cloudfront.origin-facing";
const DEFAULT_PORT: u16 = 443;
/// EC2's default of "Inbound or outbound rules per security group".
const DEFAULT_RULES_LIMIT: u64 = 60;
/// The largest value the quota can be raised to.
const MAX_RULES_LIMIT: u64 = 1000;

/// Where the prefix list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixListRef {
    Named(String),
    Id(String),
}

/// The resource properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListIngressProps {
    pub security_group_id: String,
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// `None` when `AllowPrefixList` is false.
    pub prefix_list: Option<PrefixListRef>,
    /// The VPC whose VPC Origins group to admit; `None` when `AllowVpcOrigin` is false.
    pub vpc_origin_vpc_id: Option<String>,
    pub rules_limit: u64,
}

impl PrefixListIngressProps {
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Properties::new(value)?;
        let security_group_id = props::ec2_id(
            "SecurityGroupId",
            "sg",
            props.required_str("SecurityGroupId")?,
        )?;
        let protocol = match props
            .optional_str("Protocol")?
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("tcp" | "6") => "tcp",
            Some("udp" | "17") => "udp",
            Some(other) => {
                return Err(PropertyError::new(
                    "Protocol",
                    format!("must be tcp or udp, got {}", quote(other)),
                ));
            }
        };
        let prefix_list = if props.bool_or("AllowPrefixList", true)? {
            Some(match props.optional_str("PrefixListId")? {
                Some(id) => PrefixListRef::Id(props::ec2_id("PrefixListId", "pl", id)?.to_owned()),
                None => PrefixListRef::Named(
                    props
                        .optional_str("PrefixListName")?
                        .unwrap_or(DEFAULT_PREFIX_LIST_NAME)
                        .to_owned(),
                ),
            })
        } else {
            None
        };
        let vpc_origin_vpc_id = if props.bool_or("AllowVpcOrigin", false)? {
            let vpc_id = props.optional_str("VpcId")?.ok_or_else(|| {
                PropertyError::new("VpcId", "is required when AllowVpcOrigin is true")
            })?;
            Some(props::ec2_id("VpcId", "vpc", vpc_id)?.to_owned())
        } else {
            None
        };
        Ok(Self {
            security_group_id: security_group_id.to_owned(),
            port: props.port_or("Port", DEFAULT_PORT)?,
            protocol: protocol.to_owned(),
            prefix_list,
            vpc_origin_vpc_id,
            rules_limit: props
                .number_in("RulesPerSecurityGroupLimit", 1, MAX_RULES_LIMIT)?
                .unwrap_or(DEFAULT_RULES_LIMIT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::SG;
    use serde_json::json;

    #[test]
    fn properties_have_defaults_and_accept_strings() {
        let p = PrefixListIngressProps::parse(
            &json!({"ServiceToken": "arn:aws:lambda:x", "SecurityGroupId": SG}),
        )
        .unwrap();
        assert_eq!(p.port, 443);
        assert_eq!(p.protocol, "tcp");
        assert_eq!(
            p.prefix_list,
            Some(PrefixListRef::Named(DEFAULT_PREFIX_LIST_NAME.into()))
        );
        assert_eq!(p.vpc_origin_vpc_id, None);
        assert_eq!(p.rules_limit, 60);

        let p = PrefixListIngressProps::parse(&json!({
            "SecurityGroupId": SG, "Port": "8443", "Protocol": "UDP", "AllowPrefixList": "false",
            "AllowVpcOrigin": "TRUE", "VpcId": "vpc-01234567", "RulesPerSecurityGroupLimit": "120"
        }))
        .unwrap();
        assert_eq!(
            (p.port, p.protocol.as_str(), p.rules_limit),
            (8443, "udp", 120)
        );
        assert_eq!(p.prefix_list, None);
        assert_eq!(p.vpc_origin_vpc_id.as_deref(), Some("vpc-01234567"));

        let p = PrefixListIngressProps::parse(&json!({
            "SecurityGroupId": SG, "PrefixListId": "pl-01234567", "PrefixListName": "ignored", "VpcId": "not-checked"
        }))
        .unwrap();
        assert_eq!(p.prefix_list, Some(PrefixListRef::Id("pl-01234567".into())));
        assert_eq!(
            p.vpc_origin_vpc_id, None,
            "VpcId matters only with AllowVpcOrigin"
        );
    }

    #[test]
    fn bad_properties_name_the_property() {
        let cases = [
            (json!({}), "SecurityGroupId"),
            (
                json!({"SecurityGroupId": "vpc-01234567"}),
                "SecurityGroupId",
            ),
            (json!({"SecurityGroupId": SG, "Port": "0"}), "Port"),
            (
                json!({"SecurityGroupId": SG, "Protocol": "icmp"}),
                "Protocol",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowPrefixList": "yes"}),
                "AllowPrefixList",
            ),
            (
                json!({"SecurityGroupId": SG, "PrefixListId": "sg-01234567"}),
                "PrefixListId",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowVpcOrigin": "true"}),
                "VpcId",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowVpcOrigin": true, "VpcId": "sg-01234567"}),
                "VpcId",
            ),
            (
                json!({"SecurityGroupId": SG, "RulesPerSecurityGroupLimit": "0"}),
                "RulesPerSecurityGroupLimit",
            ),
            (
                json!({"SecurityGroupId": SG, "RulesPerSecurityGroupLimit": "1001"}),
                "RulesPerSecurityGroupLimit",
            ),
        ];
        for (value, property) in cases {
            assert_eq!(
                PrefixListIngressProps::parse(&value).unwrap_err().property,
                property,
                "{value}"
            );
        }
    }
}
