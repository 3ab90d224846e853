//! [`EndpointDirectory`] on EC2: VPC endpoints and their network interfaces.

use super::sdk_error;
use crate::model::{Endpoint, NetworkInterface};
use crate::ports::{AwsError, EndpointDirectory};
use std::future::Future;

/// [`EndpointDirectory`] on EC2.
#[derive(Debug, Clone)]
pub struct Ec2Endpoints {
    client: aws_sdk_ec2::Client,
}

impl Ec2Endpoints {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }

    pub(super) fn client(&self) -> &aws_sdk_ec2::Client {
        &self.client
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
            let page = page.map_err(|e| sdk_error("DescribeVpcEndpoints", e))?;
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
            let page = page.map_err(|e| sdk_error("DescribeNetworkInterfaces", e))?;
            interfaces.extend(page.network_interfaces().iter().map(|n| {
                NetworkInterface {
                    id: n.network_interface_id().unwrap_or_default().to_owned(),
                    availability_zone: n.availability_zone().unwrap_or_default().to_owned(),
                    private_ip: n.private_ip_address().map(str::to_owned),
                    ipv6_addresses: n
                        .ipv6_addresses()
                        .iter()
                        .filter_map(|a| a.ipv6_address().map(str::to_owned))
                        .collect(),
                }
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
