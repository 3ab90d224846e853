//! `eni-targets`: the handler of `Custom::EndpointTargets`.

use frontdoor::aws::{Ec2Endpoints, ElbTargets};
use frontdoor::resources::endpoint_targets::EndpointTargets;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    frontdoor::logging::init();
    let config = frontdoor::aws::config::load(&Default::default()).await;
    frontdoor::cfn::serve(EndpointTargets::new(
        Ec2Endpoints::new(aws_sdk_ec2::Client::new(&config)),
        ElbTargets::new(aws_sdk_elasticloadbalancingv2::Client::new(&config)),
    ))
    .await
}
