//! The owner of what a frontdoor custom resource writes into a resource that
//! others may share: rules of a security group (`Custom::PrefixListIngress`),
//! targets of a target group (`Custom::EndpointTargets`). Each carries the
//! owner's tag, derived from the stack id and the logical id, so that a
//! logical-id rename or a move to a new stack, where CloudFormation creates the
//! new resource before it deletes the old one, never loses what both need.

use crate::cfn::stack_name;
use std::collections::BTreeMap;

/// Every owner tag starts with this.
pub const OWNER_TAG_PREFIX: &str = "frontdoor:owner:";

/// One logical resource of one stack, as an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    stack_id: String,
    logical_resource_id: String,
}

impl Owner {
    pub fn new(stack_id: &str, logical_resource_id: &str) -> Self {
        Self {
            stack_id: stack_id.to_owned(),
            logical_resource_id: logical_resource_id.to_owned(),
        }
    }

    /// The owner of one identity of this resource (`Custom::EndpointTargets`:
    /// its endpoint). While CloudFormation replaces a resource, the old and
    /// the new one share the logical id, and each holds its own until its own
    /// Delete.
    pub fn of_identity(&self, identity: &str) -> Self {
        Self::new(
            &self.stack_id,
            &format!("{}/{identity}", self.logical_resource_id),
        )
    }

    /// `frontdoor:owner:<16 hex digits>`, a stable hash of the stack id (unique
    /// per stack, even after a stack of the same name was deleted) and the
    /// logical id; both in full would exceed EC2's 128-character and ELB's
    /// 127-character key limits.
    pub fn tag_key(&self) -> String {
        format!(
            "{OWNER_TAG_PREFIX}{:016x}",
            fnv1a(&format!("{}/{}", self.stack_id, self.logical_resource_id))
        )
    }

    /// The tag's value, for people: `<stack-name>/<LogicalResourceId>`.
    pub fn tag_value(&self) -> String {
        let value = format!(
            "{}/{}",
            stack_name(&self.stack_id),
            self.logical_resource_id
        );
        value.chars().take(256).collect()
    }

    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(self.tag_key(), self.tag_value())])
    }

    /// `frontdoor <stack-name>/<LogicalResourceId>`, within EC2's 255
    /// characters and its character set. For people only: EC2 may drop it.
    pub fn description(&self) -> String {
        let allowed = |c: &char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*c);
        format!("frontdoor {}", self.tag_value())
            .chars()
            .filter(allowed)
            .take(255)
            .collect()
    }
}

/// 64-bit FNV-1a: tiny, and stable across Rust versions, unlike std's hasher.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_told_apart_by_stack_id_and_logical_id() {
        let a = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress",
        );
        let again = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress",
        );
        let recreated = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-2",
            "Ingress",
        );
        let renamed = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress2",
        );
        assert_eq!(a.tag_key(), again.tag_key());
        assert_ne!(a.tag_key(), recreated.tag_key());
        assert_ne!(a.tag_key(), renamed.tag_key());
        // A fixed value: the key must never change between versions.
        assert_eq!(
            a.tag_key(),
            format!(
                "frontdoor:owner:{:016x}",
                fnv1a("arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1/Ingress")
            )
        );
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(a.description(), "frontdoor front/Ingress");
        let long = Owner::new(
            &format!(
                "arn:aws:cloudformation:us-east-1:1:stack/{}/u",
                "s".repeat(128)
            ),
            &"L".repeat(255),
        );
        assert!(long.description().len() <= 255 && long.tag_value().len() <= 256);
        assert!(long.tag_key().len() <= 128);
    }
}
