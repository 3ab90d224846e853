//! The IAM actions each function calls, and the kind of resource each call names.
//!
//! This table is the one list of permissions: the unit test below checks it against
//! the SDK calls in the adapters, and `tests/template/test_invariants.py` checks
//! every function's role in the rendered template against it (kept trivially
//! parseable from Python: one `Permission { .. }` per line).

/// What a call names in its request, as the Service Authorization Reference's
/// resource types (`Any`: the action has no resource type, or is a read on `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Any,
    TargetGroup,
    SecurityGroup,
    SecurityGroupRule,
    Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub resource: Resource,
}

/// eni-targets (Custom::EndpointTargets): `aws/ec2.rs`, `aws/elb.rs`, and
/// `aws/elb_tags.rs` (its claims on the target groups).
#[rustfmt::skip]
pub const ENI_TARGETS: &[Permission] = &[
    Permission { action: "ec2:DescribeVpcEndpoints", resource: Resource::Any },
    Permission { action: "ec2:DescribeNetworkInterfaces", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTargetGroups", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTargetHealth", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTags", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:RegisterTargets", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:DeregisterTargets", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:AddTags", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:RemoveTags", resource: Resource::TargetGroup },
];

/// target-sync: the adapters of eni-targets, and for hostname bindings
/// `aws/subnets.rs` and `aws/elb_tags.rs` (the no-flap state).
#[rustfmt::skip]
pub const TARGET_SYNC: &[Permission] = &[
    Permission { action: "ec2:DescribeVpcEndpoints", resource: Resource::Any },
    Permission { action: "ec2:DescribeNetworkInterfaces", resource: Resource::Any },
    Permission { action: "ec2:DescribeSubnets", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTargetGroups", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTargetHealth", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:DescribeTags", resource: Resource::Any },
    Permission { action: "elasticloadbalancing:RegisterTargets", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:DeregisterTargets", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:AddTags", resource: Resource::TargetGroup },
    Permission { action: "elasticloadbalancing:RemoveTags", resource: Resource::TargetGroup },
];

/// prefix-list-ingress (Custom::PrefixListIngress): `aws/security_groups.rs`.
#[rustfmt::skip]
pub const PREFIX_LIST_INGRESS: &[Permission] = &[
    Permission { action: "ec2:DescribeManagedPrefixLists", resource: Resource::Any },
    Permission { action: "ec2:GetManagedPrefixListEntries", resource: Resource::Any },
    Permission { action: "ec2:DescribeSecurityGroups", resource: Resource::Any },
    Permission { action: "ec2:DescribeSecurityGroupRules", resource: Resource::Any },
    Permission { action: "ec2:AuthorizeSecurityGroupIngress", resource: Resource::SecurityGroup },
    Permission { action: "ec2:AuthorizeSecurityGroupIngress", resource: Resource::SecurityGroupRule },
    Permission { action: "ec2:RevokeSecurityGroupIngress", resource: Resource::SecurityGroup },
    Permission { action: "ec2:CreateTags", resource: Resource::SecurityGroupRule },
    Permission { action: "ec2:DeleteTags", resource: Resource::SecurityGroupRule },
];

/// health-probe: its client certificate, with mutual TLS: `aws/secrets.rs`.
#[rustfmt::skip]
pub const HEALTH_PROBE: &[Permission] = &[
    Permission { action: "secretsmanager:GetSecretValue", resource: Resource::Secret },
];

/// Every function by its binary name.
pub const FUNCTIONS: &[(&str, &[Permission])] = &[
    ("eni-targets", ENI_TARGETS),
    ("target-sync", TARGET_SYNC),
    ("prefix-list-ingress", PREFIX_LIST_INGRESS),
    ("health-probe", HEALTH_PROBE),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Each adapter source, and the functions that use it.
    const ADAPTERS: &[(&str, &str, &[&str])] = &[
        (
            "aws/ec2.rs",
            include_str!("aws/ec2.rs"),
            &["eni-targets", "target-sync"],
        ),
        (
            "aws/elb.rs",
            include_str!("aws/elb.rs"),
            &["eni-targets", "target-sync"],
        ),
        (
            "aws/subnets.rs",
            include_str!("aws/subnets.rs"),
            &["target-sync"],
        ),
        (
            "aws/elb_tags.rs",
            include_str!("aws/elb_tags.rs"),
            &["eni-targets", "target-sync"],
        ),
        (
            "aws/security_groups.rs",
            include_str!("aws/security_groups.rs"),
            &["prefix-list-ingress"],
        ),
        (
            "aws/secrets.rs",
            include_str!("aws/secrets.rs"),
            &["health-probe"],
        ),
    ];

    /// `client . some_operation (` with any whitespace between, as the SDK's fluent
    /// builders are called; `clone` and `config` are the client's own methods.
    fn sdk_calls(source: &str) -> BTreeSet<String> {
        // `self.client().op(` (an adapter on another adapter's client) reads as `client.op(`.
        let compact: String = source
            .split_whitespace()
            .collect::<String>()
            .replace("client().", "client.");
        let mut calls = BTreeSet::new();
        for (at, _) in compact.match_indices("client.") {
            let rest = &compact[at + "client.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let is_call = rest[name.len()..].starts_with('(');
            if is_call && !name.is_empty() && !["clone", "config"].contains(&name.as_str()) {
                calls.insert(name);
            }
        }
        calls
    }

    fn camel(operation: &str) -> String {
        operation
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn table(function: &str) -> &'static [Permission] {
        FUNCTIONS
            .iter()
            .find(|(name, _)| *name == function)
            .expect("a function of the table")
            .1
    }

    #[test]
    fn the_scanner_sees_multi_line_fluent_calls() {
        let source =
            "self\n    .client\n    .describe_vpc_endpoints()\n    .send(); self.client.clone();";
        assert_eq!(
            sdk_calls(source),
            BTreeSet::from(["describe_vpc_endpoints".to_owned()])
        );
        assert_eq!(
            camel("revoke_security_group_ingress"),
            "RevokeSecurityGroupIngress"
        );
    }

    #[test]
    fn every_sdk_call_is_in_the_table_of_each_function_that_uses_its_adapter() {
        for (file, source, functions) in ADAPTERS {
            let calls = sdk_calls(source);
            assert!(
                !calls.is_empty(),
                "{file}: no SDK call found; is the scanner still right?"
            );
            for function in *functions {
                for call in &calls {
                    let operation = camel(call);
                    assert!(
                        table(function)
                            .iter()
                            .any(|p| p.action.split_once(':').map(|(_, a)| a)
                                == Some(operation.as_str())),
                        "{file} calls {call} ({operation}), which {function}'s table in permissions.rs lacks"
                    );
                }
            }
        }
    }

    #[test]
    fn the_table_has_no_action_the_code_never_calls() {
        for (function, permissions) in FUNCTIONS {
            let called: BTreeSet<String> = ADAPTERS
                .iter()
                .filter(|(_, _, users)| users.contains(function))
                .flat_map(|(_, source, _)| sdk_calls(source))
                .map(|call| camel(&call))
                .collect();
            for permission in *permissions {
                let operation = permission.action.split_once(':').expect("service:Action").1;
                assert!(
                    called.contains(operation),
                    "{function}'s table lists {}, which its adapters never call",
                    permission.action
                );
            }
        }
    }
}
