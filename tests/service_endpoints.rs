//! The stack's own interface endpoints have private DNS off (issue 22): the
//! functions reach them through each endpoint's own DNS name, which the
//! template passes as the SDK's service-specific endpoint variables
//! (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>).
//! This proves that the names the template sets are the ones the SDK for Rust
//! reads, through the same loader and clients the functions build: the general
//! `AWS_ENDPOINT_URL` points at a closed port, so a call succeeds only through
//! its service's own variable. tests/template/test_invariants.py checks that the
//! template sets exactly these names.
//!
//! The variables are process-wide, so this file is its own test binary with one
//! test, which sets them before it builds any client.

use frontdoor::aws::config::{ClientSettings, load};
use frontdoor::aws::secrets::SecretsManagerStore;
use frontdoor::ports::SecretStore;
use frontdoor_tests::moto;
use frontdoor_tests::tls::closed_port;

/// The names the template gives health-probe and target-sync.
const SECRETS_MANAGER: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";
const EC2: &str = "AWS_ENDPOINT_URL_EC2";
const ELB: &str = "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2";

#[tokio::test]
async fn each_client_follows_its_own_service_endpoint_variable() {
    let moto_url = moto::moto_url();
    let dead = format!("http://{}", closed_port().await);
    // One attempt: a call sent to the closed port fails at once.
    let settings = ClientSettings {
        max_attempts: 1,
        ..ClientSettings::default()
    };

    // SAFETY: the only test in this binary; no other thread reads the
    // environment while it is written.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &dead);
        std::env::set_var(SECRETS_MANAGER, &moto_url);
        std::env::set_var(EC2, &moto_url);
        std::env::remove_var(ELB);
    }
    let config = load(&settings).await;

    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("service-endpoints-{}", std::process::id());
    secrets
        .create_secret()
        .name(&name)
        .secret_string("pem")
        .send()
        .await
        .expect("CreateSecret through AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let read = SecretsManagerStore::new(secrets).secret_string(&name).await;
    assert_eq!(read.expect("GetSecretValue"), "pem");

    aws_sdk_ec2::Client::new(&config)
        .describe_vpc_endpoints()
        .send()
        .await
        .expect("DescribeVpcEndpoints through AWS_ENDPOINT_URL_EC2");

    // The control: without its own variable, ELB goes to the closed port.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let unset = elb.describe_target_groups().send().await;
    assert!(unset.is_err(), "ELB reached moto without {ELB}");

    // SAFETY: as above.
    unsafe { std::env::set_var(ELB, &moto_url) };
    let config = load(&settings).await;
    aws_sdk_elasticloadbalancingv2::Client::new(&config)
        .describe_target_groups()
        .send()
        .await
        .expect("DescribeTargetGroups through AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
}
