//! The ports: what the logic needs from AWS, as traits, so that it can be
//! tested with fakes and the SDK stays in the adapters ([`crate::aws`]).

use crate::model::{
    Authorized, Endpoint, FailoverRecord, Family, HealthCheck, IngressRule, NetworkInterface,
    Observation, Permission, PrefixList, RegisteredTarget, SecurityGroup, StackDescription, Target,
    TargetGroup,
};
use crate::plan::TargetPlan;
use futures_util::future::BoxFuture;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;

/// An AWS call that failed after the SDK's own retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Read access to VPC endpoints and their network interfaces.
pub trait EndpointDirectory: Send + Sync {
    /// Describes the endpoints; ids that do not exist are left out.
    fn endpoints(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Endpoint>, AwsError>> + Send;

    /// Describes the network interfaces; ids that do not exist are left out.
    /// An empty list returns nothing, without a call (EC2 would answer with
    /// every interface of the account).
    fn network_interfaces(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<NetworkInterface>, AwsError>> + Send;
}

/// The address ranges of VPCs' subnets.
pub trait SubnetDirectory: Send + Sync {
    /// The IPv4 and IPv6 CIDR blocks of each VPC's subnets, by VPC id (every
    /// id asked for is a key).
    fn subnet_ranges(
        &self,
        vpc_ids: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Vec<IpNet>>, AwsError>> + Send;
}

/// Read and write access to target groups.
pub trait TargetRegistry: Send + Sync {
    /// Describes the target groups; ARNs that do not exist are left out.
    fn target_groups(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<TargetGroup>, AwsError>> + Send;

    /// The group's targets, or `None` when the group does not exist.
    fn targets(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Option<Vec<RegisteredTarget>>, AwsError>> + Send;

    fn register(
        &self,
        target_group_arn: &str,
        targets: &[Target],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Deregisters; a group already gone or a target not registered is fine.
    fn deregister(
        &self,
        target_group_arn: &str,
        targets: &[Target],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Applies a plan: registers first, so that the group is never emptier
    /// than it must be, then deregisters. The one applier of target plans,
    /// for the custom resource and target-sync alike.
    fn apply(
        &self,
        target_group_arn: &str,
        plan: &TargetPlan,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        async move {
            if !plan.register.is_empty() {
                tracing::info!(target_group = target_group_arn, targets = ?plan.register, "registering");
                self.register(target_group_arn, &plan.register).await?;
            }
            if !plan.deregister.is_empty() {
                tracing::info!(target_group = target_group_arn, targets = ?plan.deregister, "deregistering");
                self.deregister(target_group_arn, &plan.deregister).await?;
            }
            Ok(())
        }
    }
}

/// Tags on target groups: where hostname bindings keep their state, and
/// `Custom::EndpointTargets` its claims.
pub trait TargetGroupTags: Send + Sync {
    /// The tags of each group, by ARN; a group without tags may be left out.
    fn tags(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, BTreeMap<String, String>>, AwsError>> + Send;

    /// Adds or overwrites tags.
    fn add_tags(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    fn remove_tags(
        &self,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Why a DNS name's addresses are unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("{name} does not exist (NXDOMAIN)")]
    NoSuchName { name: String },
    #[error("{name} has no {record} records")]
    NoRecords { name: String, record: &'static str },
    #[error("the DNS server answered {code} for {name}")]
    ServerFailure { name: String, code: String },
    #[error("no DNS answer for {name} in time")]
    Timeout { name: String },
    /// A truncated UDP answer holds only part of the set, and asking again
    /// over TCP failed: no evidence of which addresses the name has.
    #[error(
        "the DNS answer for {name} was truncated and asking again over TCP failed ({message}); a partial answer is no evidence"
    )]
    Truncated { name: String, message: String },
    #[error("{name} is an alias of an alias more than {hops} times (a CNAME chain or loop)")]
    AliasChain { name: String, hops: usize },
    #[error("the DNS query for {name} failed: {message}")]
    Other { name: String, message: String },
}

/// Resolves DNS names.
pub trait NameResolver: Send + Sync {
    /// The name's addresses of one family: its A records, or its AAAA
    /// records. An answer without any is [`DnsError::NoRecords`], never an
    /// empty set.
    fn addresses(
        &self,
        name: &str,
        family: Family,
    ) -> impl Future<Output = Result<BTreeSet<IpAddr>, DnsError>> + Send;
}

/// Reads and writes the inbound rules of security groups.
pub trait SecurityGroupRules: Send + Sync {
    /// The group, or `None` when it does not exist.
    fn security_group(
        &self,
        group_id: &str,
    ) -> impl Future<Output = Result<Option<SecurityGroup>, AwsError>> + Send;

    /// The id of the VPC's `CloudFront-VPCOrigins-Service-SG`, or `None`
    /// before the VPC has a VPC origin.
    fn vpc_origin_group(
        &self,
        vpc_id: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// The managed prefix list of that name, or `None`.
    fn prefix_list_named(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<PrefixList>, AwsError>> + Send;

    /// The managed prefix list of that id, or `None`.
    fn prefix_list(
        &self,
        prefix_list_id: &str,
    ) -> impl Future<Output = Result<Option<PrefixList>, AwsError>> + Send;

    /// The number of entries the list holds now.
    fn prefix_list_entry_count(
        &self,
        prefix_list_id: &str,
    ) -> impl Future<Output = Result<u32, AwsError>> + Send;

    /// The group's inbound rules; none when the group does not exist.
    fn ingress_rules(
        &self,
        group_id: &str,
    ) -> impl Future<Output = Result<Vec<IngressRule>, AwsError>> + Send;

    /// Authorizes one inbound rule, created with the description and tags.
    fn authorize(
        &self,
        group_id: &str,
        permission: &Permission,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Authorized, AwsError>> + Send;

    /// Revokes the rules; a group or rule already gone is fine.
    fn revoke(
        &self,
        group_id: &str,
        rule_ids: &[String],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Adds a tag to a rule.
    fn tag_rule(
        &self,
        rule_id: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Removes a tag from a rule; a rule already gone is fine.
    fn untag_rule(
        &self,
        rule_id: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Reads the current `SecretString` of a secret.
///
/// Boxed futures keep the trait object-safe: the probe holds a store only when a
/// secret is configured, without a type parameter for that case.
pub trait SecretStore: Send + Sync {
    /// The secret's `SecretString`; a secret stored as binary is an error.
    fn secret_string<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, AwsError>>;
}

/// Reads CloudFormation stacks (the operator CLI).
pub trait Stacks: Send + Sync {
    /// The stack's status, outputs and parameters, or `None` when there is no
    /// such stack.
    fn stack(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StackDescription>, AwsError>> + Send;
}

/// Route 53's health checks and failover records (the operator CLI).
pub trait HealthChecks: Send + Sync {
    /// The check's configuration, or `None` when it does not exist.
    fn health_check(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<HealthCheck>, AwsError>> + Send;

    /// The health checkers' last reports on a check that is not calculated
    /// (`GetHealthCheckStatus` refuses calculated checks).
    fn observations(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<Observation>, AwsError>> + Send;

    /// Sets the check's `Inverted` flag, and nothing else, if the check is
    /// still at `version` (`HealthCheckVersionMismatch` otherwise). Returns
    /// the check's new version.
    fn set_inverted(
        &self,
        id: &str,
        inverted: bool,
        version: i64,
    ) -> impl Future<Output = Result<i64, AwsError>> + Send;

    /// The failover records of the name in the hosted zone.
    fn failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<Vec<FailoverRecord>, AwsError>> + Send;
}

/// Asks a Region's observer (health-probe, invoked directly) what the
/// domain answers inside that Region's VPC.
pub trait Observer: Send + Sync {
    fn observe(
        &self,
        function: &str,
        request: &crate::observe::ObserveRequest,
    ) -> impl Future<Output = Result<crate::observe::Observation, AwsError>> + Send;
}
