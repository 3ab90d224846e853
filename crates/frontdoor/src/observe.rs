//! The observer: what `DomainName` answers inside a Region's VPC, and whose
//! load balancer that is. health-probe answers an [`ObserveRequest`] (a direct
//! `Invoke`); the operator CLI sends it from `frontdoor status` and `drill`.
//! Nothing outside a VPC can see a private zone's answer (Route 53's
//! `TestDNSAnswer` queries public zones only), so this is how a failover is
//! seen rather than inferred.
//!
//! The request is an object with the one key `observe`. A scheduled event
//! (`source`, `detail-type`, …) never has it, so the two kinds of invocation
//! cannot be mistaken for each other; a request that has the key but not the
//! shape is refused, naming the field, before anything is resolved.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The key that makes an invocation an observation.
pub const OBSERVE: &str = "observe";

/// An observation request: the load balancers to tell apart, by a label the
/// caller chooses (the CLI uses the failover records' set identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObserveRequest {
    /// Label → the load balancer's DNS name, resolved the same way as the
    /// domain, from inside the VPC.
    pub load_balancers: BTreeMap<String, String>,
}

/// What health-probe is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// The scheduled probe: metrics for the alarm.
    Probe,
    /// An observation: no metric is written.
    Observe(ObserveRequest),
}

/// A request with the `observe` key that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid observe request: {0}")]
pub struct ObserveRequestError(String);

impl From<ObserveRequestError> for lambda_runtime::Diagnostic {
    fn from(err: ObserveRequestError) -> Self {
        Self {
            error_type: "InvalidObserveRequest".to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// The most load balancers one request may name: two Regions, with room to spare.
const MAX_LOAD_BALANCERS: usize = 8;
/// The longest DNS name (RFC 1035 §2.3.4).
const MAX_NAME: usize = 253;

/// Which kind of invocation `payload` is.
pub fn invocation(payload: &Value) -> Result<Invocation, ObserveRequestError> {
    let Some(request) = payload.as_object().and_then(|o| o.get(OBSERVE)) else {
        return Ok(Invocation::Probe);
    };
    if payload.as_object().is_some_and(|o| o.len() != 1) {
        return Err(ObserveRequestError(format!(
            "`{OBSERVE}` must be the request's only key"
        )));
    }
    let request: ObserveRequest = serde_json::from_value(request.clone())
        .map_err(|e| ObserveRequestError(format!("{OBSERVE}: {e}")))?;
    let count = request.load_balancers.len();
    if !(1..=MAX_LOAD_BALANCERS).contains(&count) {
        return Err(ObserveRequestError(format!(
            "{OBSERVE}.loadBalancers must name 1 to {MAX_LOAD_BALANCERS} load balancers, not {count}"
        )));
    }
    if let Some((label, _)) = request
        .load_balancers
        .iter()
        .find(|(label, name)| label.is_empty() || name.is_empty() || name.len() > MAX_NAME)
    {
        return Err(ObserveRequestError(format!(
            "{OBSERVE}.loadBalancers.{label:?}: a label and a DNS name of at most {MAX_NAME} characters"
        )));
    }
    Ok(Invocation::Observe(request))
}

/// What the observer saw from inside its VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub domain_name: String,
    /// The domain's A and AAAA answer through the VPC's resolver.
    pub addresses: BTreeSet<IpAddr>,
    /// The label whose load balancer holds every answered address, if one does.
    pub load_balancer: Option<String>,
    /// Each requested load balancer's addresses, resolved the same way.
    pub load_balancers: BTreeMap<String, BTreeSet<IpAddr>>,
    /// The probe's request through the answered addresses: true when every
    /// address gave an expected status.
    pub healthy: bool,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    /// Why the answer or the request failed, when one did.
    pub error: Option<String>,
}

/// The label of the load balancer that holds every address of `answer`.
/// An empty answer belongs to none.
pub fn owner(
    answer: &BTreeSet<IpAddr>,
    load_balancers: &BTreeMap<String, BTreeSet<IpAddr>>,
) -> Option<String> {
    if answer.is_empty() {
        return None;
    }
    load_balancers
        .iter()
        .find(|(_, addresses)| answer.is_subset(addresses))
        .map(|(label, _)| label.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ips(items: &[&str]) -> BTreeSet<IpAddr> {
        items.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_scheduled_event_is_the_probe() {
        let scheduled =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(invocation(&scheduled).unwrap(), Invocation::Probe);
        assert_eq!(invocation(&json!({})).unwrap(), Invocation::Probe);
        assert_eq!(invocation(&json!("text")).unwrap(), Invocation::Probe);
    }

    #[test]
    fn an_observe_request_is_read() {
        let request = json!({"observe": {"loadBalancers": {"PRIMARY-eu-west-1": "internal-a.elb.amazonaws.com"}}});
        let Invocation::Observe(request) = invocation(&request).unwrap() else {
            panic!("not an observation");
        };
        assert_eq!(
            request.load_balancers["PRIMARY-eu-west-1"],
            "internal-a.elb.amazonaws.com"
        );
    }

    #[test]
    fn a_malformed_observe_request_names_the_field() {
        for (payload, field) in [
            (json!({"observe": 5}), "observe"),
            (json!({"observe": {}}), "loadBalancers"),
            (json!({"observe": {"loadBalancers": {}}}), "loadBalancers"),
            (
                json!({"observe": {"loadBalancers": {"a": ""}}}),
                "loadBalancers",
            ),
            (
                json!({"observe": {"loadBalancers": {"a": "x"}, "extra": 1}}),
                "extra",
            ),
            (
                json!({"observe": {"loadBalancers": {"a": "x"}}, "source": "aws.events"}),
                "only key",
            ),
        ] {
            let error = invocation(&payload).expect_err("refused").to_string();
            assert!(error.contains(field), "{payload}: {error}");
        }
    }

    #[test]
    fn the_owner_holds_every_answered_address() {
        let lbs = BTreeMap::from([
            ("PRIMARY".to_owned(), ips(&["10.0.0.1", "10.0.1.1"])),
            ("SECONDARY".to_owned(), ips(&["10.1.0.1", "10.1.1.1"])),
        ]);
        assert_eq!(owner(&ips(&["10.0.1.1"]), &lbs), Some("PRIMARY".into()));
        assert_eq!(
            owner(&ips(&["10.1.0.1", "10.1.1.1"]), &lbs),
            Some("SECONDARY".into())
        );
        // Half of each is nobody's: a client could reach either Region.
        assert_eq!(owner(&ips(&["10.0.0.1", "10.1.0.1"]), &lbs), None);
        assert_eq!(owner(&BTreeSet::new(), &lbs), None);
    }

    proptest! {
        #[test]
        fn an_owner_always_holds_the_whole_answer(
            answer in proptest::collection::btree_set(any::<[u8; 4]>().prop_map(IpAddr::from), 0..4),
            held in proptest::collection::btree_set(any::<[u8; 4]>().prop_map(IpAddr::from), 0..6),
        ) {
            let lbs = BTreeMap::from([("lb".to_owned(), held.clone())]);
            match owner(&answer, &lbs) {
                Some(_) => prop_assert!(!answer.is_empty() && answer.is_subset(&held)),
                None => prop_assert!(answer.is_empty() || !answer.is_subset(&held)),
            }
        }
    }
}
