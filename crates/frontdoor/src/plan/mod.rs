//! Pure planners: desired state against current state gives a plan. No I/O:
//! the resources and target-sync read, call a planner, and apply its plan.
//!
//! - [`endpoint_ips`]: the endpoint's IPs, the one definition;
//! - [`targets`]: target-group plans, with the never-empty guard;
//! - [`hostname`]: a hostname binding's plan, with the no-flap rule, and
//!   [`unseen`]: its state in the target group's tags;
//! - [`owner`]: the owner tag of a custom resource, on what others may share;
//! - [`ingress`]: one owner's ingress rules in a security group;
//! - [`claims`]: owners' claims on a target group, and what an owner may
//!   deregister on leaving it;
//! - [`quota`]: the rule-quota pre-check and the prefix-list weights;
//! - [`group_tags`]: ELB's limits on a target group's tags.

pub mod claims;
pub mod endpoint_ips;
pub mod group_tags;
pub mod hostname;
pub mod ingress;
pub mod owner;
pub mod quota;
pub mod targets;
pub mod unseen;

pub use endpoint_ips::{EndpointIps, UnknownIps, by_id, endpoint_ips};
pub use ingress::{IngressPlan, ingress_plan};
pub use owner::Owner;
pub use targets::{TargetPlan, confirmed, registration_plan, removal_plan, sync_plan};

/// Rules and permissions for the planners' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::model::{Family, IngressRule, Permission, Reference, Source};
    use std::collections::BTreeMap;

    pub const SG: &str = "sg-0123456789abcdef0";
    pub const ME: &str = "frontdoor:owner:me";
    pub const OTHER: &str = "frontdoor:owner:other";

    pub fn pl(port: u16) -> Permission {
        Permission {
            protocol: "tcp".into(),
            port,
            source: Reference::PrefixList("pl-1".into()),
        }
    }

    pub fn group(port: u16) -> Permission {
        Permission {
            protocol: "tcp".into(),
            port,
            source: Reference::Group("sg-vo".into()),
        }
    }

    pub fn rule(id: &str, permission: &Permission, owners: &[&str]) -> IngressRule {
        IngressRule {
            id: id.into(),
            protocol: permission.protocol.clone(),
            from_port: i32::from(permission.port),
            to_port: i32::from(permission.port),
            source: Source::Reference(permission.source.clone()),
            tags: owners
                .iter()
                .map(|k| (k.to_string(), "x".to_owned()))
                .collect(),
        }
    }

    pub fn cidr(id: &str, family: Family) -> IngressRule {
        IngressRule {
            id: id.into(),
            protocol: "tcp".into(),
            from_port: 80,
            to_port: 80,
            source: Source::Cidr(family),
            tags: BTreeMap::new(),
        }
    }
}
