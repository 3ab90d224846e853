//! The operator CLI's adapters for one Region, from one SDK configuration.

use super::config::ClientSettings;
use super::security_groups::Ec2SecurityGroups;
use super::{CloudFormationStacks, Ec2Endpoints, ElbTargets, Route53HealthChecks};
use crate::operate::status::Readers;
use aws_config::Region;

/// Every adapter the CLI reads (and drills) through, in one Region.
pub struct RegionAdapters {
    pub region: String,
    pub stacks: CloudFormationStacks,
    pub readers: Readers<Ec2Endpoints, ElbTargets, Ec2SecurityGroups, Route53HealthChecks>,
}

impl RegionAdapters {
    /// The environment's credentials, in `region`, with the functions'
    /// timeouts and retries. Route 53 is global: any Region reaches it.
    pub async fn load(region: &str) -> Self {
        let config = ClientSettings::default()
            .loader()
            .region(Region::new(region.to_owned()))
            .load()
            .await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        Self {
            region: region.to_owned(),
            stacks: CloudFormationStacks::new(aws_sdk_cloudformation::Client::new(&config)),
            readers: Readers {
                directory: Ec2Endpoints::new(ec2.clone()),
                registry: ElbTargets::new(aws_sdk_elasticloadbalancingv2::Client::new(&config)),
                groups: Ec2SecurityGroups::new(ec2),
                route53: Route53HealthChecks::new(aws_sdk_route53::Client::new(&config)),
            },
        }
    }
}

/// The Region of the environment (`AWS_REGION`, the profile), if any.
pub async fn default_region() -> Option<String> {
    ClientSettings::default()
        .loader()
        .load()
        .await
        .region()
        .map(|r| r.as_ref().to_owned())
}
