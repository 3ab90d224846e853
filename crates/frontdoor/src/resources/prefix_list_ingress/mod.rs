//! `Custom::PrefixListIngress`: opens the team's security group to CloudFront,
//! from the origin-facing prefix list and from the `CloudFront-VPCOrigins-Service-SG`
//! group of a VPC, and removes exactly its own rules again.
//!
//! Ownership of rules is planned in [`crate::plan::ingress`]; the quota pre-check
//! is [`crate::plan::quota`].

mod properties;

pub use properties::{DEFAULT_PREFIX_LIST_NAME, PrefixListIngressProps, PrefixListRef};

use crate::aws::security_groups::VPC_ORIGINS_GROUP_NAME;
use crate::cfn::props::{PropertyError, quote};
use crate::cfn::{Context, CustomResource, Data};
use crate::model::{Authorized, IngressRule, Permission, PrefixList, Reference, Source};
use crate::plan::quota::{
    ListWeight, QUOTA_ADVICE, QuotaExceeded, UNKNOWN_AWS_MANAGED_WEIGHT, WeightBasis, check_quota,
    documented_weight, is_aws_managed,
};
use crate::plan::{IngressPlan, Owner, ingress_plan};
use crate::ports::{AwsError, SecurityGroupRules};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// EC2's error when an authorize would exceed the group's rule quota.
const RULES_LIMIT_EXCEEDED: &str = "RulesPerSecurityGroupLimitExceeded";

/// Why a `Custom::PrefixListIngress` request failed; the `Display` is the `Reason`.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("PrefixListId {0} does not exist in this account and Region.")]
    NoPrefixListWithId(String),
    #[error("PrefixListName {} names no managed prefix list in this account and Region.", quote(.0))]
    NoPrefixListNamed(String),
    #[error("SecurityGroupId {0} does not exist in this account and Region.")]
    NoSecurityGroup(String),
    #[error(
        "SecurityGroupId {0} is CloudFront's own {VPC_ORIGINS_GROUP_NAME}; give the group of your load balancer instead."
    )]
    VpcOriginsGroupGiven(String),
    #[error(
        "VpcId {vpc_id} is not the VPC of SecurityGroupId {group_id}, which is in {group_vpc}; the VPC origin must be in the group's VPC."
    )]
    GroupInOtherVpc {
        vpc_id: String,
        group_id: String,
        group_vpc: String,
    },
    #[error(
        "VpcId {0} has no {VPC_ORIGINS_GROUP_NAME} group yet: no CloudFront VPC origin exists in that VPC. \
         Create the VPC origin first: give this resource a DependsOn on the AWS::CloudFront::VpcOrigin."
    )]
    NoVpcOriginsGroup(String),
    /// The pre-check: the plan would exceed the limit.
    #[error("{0}")]
    Quota(QuotaExceeded),
    /// EC2 itself refused an authorize for the quota (the limit property was
    /// set too high): the same advice as the pre-check's.
    #[error(
        "Security group {group_id} would hold more inbound rules than its quota allows: EC2 refused the rule from \
         {} on {}/{} ({RULES_LIMIT_EXCEEDED}), although RulesPerSecurityGroupLimit {limit} let it pass the \
         pre-check. {QUOTA_ADVICE}",
        describe_source(&permission.source), permission.protocol, permission.port
    )]
    RulesLimitExceeded {
        group_id: String,
        permission: Permission,
        limit: u64,
    },
    #[error("{0}.")]
    Aws(#[from] AwsError),
}

fn describe_source(source: &Reference) -> String {
    match source {
        Reference::PrefixList(id) => format!("prefix list {id}"),
        Reference::Group(id) => format!("group {id}"),
    }
}

/// The handler of `Custom::PrefixListIngress`.
pub struct PrefixListIngress<S> {
    groups: S,
}

impl<S: SecurityGroupRules> PrefixListIngress<S> {
    pub fn new(groups: S) -> Self {
        Self { groups }
    }

    async fn resolve_prefix_list(
        &self,
        reference: &PrefixListRef,
    ) -> Result<PrefixList, IngressError> {
        match reference {
            PrefixListRef::Id(id) => self
                .groups
                .prefix_list(id)
                .await?
                .ok_or_else(|| IngressError::NoPrefixListWithId(id.clone())),
            PrefixListRef::Named(name) => self
                .groups
                .prefix_list_named(name)
                .await?
                .ok_or_else(|| IngressError::NoPrefixListNamed(name.clone())),
        }
    }

