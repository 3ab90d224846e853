//! Security-group rules on EC2: the prefix lists and groups that ingress rules
//! reference, and the rules of one group.

use super::sdk_error;
use crate::model::{
    Authorized, Family, IngressRule, Permission, PrefixList, Reference, SecurityGroup, Source,
};
use crate::ports::{AwsError, SecurityGroupRules};
use aws_sdk_ec2::types::{
    Filter, IpPermission, PrefixListId, ResourceType, SecurityGroupRule, Tag, TagSpecification,
    UserIdGroupPair,
};
use std::collections::BTreeMap;

/// The name of the group that CloudFront creates in a VPC with its first VPC
/// origin there.
pub const VPC_ORIGINS_GROUP_NAME: &str = "CloudFront-VPCOrigins-Service-SG";

/// [`SecurityGroupRules`] on EC2.
#[derive(Debug, Clone)]
pub struct Ec2SecurityGroups {
    client: aws_sdk_ec2::Client,
}

impl Ec2SecurityGroups {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }

    async fn prefix_lists(
        &self,
        by_name: Option<Filter>,
        ids: Option<Vec<String>>,
    ) -> Result<Vec<PrefixList>, AwsError> {
        let pages: Vec<_> = self
            .client
            .describe_managed_prefix_lists()
            .set_filters(by_name.map(|f| vec![f]))
            .set_prefix_list_ids(ids)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut lists = Vec::new();
        for page in pages {
            let page = page.map_err(|e| sdk_error("DescribeManagedPrefixLists", e))?;
            lists.extend(page.prefix_lists().iter().map(|l| {
                PrefixList {
                    id: l.prefix_list_id().unwrap_or_default().to_owned(),
                    name: l.prefix_list_name().unwrap_or_default().to_owned(),
                    family: if l
                        .address_family()
                        .is_some_and(|f| f.eq_ignore_ascii_case("IPv6"))
                    {
                        Family::Ipv6
                    } else {
                        Family::Ipv4
                    },
                    max_entries: l.max_entries().and_then(|n| u32::try_from(n).ok()),
                    owner_id: l.owner_id().map(str::to_owned),
                }
            }));
        }
        Ok(lists)
    }
}

const GROUP_NOT_FOUND: &str = "InvalidGroup.NotFound";
const DUPLICATE: &str = "InvalidPermission.Duplicate";
/// Codes for a rule id that is not (or no longer) there.
const RULE_NOT_FOUND: [&str; 2] = [
    "InvalidPermission.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
];
/// Codes for a prefix-list id that does not exist; moto answers with an empty list.
const PREFIX_LIST_NOT_FOUND: [&str; 2] = [
    "InvalidPrefixListID.NotFound",
    "InvalidPrefixListId.NotFound",
];

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn ingress_rule(rule: &SecurityGroupRule) -> Option<IngressRule> {
    if rule.is_egress() != Some(false) {
        return None;
    }
    let source = if let Some(id) = rule.prefix_list_id() {
        Source::Reference(Reference::PrefixList(id.to_owned()))
    } else if let Some(id) = rule.referenced_group_info().and_then(|g| g.group_id()) {
        Source::Reference(Reference::Group(id.to_owned()))
    } else if rule.cidr_ipv6().is_some() {
        Source::Cidr(Family::Ipv6)
    } else {
        Source::Cidr(Family::Ipv4)
    };
    Some(IngressRule {
        id: rule.security_group_rule_id()?.to_owned(),
        protocol: rule.ip_protocol().unwrap_or_default().to_owned(),
        from_port: rule.from_port().unwrap_or(-1),
        to_port: rule.to_port().unwrap_or(-1),
        source,
        tags: rule
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    })
}

fn ip_permission(permission: &Permission, description: &str) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&permission.protocol)
        .from_port(i32::from(permission.port))
        .to_port(i32::from(permission.port));
    match &permission.source {
        Reference::PrefixList(id) => builder.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(id)
                .description(description)
                .build(),
        ),
        Reference::Group(id) => builder.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(id)
                .description(description)
                .build(),
        ),
    }
    .build()
}

impl SecurityGroupRules for Ec2SecurityGroups {
    async fn security_group(&self, group_id: &str) -> Result<Option<SecurityGroup>, AwsError> {
        let result = self
            .client
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecurityGroups", e));
        let output = match result {
            Err(err) if err.has_code(GROUP_NOT_FOUND) => return Ok(None),
            other => other?,
        };
        Ok(output
            .security_groups()
            .iter()
            .find(|g| g.group_id() == Some(group_id))
            .map(|g| SecurityGroup {
                id: group_id.to_owned(),
                name: g.group_name().unwrap_or_default().to_owned(),
                vpc_id: g.vpc_id().map(str::to_owned),
            }))
    }

