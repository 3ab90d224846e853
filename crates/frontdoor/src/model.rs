//! The domain: endpoints, their interfaces, targets and security-group rules,
//! as far as this project cares. Plain data, with no AWS SDK types: the
//! planners and the resources speak these, the adapters in [`crate::aws`]
//! translate.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// An interface VPC endpoint, as far as this project cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub endpoint_type: String,
    /// `available`, `pending`, `deleting`, `deleted`, …
    pub state: String,
    pub subnet_ids: Vec<String>,
    pub network_interface_ids: Vec<String>,
}

impl Endpoint {
    /// `available` with fewer interfaces than subnets: EC2 is still adding
    /// an interface for a new subnet, so the list is not yet the whole set.
    pub fn is_transitional(&self) -> bool {
        self.state == "available" && self.network_interface_ids.len() < self.subnet_ids.len()
    }
}

/// A network interface, its primary private IPv4 address and its IPv6
/// addresses (a dual-stack endpoint's interfaces have both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkInterface {
    pub id: String,
    pub availability_zone: String,
    pub private_ip: Option<String>,
    pub ipv6_addresses: Vec<String>,
}

/// An IP target on a port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub ip: IpAddr,
    pub port: u16,
    /// Outside the target group's VPC subnets (on premises): ELB needs the
    /// Availability Zone `all` for it, and refuses `all` for an address inside.
    pub all_zones: bool,
}

/// A target group, as far as this project cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub arn: String,
    /// The family of the group's targets: its `IpAddressType`.
    pub family: Family,
    pub vpc_id: String,
}

/// A registered target and its health state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTarget {
    pub target: Target,
    pub state: TargetState,
}

impl RegisteredTarget {
    /// Leaving the group: it no longer counts as present.
    pub fn draining(&self) -> bool {
        self.state == TargetState::Draining
    }
}

/// A target's health state, as `DescribeTargetHealth` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
    /// A state this version does not know.
    Unknown,
}

impl std::fmt::Display for TargetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Unused => "unused",
            TargetState::Draining => "draining",
            TargetState::Unavailable => "unavailable",
            TargetState::Unknown => "unknown",
        })
    }
}

/// A managed prefix list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixList {
    pub id: String,
    pub name: String,
    pub family: Family,
    /// How many rules a reference to the list weighs against the group's
    /// quota. EC2 leaves it out for some AWS-managed lists (moto for all).
    pub max_entries: Option<u32>,
    /// `AWS` for an AWS-managed list, else the account's id.
    pub owner_id: Option<String>,
}

/// The address family of a CIDR or a prefix list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// A security group, as far as this project cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub vpc_id: Option<String>,
}

/// What a rule that this project writes admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    PrefixList(String),
    Group(String),
}

/// What an existing ingress rule admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Reference(Reference),
    Cidr(Family),
}

/// An inbound rule to authorize: one port of one protocol, from one reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// `tcp` or `udp`, as EC2 names them.
    pub protocol: String,
    pub port: u16,
    pub source: Reference,
}

/// An inbound rule of a group, with its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressRule {
    pub id: String,
    pub protocol: String,
    /// -1 when the rule covers every port.
    pub from_port: i32,
    pub to_port: i32,
    pub source: Source,
    pub tags: BTreeMap<String, String>,
}

impl IngressRule {
    /// Whether the rule is exactly this permission, as EC2 would call a
    /// second authorize of it a duplicate.
    pub fn grants(&self, permission: &Permission) -> bool {
        self.protocol.eq_ignore_ascii_case(&permission.protocol)
            && self.from_port == i32::from(permission.port)
            && self.to_port == i32::from(permission.port)
            && self.source == Source::Reference(permission.source.clone())
    }
}

/// The outcome of an authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// The rule was created, with these ids.
    Created(Vec<String>),
    /// The same rule was already there (`InvalidPermission.Duplicate`).
    AlreadyExists,
}

/// A Route 53 health check's configuration, as far as the operator CLI cares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthCheck {
    pub id: String,
    /// `HTTPS`, `CLOUDWATCH_METRIC`, `CALCULATED`, …
    pub check_type: String,
    pub inverted: bool,
    pub disabled: bool,
    /// A calculated check's children, and how many of them must be healthy.
    pub children: Vec<String>,
    pub health_threshold: Option<u32>,
    /// `HealthCheckVersion`: an update that names it fails if another update
    /// came in between (`HealthCheckVersionMismatch`).
    pub version: i64,
}

impl HealthCheck {
    pub fn is_calculated(&self) -> bool {
        self.check_type == "CALCULATED"
    }
}

/// One Route 53 health checker's last report on a check (`GetHealthCheckStatus`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Observation {
    pub region: String,
    /// "Success: HTTP Status Code 200. …" or "Failure: …".
    pub status: String,
}

impl Observation {
    pub fn is_success(&self) -> bool {
        self.status.starts_with("Success")
    }
}

/// The role of a failover record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FailoverRole {
    Primary,
    Secondary,
}

impl std::fmt::Display for FailoverRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailoverRole::Primary => "PRIMARY",
            FailoverRole::Secondary => "SECONDARY",
        })
    }
}

/// One record of a failover pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailoverRecord {
    /// `A` or `AAAA`.
    pub record_type: String,
    pub role: FailoverRole,
    /// The template's `<ROLE>-<Region>`.
    pub set_identifier: String,
    pub health_check_id: Option<String>,
    /// The alias target's DNS name (the template's records alias the load
    /// balancer); `None` for a record of plain values.
    pub alias_target: Option<String>,
}

impl FailoverRecord {
    /// The Region of the stack that made the record, from the template's
    /// set identifier `<ROLE>-<Region>`.
    pub fn region(&self) -> Option<&str> {
        self.set_identifier
            .split_once('-')
            .map(|(_, region)| region)
            .filter(|region| !region.is_empty())
    }
}

/// A stack, as `DescribeStacks` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackDescription {
    pub name: String,
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    /// When it was last created or updated.
    pub changed_at: Option<std::time::SystemTime>,
}
