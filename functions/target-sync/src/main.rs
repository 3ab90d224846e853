//! `target-sync`: drift repair of the target groups named in `FRONTDOOR_BINDINGS`,
//! run by EventBridge (CloudTrail API calls) and a schedule. Hostname bindings
//! ask `FRONTDOOR_DNS_SERVER`, or the system's resolver.

use frontdoor::aws::{Ec2Endpoints, ElbTargets};
use frontdoor::deadline::Budget;
use frontdoor::dns::{self, HickoryResolver};
use frontdoor::sync::{self, Syncer};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    frontdoor::logging::init();
    // Invalid configuration fails the initialisation, naming the variable, so
    // that every invocation fails loudly and none acts on half of it.
    let bindings = sync::bindings_from_env().inspect_err(|err| tracing::error!("{err}"))?;
    let namespace = frontdoor::config::metric_namespace_from_env()
        .inspect_err(|err| tracing::error!("{err}"))?;
    let budget = Budget::from_env().inspect_err(|err| tracing::error!("{err}"))?;
    let grace = dns::grace_from_env().inspect_err(|err| tracing::error!("{err}"))?;
    let resolver = dns::dns_server_from_env()
        .map(HickoryResolver::new)
        .inspect_err(|err| tracing::error!("{err}"))?;
    let config = frontdoor::aws::config::load(&Default::default()).await;
    let syncer = Syncer::new(
        Ec2Endpoints::new(aws_sdk_ec2::Client::new(&config)),
        ElbTargets::new(aws_sdk_elasticloadbalancingv2::Client::new(&config)),
        resolver,
    )
    .with_budget(budget)
    .with_grace(grace);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (syncer, bindings, namespace) = (&syncer, &bindings, &namespace);
        async move {
            syncer
                .handle(bindings, namespace, &event.payload, event.context.deadline)
                .await
        }
    }))
    .await
}
