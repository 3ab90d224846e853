//! health-probe's second kind of invocation: an observation of what
//! `DomainName` answers inside the VPC, whose load balancer that is, and
//! whether the probe's request through it is served. It writes no metric, so
//! the health signal is untouched. The wire types are [`crate::observe`]'s.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use futures_util::future::join_all;
use serde_json::Value;

use super::check::Prober;
use super::resolve::Target;
use super::summary::summarise;
use crate::model::Family;
use crate::observe::{self, Invocation, Observation, ObserveRequest, ObserveRequestError};
use crate::ports::{DnsError, NameResolver};

/// One invocation of health-probe: the scheduled probe, or an observation.
/// A malformed observation request is an error naming the field, and
/// nothing is probed or written.
pub async fn handle(
    prober: &Prober,
    resolver: &impl NameResolver,
    payload: &Value,
    lambda_deadline_ms: u64,
) -> Result<Value, ObserveRequestError> {
    let value = match observe::invocation(payload)? {
        Invocation::Probe => serde_json::to_value(prober.run(lambda_deadline_ms).await),
        Invocation::Observe(request) => {
            serde_json::to_value(prober.observe(&request, resolver).await)
        }
    };
    // Both are plain structs of strings, numbers and addresses.
    Ok(value.unwrap_or(Value::Null))
}

impl Prober {
    /// Resolves the domain and each load balancer through `resolver` (the
    /// VPC's, as clients there resolve), then sends the probe's request to
    /// each answered address, with the URL's host as SNI and `Host`.
    pub async fn observe(
        &self,
        request: &ObserveRequest,
        resolver: &impl NameResolver,
    ) -> Observation {
        let domain = self.domain().to_owned();
        let (answer, load_balancers) = futures_util::join!(
            addresses(resolver, &domain),
            join_all(
                request
                    .load_balancers
                    .iter()
                    .map(|(label, name)| async move {
                        let found = addresses(resolver, name).await.unwrap_or_default();
                        (label.clone(), found)
                    })
            )
        );
        let load_balancers: BTreeMap<String, BTreeSet<IpAddr>> =
            load_balancers.into_iter().collect();
        let mut observation = Observation {
            domain_name: domain.clone(),
            addresses: BTreeSet::new(),
            load_balancer: None,
            load_balancers,
            healthy: false,
            status: None,
            latency_ms: None,
            error: None,
        };
        let answer = match answer {
            Ok(answer) if !answer.is_empty() => answer,
            Ok(_) => {
                observation.error = Some(format!("{domain} has no A or AAAA records"));
                return observation;
            }
            Err(error) => {
                observation.error = Some(error.to_string());
                return observation;
            }
        };
        observation.load_balancer = observe::owner(&answer, &observation.load_balancers);
        let targets = answer.iter().map(|address| {
            Ok(Target {
                name: Some(domain.clone()),
                address: Some(*address),
            })
        });
        let summary = summarise(self.config(), self.probe_targets(targets).await);
        observation.addresses = answer;
        observation.healthy = summary.healthy;
        observation.status = summary.status;
        observation.latency_ms = summary.latency_ms;
        observation.error = summary.error;
        observation
    }
}

/// A name's A and AAAA records together; a family without records adds none.
async fn addresses(resolver: &impl NameResolver, name: &str) -> Result<BTreeSet<IpAddr>, DnsError> {
    let (v4, v6) = futures_util::join!(
        resolver.addresses(name, Family::Ipv4),
        resolver.addresses(name, Family::Ipv6)
    );
    let mut found = BTreeSet::new();
    for family in [v4, v6] {
        match family {
            Ok(addresses) => found.extend(addresses),
            Err(DnsError::NoRecords { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}