    /// A list's weight: an AWS-managed list's documented weight (or, for one
    /// not in the table, a conservative one); else its MaxEntries; where EC2
    /// gives none, the number of entries it holds now.
    async fn weight(&self, list: &PrefixList) -> Result<ListWeight, IngressError> {
        let (weight, basis) = if is_aws_managed(list) {
            match documented_weight(&list.name) {
                Some(weight) => (weight, WeightBasis::Documented),
                None => (
                    UNKNOWN_AWS_MANAGED_WEIGHT.max(list.max_entries.map_or(0, u64::from)),
                    WeightBasis::Assumed,
                ),
            }
        } else if let Some(max) = list.max_entries {
            (u64::from(max), WeightBasis::MaxEntries)
        } else {
            let entries = self.groups.prefix_list_entry_count(&list.id).await?;
            (u64::from(entries), WeightBasis::Entries)
        };
        Ok(ListWeight {
            family: list.family,
            weight,
            basis,
        })
    }

    /// Fails before any write when the plan would exceed the rule quota.
    async fn pre_check(
        &self,
        props: &PrefixListIngressProps,
        current: &[IngressRule],
        plan: &IngressPlan,
        resolved: Option<&PrefixList>,
    ) -> Result<(), IngressError> {
        let mut lists = BTreeMap::new();
        if let Some(list) = resolved {
            lists.insert(list.id.clone(), self.weight(list).await?);
        }
        let referenced: BTreeSet<&str> = current
            .iter()
            .filter_map(|rule| match &rule.source {
                Source::Reference(Reference::PrefixList(id)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        for id in referenced {
            if lists.contains_key(id) {
                continue;
            }
            if let Some(list) = self.groups.prefix_list(id).await? {
                lists.insert(id.to_owned(), self.weight(&list).await?);
            }
        }
        check_quota(
            &props.security_group_id,
            current,
            plan,
            &lists,
            props.rules_limit,
        )
        .map_err(IngressError::Quota)
    }

    /// Brings the group to the rules the properties ask for: looks up and
    /// checks everything first, then revokes (so a port change never counts
    /// the prefix list twice against the quota), then authorizes.
    async fn converge(
        &self,
        props: &PrefixListIngressProps,
        owner: &Owner,
    ) -> Result<Data, IngressError> {
        let group_id = &props.security_group_id;
        let group = self
            .groups
            .security_group(group_id)
            .await?
            .ok_or_else(|| IngressError::NoSecurityGroup(group_id.clone()))?;
        if group.name == VPC_ORIGINS_GROUP_NAME {
            return Err(IngressError::VpcOriginsGroupGiven(group_id.clone()));
        }
        let prefix_list = match &props.prefix_list {
            Some(reference) => Some(self.resolve_prefix_list(reference).await?),
            None => None,
        };
        let vpc_origin_group = match &props.vpc_origin_vpc_id {
            Some(vpc_id) => Some(
                self.vpc_origin_group(vpc_id, group.vpc_id.as_deref(), group_id)
                    .await?,
            ),
            None => None,
        };

        let permission = |source| Permission {
            protocol: props.protocol.clone(),
            port: props.port,
            source,
        };
        let desired: Vec<Permission> = prefix_list
            .iter()
            .map(|l| permission(Reference::PrefixList(l.id.clone())))
            .chain(
                vpc_origin_group
                    .iter()
                    .map(|g| permission(Reference::Group(g.clone()))),
            )
            .collect();
        let current = self.groups.ingress_rules(group_id).await?;
        let plan = ingress_plan(&desired, &current, &owner.tag_key());
        if !plan.authorize.is_empty() {
            self.pre_check(props, &current, &plan, prefix_list.as_ref())
                .await?;
        }
        let created = self
            .apply(group_id, &plan, owner, Some(props.rules_limit))
            .await?;

        let mut rule_ids: Vec<String> = plan.owned_after().cloned().chain(created).collect();
        rule_ids.sort();
        let mut data = BTreeMap::from([("SecurityGroupRuleIds".to_owned(), rule_ids.join(","))]);
        if let Some(list) = prefix_list {
            data.insert("PrefixListId".into(), list.id);
        }
        if let Some(group) = vpc_origin_group {
            data.insert("VpcOriginSecurityGroupId".into(), group);
        }
        Ok(data)
    }

    async fn vpc_origin_group(
        &self,
        vpc_id: &str,
        group_vpc: Option<&str>,
        group_id: &str,
    ) -> Result<String, IngressError> {
        if let Some(group_vpc) = group_vpc.filter(|v| *v != vpc_id) {
            return Err(IngressError::GroupInOtherVpc {
                vpc_id: vpc_id.to_owned(),
                group_id: group_id.to_owned(),
                group_vpc: group_vpc.to_owned(),
            });
        }
        self.groups
            .vpc_origin_group(vpc_id)
            .await?
            .ok_or_else(|| IngressError::NoVpcOriginsGroup(vpc_id.to_owned()))
    }

    /// Applies a plan; returns the ids of the rules it created. `rules_limit`
    /// is the limit the plan's authorizations were checked against.
    async fn apply(
        &self,
        group_id: &str,
        plan: &IngressPlan,
        owner: &Owner,
        rules_limit: Option<u64>,
    ) -> Result<Vec<String>, IngressError> {
        let key = owner.tag_key();
        if !plan.revoke.is_empty() {
            tracing::info!(group_id, rules = ?plan.revoke, "revoking");
            self.groups.revoke(group_id, &plan.revoke).await?;
        }
        for rule_id in &plan.release {
            tracing::info!(
                group_id,
                rule_id,
                "releasing a rule that other frontdoor resources still hold"
            );
            self.groups.untag_rule(rule_id, &key).await?;
        }
        for rule_id in &plan.adopt {
            tracing::info!(
                group_id,
                rule_id,
                "co-owning a rule of another frontdoor resource"
            );
            self.groups
                .tag_rule(rule_id, &key, &owner.tag_value())
                .await?;
        }
        let mut created = Vec::new();
        for permission in &plan.authorize {
            tracing::info!(group_id, ?permission, "authorizing");
            match self
                .groups
                .authorize(group_id, permission, &owner.description(), &owner.tags())
                .await
                .map_err(|err| match rules_limit {
                    Some(limit) if err.has_code(RULES_LIMIT_EXCEEDED) => {
                        IngressError::RulesLimitExceeded {
                            group_id: group_id.to_owned(),
                            permission: permission.clone(),
                            limit,
                        }
                    }
                    _ => IngressError::Aws(err),
                })? {
                Authorized::Created(ids) => created.extend(ids),
                // Made by someone else meanwhile: done, and not ours.
                Authorized::AlreadyExists => {
                    tracing::info!(group_id, ?permission, "the rule already exists")
                }
            }
        }
        Ok(created)
    }

    /// Lets go of every rule this owner holds in the group: revokes the ones
    /// no one else holds. A group already gone has none.
    async fn release_all(&self, group_id: &str, owner: &Owner) -> Result<(), IngressError> {
        let current = self.groups.ingress_rules(group_id).await?;
        self.apply(
            group_id,
            &ingress_plan(&[], &current, &owner.tag_key()),
            owner,
            None,
        )
        .await
        .map(drop)
    }
}

fn owner(context: &Context<'_>) -> Owner {
    Owner::new(context.stack_id, context.logical_resource_id)
}

impl<S: SecurityGroupRules + 'static> CustomResource for PrefixListIngress<S> {
    type Properties = PrefixListIngressProps;
    type Error = IngressError;

    fn parse(properties: &Value) -> Result<Self::Properties, PropertyError> {
        PrefixListIngressProps::parse(properties)
    }

    /// An Update within one group converges in place.
    fn identity(properties: &Self::Properties) -> &str {
        &properties.security_group_id
    }

    async fn create(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> Result<Data, IngressError> {
        self.converge(properties, &owner(context)).await
    }

    async fn update(
        &self,
        properties: &Self::Properties,
        old: Option<&Self::Properties>,
        context: &Context<'_>,
    ) -> Result<Data, IngressError> {
        let owner = owner(context);
        let data = self.converge(properties, &owner).await?;
        // Old properties whose id CloudFormation never accepted are those of
        // a failed Update to another group, now rolled back: no Delete will
        // come for that id, so clean its group here.
        if let Some(old) = old
            && old.security_group_id != properties.security_group_id
            && context.physical_resource_id
                != Some(context.physical_id_for(&old.security_group_id).as_str())
        {
            self.release_all(&old.security_group_id, &owner).await?;
        }
        Ok(data)
    }

    async fn delete(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> Result<(), IngressError> {
        self.release_all(&properties.security_group_id, &owner(context))
            .await
    }
}
