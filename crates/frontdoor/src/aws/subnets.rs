//! [`SubnetDirectory`] on EC2: the address ranges of a VPC's subnets, which
//! tell a hostname binding's in-VPC addresses from on-premises ones.

use super::{Ec2Endpoints, sdk_error};
use crate::ports::{AwsError, SubnetDirectory};
use aws_sdk_ec2::types::Filter;
use ipnet::IpNet;
use std::collections::BTreeMap;

impl SubnetDirectory for Ec2Endpoints {
    async fn subnet_ranges(
        &self,
        vpc_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<IpNet>>, AwsError> {
        let mut ranges: BTreeMap<String, Vec<IpNet>> =
            vpc_ids.iter().map(|id| (id.clone(), Vec::new())).collect();
        if vpc_ids.is_empty() {
            return Ok(ranges);
        }
        let pages: Vec<_> = self
            .client()
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("vpc-id")
                    .set_values(Some(vpc_ids.to_vec()))
                    .build(),
            )
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        for page in pages {
            let page = page.map_err(|e| sdk_error("DescribeSubnets", e))?;
            for subnet in page.subnets() {
                let Some(vpc) = subnet.vpc_id().and_then(|id| ranges.get_mut(id)) else {
                    continue;
                };
                let ipv6 = subnet
                    .ipv6_cidr_block_association_set()
                    .iter()
                    .filter_map(|a| a.ipv6_cidr_block());
                vpc.extend(
                    subnet
                        .cidr_block()
                        .into_iter()
                        .chain(ipv6)
                        .filter_map(|cidr| cidr.parse::<IpNet>().ok()),
                );
            }
        }
        Ok(ranges)
    }
}
