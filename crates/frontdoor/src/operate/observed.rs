//! The answer seen inside a Region's VPC, for `status` and `drill`: which
//! load balancers to tell apart, and what an observation says about them.
//! Load balancers are labelled by Region, so that "whose load balancer" reads
//! the way the failover records do.

use super::front_door::FrontDoor;
use crate::model::FailoverRecord;
use crate::observe::{Observation, ObserveRequest};
use std::collections::BTreeMap;

/// This Region's load balancer, and every other Region's that a failover
/// record aliases; `None` when not one is known.
pub fn request(front_door: &FrontDoor, records: &[FailoverRecord]) -> Option<ObserveRequest> {
    let mut load_balancers: BTreeMap<String, String> = records
        .iter()
        .filter(|r| r.record_type == "A")
        .filter_map(|r| Some((r.region()?.to_owned(), r.alias_target.clone()?)))
        .collect();
    if let Some(own) = &front_door.load_balancer_dns_name {
        load_balancers.insert(front_door.region.clone(), own.clone());
    }
    (!load_balancers.is_empty()).then_some(ObserveRequest { load_balancers })
}

/// One line on what the observer saw: the answer, whose it is, the request.
pub fn describe(observation: &Observation) -> String {
    let addresses = observation
        .addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let whose = observation
        .load_balancer
        .as_deref()
        .map_or("no known load balancer".to_owned(), |region| {
            format!("{region}'s load balancer")
        });
    let request = match (observation.healthy, observation.status) {
        (true, Some(status)) => format!("served ({status})"),
        _ => format!(
            "not served ({})",
            observation.error.as_deref().unwrap_or("no answer")
        ),
    };
    format!(
        "{} answers [{addresses}], {whose}; the request through it: {request}",
        observation.domain_name
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::FailoverRole;
    use crate::operate::front_door::tests::description;
    use crate::operate::health::tests::record;
    use std::collections::BTreeSet;

    /// What an observer in a VPC would return: `answer` is `serving`'s load balancer's address.
    pub fn seen(serving: &str, served: bool) -> Observation {
        let address: std::net::IpAddr = match serving {
            "eu-west-1" => "10.0.0.10".parse().unwrap(),
            _ => "10.1.0.10".parse().unwrap(),
        };
        Observation {
            domain_name: "api.example.com".into(),
            addresses: BTreeSet::from([address]),
            load_balancer: Some(serving.to_owned()),
            load_balancers: BTreeMap::new(),
            healthy: served,
            status: served.then_some(200),
            latency_ms: Some(4.0),
            error: (!served).then(|| "connection refused".to_owned()),
        }
    }

    #[test]
    fn the_request_names_both_regions_load_balancers() {
        let front_door = FrontDoor::from_stack("eu-west-1", &description(&[])).unwrap();
        let records = [
            record(FailoverRole::Primary, "eu-west-1", Some("a")),
            record(FailoverRole::Secondary, "eu-central-1", Some("b")),
        ];
        let request = request(&front_door, &records).unwrap();
        assert_eq!(
            request.load_balancers,
            BTreeMap::from([
                (
                    "eu-central-1".to_owned(),
                    "internal-SECONDARY.eu-central-1.elb.amazonaws.com".to_owned()
                ),
                (
                    "eu-west-1".to_owned(),
                    "internal-PRIMARY.eu-west-1.elb.amazonaws.com".to_owned()
                ),
            ])
        );
    }

    #[test]
    fn a_line_says_whose_answer_and_whether_it_was_served() {
        assert_eq!(
            describe(&seen("eu-central-1", true)),
            "api.example.com answers [10.1.0.10], eu-central-1's load balancer; the request through it: served (200)"
        );
    }
}
