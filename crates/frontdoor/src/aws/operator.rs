//! The operator CLI's adapters for one Region, from one SDK configuration.

use super::config::ClientSettings;
use super::security_groups::Ec2SecurityGroups;
use super::{CloudFormationStacks, Ec2Endpoints, ElbTargets, LambdaObserver, Route53HealthChecks};
use crate::operate::status::Readers;
use aws_config::Region;
use aws_config::SdkConfig;
use aws_sdk_lambda::config::ProvideCredentials;
use std::time::SystemTime;

/// Every adapter the CLI reads (and drills) through, in one Region.
pub struct RegionAdapters {
    pub region: String,
    pub stacks: CloudFormationStacks,
    pub readers: Readers<Ec2Endpoints, ElbTargets, Ec2SecurityGroups, Route53HealthChecks>,
    /// The Region's observer, health-probe, through `Invoke`.
    pub observer: LambdaObserver,
    config: SdkConfig,
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
            observer: LambdaObserver::new(aws_sdk_lambda::Client::new(&config)),
            config,
        }
    }

    /// When the environment's credentials expire, when the provider says
    /// (temporary credentials do; long-term keys do not).
    pub async fn credentials_expire_at(&self) -> Option<SystemTime> {
        let provider = self.config.credentials_provider()?;
        provider.provide_credentials().await.ok()?.expiry()
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
