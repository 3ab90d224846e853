//! Small AWS adapters behind traits, so that the logic above them can be
//! tested with fakes and the SDK stays at the edge.

use crate::error_chain;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};
use std::future::Future;

pub mod config;
pub mod secrets;
pub mod security_groups;

/// An AWS call that failed after the SDK's own retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E>(operation: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| error_chain(&err));
        Self {
            operation,
            code: err.code().map(str::to_owned),
            message,
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

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

/// A network interface and its primary private IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInterface {
    pub id: String,
    pub availability_zone: String,
    pub private_ip: Option<String>,
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

/// An IP target on a port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub ip: String,
    pub port: u16,
}

/// A registered target and its health state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTarget {
    pub target: Target,
    pub draining: bool,
}

/// Read and write access to target groups.
pub trait TargetRegistry: Send + Sync {
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
}

/// [`EndpointDirectory`] on EC2.
#[derive(Debug, Clone)]
pub struct Ec2Endpoints {
    client: aws_sdk_ec2::Client,
}

impl Ec2Endpoints {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }

    async fn describe_endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
        let pages: Vec<_> = self
            .client
            .describe_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(ids.to_vec()))
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut endpoints = Vec::new();
        for page in pages {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeVpcEndpoints", e))?;
            endpoints.extend(page.vpc_endpoints().iter().map(|e| {
                Endpoint {
                    id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                    endpoint_type: e
                        .vpc_endpoint_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    state: e
                        .state()
                        .map(|s| s.as_str().to_ascii_lowercase())
                        .unwrap_or_default(),
                    subnet_ids: e.subnet_ids().to_vec(),
                    network_interface_ids: e.network_interface_ids().to_vec(),
                }
            }));
        }
        Ok(endpoints)
    }

    async fn describe_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, AwsError> {
        let pages: Vec<_> = self
            .client
            .describe_network_interfaces()
            .set_network_interface_ids(Some(ids.to_vec()))
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut interfaces = Vec::new();
        for page in pages {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeNetworkInterfaces", e))?;
            interfaces.extend(page.network_interfaces().iter().map(|n| NetworkInterface {
                id: n.network_interface_id().unwrap_or_default().to_owned(),
                availability_zone: n.availability_zone().unwrap_or_default().to_owned(),
                private_ip: n.private_ip_address().map(str::to_owned),
            }));
        }
        Ok(interfaces)
    }
}

/// EC2 fails a whole batch when one id is unknown, which is common just after
/// an endpoint lost a subnet (its reads are eventually consistent). Then drop
/// the ids the error names and ask again; when it names none, split the
/// batch in halves. Each retry removes at least one id or halves the batch,
/// so an unknown id costs one more call, and `k` unknown ids that the error
/// does not name at most `2k·log2(n)`: never one call per id.
async fn describe_known<T, F, Fut>(
    ids: &[String],
    not_found: &str,
    describe: &F,
) -> Result<Vec<T>, AwsError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, AwsError>>,
{
    let mut batch = ids.to_vec();
    while !batch.is_empty() {
        match describe(batch.clone()).await {
            Err(err) if err.has_code(not_found) => {
                let named: Vec<&String> = batch
                    .iter()
                    .filter(|id| err.message.contains(id.as_str()))
                    .collect();
                if !named.is_empty() {
                    tracing::info!(unknown = ?named, "dropping the ids EC2 does not know and asking again");
                    let named: Vec<String> = named.into_iter().cloned().collect();
                    batch.retain(|id| !named.contains(id));
                    continue;
                }
                if batch.len() == 1 {
                    return Ok(Vec::new());
                }
                let (left, right) = batch.split_at(batch.len() / 2);
                let mut found = Box::pin(describe_known(left, not_found, describe)).await?;
                found.extend(Box::pin(describe_known(right, not_found, describe)).await?);
                return Ok(found);
            }
            other => return other,
        }
    }
    Ok(Vec::new())
}

impl EndpointDirectory for Ec2Endpoints {
    async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
        describe_known(ids, "InvalidVpcEndpointId.NotFound", &|batch| async move {
            self.describe_endpoints(&batch).await
        })
        .await
    }

    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, AwsError> {
        describe_known(
            ids,
            "InvalidNetworkInterfaceID.NotFound",
            &|batch| async move { self.describe_interfaces(&batch).await },
        )
        .await
    }
}

/// [`TargetRegistry`] on Elastic Load Balancing v2.
#[derive(Debug, Clone)]
pub struct ElbTargets {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

impl ElbTargets {
    pub fn new(client: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Self { client }
    }
}

fn descriptions(targets: &[Target]) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|t| {
            TargetDescription::builder()
                .id(&t.ip)
                .port(i32::from(t.port))
                .build()
        })
        .collect()
}

const TARGET_GROUP_NOT_FOUND: &str = "TargetGroupNotFound";
const INVALID_TARGET: &str = "InvalidTarget";

