//! `health-probe`: a scheduled probe from inside the VPC, writing EMF metrics for
//! the alarm behind a Route 53 `CLOUDWATCH_METRIC` health check; invoked
//! directly with an `observe` request, it reports what the domain answers
//! inside the VPC instead, and writes no metric.
//! Everything it does lives in [`frontdoor::probe`].

use frontdoor::dns::{self, HickoryResolver};
use frontdoor::probe::{ProbeConfig, Prober};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    frontdoor::logging::init();

    // Bad configuration is the function's own fault: fail the initialisation, with
    // the variable's name, rather than report an unhealthy API on every run.
    // The AWS configuration is loaded only for PROBE_CLIENT_CERT_SECRET.
    let resolver = dns::dns_server_from_env()
        .map(HickoryResolver::new)
        .inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let prober = match ProbeConfig::from_env() {
        Ok(config) => Prober::start(config).await,
        Err(error) => Err(error),
    }
    .inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let (prober, resolver) = (&prober, &resolver);

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = &event.payload;
        frontdoor::probe::handle(prober, resolver, payload, event.context.deadline).await
    }))
    .await
}
