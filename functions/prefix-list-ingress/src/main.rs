//! `prefix-list-ingress`: the handler of `Custom::PrefixListIngress`.

use frontdoor::aws::security_groups::Ec2SecurityGroups;
use frontdoor::custom_resource::{self, Responder, Settings};
use frontdoor::ingress::PrefixListIngress;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    frontdoor::logging::init();
    let config = frontdoor::aws::config::load(&Default::default()).await;
    let resource = Arc::new(PrefixListIngress::new(Ec2SecurityGroups::new(
        aws_sdk_ec2::Client::new(&config),
    )));
    let responder = Responder::new(Settings::from_env())?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        custom_resource::run(Arc::clone(&resource), &responder, event)
    }))
    .await
}
