//! `prefix-list-ingress`: the handler of `Custom::PrefixListIngress`.

use frontdoor::aws::security_groups::Ec2SecurityGroups;
use frontdoor::resources::prefix_list_ingress::PrefixListIngress;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    frontdoor::logging::init();
    let config = frontdoor::aws::config::load(&Default::default()).await;
    frontdoor::cfn::serve(PrefixListIngress::new(Ec2SecurityGroups::new(
        aws_sdk_ec2::Client::new(&config),
    )))
    .await
}