impl TargetRegistry for ElbTargets {
    async fn targets(
        &self,
        target_group_arn: &str,
    ) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
        let result = self
            .client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTargetHealth", e));
        let output = match result {
            Err(err) if err.has_code(TARGET_GROUP_NOT_FOUND) => return Ok(None),
            other => other?,
        };
        let targets = output
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let target = d.target()?;
                let port = u16::try_from(target.port()?).ok()?;
                let draining = d
                    .target_health()
                    .and_then(|h| h.state())
                    .is_some_and(|s| *s == TargetHealthStateEnum::Draining);
                Some(RegisteredTarget {
                    target: Target {
                        ip: target.id()?.to_owned(),
                        port,
                    },
                    draining,
                })
            })
            .collect();
        Ok(Some(targets))
    }

    async fn register(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        if targets.is_empty() {
            return Ok(());
        }
        self.client
            .register_targets()
            .target_group_arn(target_group_arn)
            .set_targets(Some(descriptions(targets)))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::from_sdk("RegisterTargets", e))
    }

    async fn deregister(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        if targets.is_empty() {
            return Ok(());
        }
        let deregister = |batch: &[Target]| {
            self.client
                .deregister_targets()
                .target_group_arn(target_group_arn)
                .set_targets(Some(descriptions(batch)))
                .send()
        };
        let gone_or_absent =
            |err: &AwsError| err.has_code(TARGET_GROUP_NOT_FOUND) || err.has_code(INVALID_TARGET);
        match deregister(targets)
            .await
            .map_err(|e| AwsError::from_sdk("DeregisterTargets", e))
        {
            Err(err) if err.has_code(INVALID_TARGET) && targets.len() > 1 => {
                // One unregistered target fails the whole batch: retry each,
                // so that the others still go.
                for target in targets {
                    if let Err(e) = deregister(std::slice::from_ref(target)).await {
                        let err = AwsError::from_sdk("DeregisterTargets", e);
                        if !gone_or_absent(&err) {
                            return Err(err);
                        }
                    }
                }
                Ok(())
            }
            Err(err) if gone_or_absent(&err) => Ok(()),
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A fake `Describe*` that knows some ids and counts its calls. Whether
    /// its error names the unknown ids is a choice: real EC2 names them, but
    /// a fallback must not depend on the wording, which moto cannot vary.
    struct Directory {
        known: Vec<String>,
        names_unknown: bool,
        calls: Mutex<usize>,
    }

    impl Directory {
        async fn describe(&self, batch: Vec<String>) -> Result<Vec<String>, AwsError> {
            *self.calls.lock().unwrap() += 1;
            let unknown: Vec<&String> =
                batch.iter().filter(|id| !self.known.contains(id)).collect();
            if unknown.is_empty() {
                return Ok(batch);
            }
            let message = if self.names_unknown {
                format!("The networkInterface ID '{}' does not exist", unknown[0])
            } else {
                "One or more network interfaces do not exist".to_owned()
            };
            Err(AwsError {
                operation: "DescribeNetworkInterfaces",
                code: Some("InvalidNetworkInterfaceID.NotFound".into()),
                message,
            })
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("eni-{i:017x}")).collect()
    }

    async fn run(n: usize, unknown: &[usize], names_unknown: bool) -> (Vec<String>, usize) {
        let all = ids(n);
        let directory = Directory {
            known: all
                .iter()
                .enumerate()
                .filter(|(i, _)| !unknown.contains(i))
                .map(|(_, id)| id.clone())
                .collect(),
            names_unknown,
            calls: Mutex::new(0),
        };
        let found = describe_known(&all, "InvalidNetworkInterfaceID.NotFound", &|batch| {
            directory.describe(batch)
        })
        .await
        .unwrap();
        let calls = *directory.calls.lock().unwrap();
        (found, calls)
    }

    #[tokio::test]
    async fn an_unknown_id_named_in_the_error_costs_one_more_call() {
        let (found, calls) = run(300, &[7], true).await;
        assert_eq!(found.len(), 299);
        assert_eq!(calls, 2);
        let (found, calls) = run(300, &[7, 100, 250], true).await;
        assert_eq!((found.len(), calls), (297, 4));
    }

    #[tokio::test]
    async fn an_error_that_names_no_id_is_bisected_not_walked_one_by_one() {
        let (found, calls) = run(300, &[7], false).await;
        assert_eq!(found.len(), 299);
        assert!(calls <= 2 * 9 + 1, "{calls} calls for 300 ids");
        let (found, calls) = run(300, &[7, 100, 250], false).await;
        assert_eq!(found.len(), 297);
        assert!(calls <= 3 * 2 * 9 + 1, "{calls} calls for 300 ids");
        let (found, _) = run(4, &[0, 1, 2, 3], false).await;
        assert!(found.is_empty());
    }
}