    async fn vpc_origin_group(&self, vpc_id: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .describe_security_groups()
            .filters(filter("group-name", VPC_ORIGINS_GROUP_NAME))
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
        Ok(output
            .security_groups()
            .iter()
            .find(|g| g.vpc_id() == Some(vpc_id) && g.group_name() == Some(VPC_ORIGINS_GROUP_NAME))
            .and_then(|g| g.group_id())
            .map(str::to_owned))
    }

    async fn prefix_list_named(&self, name: &str) -> Result<Option<PrefixList>, AwsError> {
        let lists = self
            .prefix_lists(Some(filter("prefix-list-name", name)), None)
            .await?;
        Ok(lists.into_iter().find(|l| l.name == name))
    }

    async fn prefix_list(&self, prefix_list_id: &str) -> Result<Option<PrefixList>, AwsError> {
        match self
            .prefix_lists(None, Some(vec![prefix_list_id.to_owned()]))
            .await
        {
            Ok(lists) => Ok(lists.into_iter().find(|l| l.id == prefix_list_id)),
            Err(err) if PREFIX_LIST_NOT_FOUND.iter().any(|c| err.has_code(c)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn prefix_list_entry_count(&self, prefix_list_id: &str) -> Result<u32, AwsError> {
        let pages: Vec<_> = self
            .client
            .get_managed_prefix_list_entries()
            .prefix_list_id(prefix_list_id)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut count = 0usize;
        for page in pages {
            count += page
                .map_err(|e| sdk_error("GetManagedPrefixListEntries", e))?
                .entries()
                .len();
        }
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn ingress_rules(&self, group_id: &str) -> Result<Vec<IngressRule>, AwsError> {
        let pages: Vec<_> = self
            .client
            .describe_security_group_rules()
            .filters(filter("group-id", group_id))
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut rules = Vec::new();
        for page in pages {
            let page = page.map_err(|e| sdk_error("DescribeSecurityGroupRules", e))?;
            rules.extend(
                page.security_group_rules()
                    .iter()
                    .filter(|r| r.group_id() == Some(group_id))
                    .filter_map(ingress_rule),
            );
        }
        Ok(rules)
    }

    async fn authorize(
        &self,
        group_id: &str,
        permission: &Permission,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Authorized, AwsError> {
        // EC2 rejects a tag specification without tags.
        let tags = (!tags.is_empty()).then(|| {
            vec![
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroupRule)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .build(),
            ]
        });
        let result = self
            .client
            .authorize_security_group_ingress()
            .group_id(group_id)
            .ip_permissions(ip_permission(permission, description))
            .set_tag_specifications(tags)
            .send()
            .await
            .map_err(|e| sdk_error("AuthorizeSecurityGroupIngress", e));
        match result {
            Ok(output) => Ok(Authorized::Created(
                output
                    .security_group_rules()
                    .iter()
                    .filter_map(|r| r.security_group_rule_id().map(str::to_owned))
                    .collect(),
            )),
            Err(err) if err.has_code(DUPLICATE) => Ok(Authorized::AlreadyExists),
            Err(err) => Err(err),
        }
    }

    async fn revoke(&self, group_id: &str, rule_ids: &[String]) -> Result<(), AwsError> {
        if rule_ids.is_empty() {
            return Ok(());
        }
        let revoke = |ids: &[String]| {
            self.client
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(ids.to_vec()))
                .send()
        };
        let gone = |err: &AwsError| {
            err.has_code(GROUP_NOT_FOUND) || RULE_NOT_FOUND.iter().any(|c| err.has_code(c))
        };
        match revoke(rule_ids)
            .await
            .map_err(|e| sdk_error("RevokeSecurityGroupIngress", e))
        {
            // One missing rule fails the whole call and revokes nothing:
            // retry each, so that the others still go.
            Err(err) if gone(&err) && !err.has_code(GROUP_NOT_FOUND) && rule_ids.len() > 1 => {
                for id in rule_ids {
                    if let Err(e) = revoke(std::slice::from_ref(id)).await {
                        let err = sdk_error("RevokeSecurityGroupIngress", e);
                        if !gone(&err) {
                            return Err(err);
                        }
                    }
                }
                Ok(())
            }
            Err(err) if gone(&err) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn tag_rule(&self, rule_id: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.client
            .create_tags()
            .resources(rule_id)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("CreateTags", e))
    }

    async fn untag_rule(&self, rule_id: &str, key: &str) -> Result<(), AwsError> {
        match self
            .client
            .delete_tags()
            .resources(rule_id)
            .tags(Tag::builder().key(key).build())
            .send()
            .await
            .map_err(|e| sdk_error("DeleteTags", e))
        {
            Err(err) if RULE_NOT_FOUND.iter().any(|c| err.has_code(c)) => Ok(()),
            other => other.map(drop),
        }
    }
}
