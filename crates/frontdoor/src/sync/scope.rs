//! Which bindings an event asks to reconcile.

use super::bindings::Binding;
use crate::cfn::props;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;
use std::collections::BTreeSet;

/// Which bindings an event asks to reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A schedule, or any event not recognised: every binding.
    All,
    /// A CloudTrail API call about these endpoints.
    Endpoints(BTreeSet<String>),
}

const ENDPOINT_EVENTS: [&str; 3] = [
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DeleteVpcEndpoints",
];

impl Scope {
    /// Reads the scope from any JSON.
    pub fn of_event(event: &Value) -> Self {
        let Ok(event) = serde_json::from_value::<EventBridgeEvent<Value>>(event.clone()) else {
            return Scope::All;
        };
        let is_endpoint_call = event.detail_type == "AWS API Call via CloudTrail"
            && event.source == "aws.ec2"
            && event
                .detail
                .get("eventName")
                .and_then(Value::as_str)
                .is_some_and(|name| ENDPOINT_EVENTS.contains(&name));
        if !is_endpoint_call {
            return Scope::All;
        }
        // Only the call's parameters and response name its subject: the
        // top-level `vpcEndpointId` of a CloudTrail record is the endpoint the
        // call came through. EC2 wraps newer parameters (e.g.
        // `ModifyVpcEndpointRequest.VpcEndpointId`), so search the whole tree.
        let mut ids = BTreeSet::new();
        for part in ["requestParameters", "responseElements"] {
            if let Some(value) = event.detail.get(part) {
                collect_endpoint_ids(value, &mut ids);
            }
        }
        Scope::Endpoints(ids)
    }

    pub(super) fn covers(&self, binding: &Binding) -> bool {
        match self {
            Scope::All => true,
            // A hostname has no API call to follow: the schedule covers it.
            Scope::Endpoints(ids) => binding.vpc_endpoint_id().is_some_and(|id| ids.contains(id)),
        }
    }
}

fn collect_endpoint_ids(value: &Value, ids: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if props::ec2_id("", "vpce", s).is_ok() => {
            ids.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_endpoint_ids(v, ids)),
        Value::Object(map) => map.values().for_each(|v| collect_endpoint_ids(v, ids)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Source;
    use serde_json::json;

    fn cloudtrail(event_name: &str, request: Value) -> Value {
        json!({
            "version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
            "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"eventSource": "ec2.amazonaws.com", "eventName": event_name, "requestParameters": request,
                       "vpcEndpointId": "vpce-99999999"}
        })
    }

    #[test]
    fn cloudtrail_events_scope_to_the_endpoints_they_name() {
        let event = cloudtrail(
            "ModifyVpcEndpoint",
            json!({"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0123456789abcdef0"}}),
        );
        assert_eq!(
            Scope::of_event(&event),
            Scope::Endpoints(["vpce-0123456789abcdef0".to_owned()].into())
        );
        let event = cloudtrail(
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": [{"tag": 1, "content": "vpce-01234567"}]}}),
        );
        assert_eq!(
            Scope::of_event(&event),
            Scope::Endpoints(["vpce-01234567".to_owned()].into())
        );
    }

    #[test]
    fn an_endpoint_event_covers_no_hostname_binding() {
        let binding = |source| Binding {
            source,
            target_group_arns: Vec::new(),
            port: 443,
        };
        let scope = Scope::Endpoints(["vpce-01234567".to_owned()].into());
        assert!(scope.covers(&binding(Source::VpcEndpointId("vpce-01234567".into()))));
        assert!(!scope.covers(&binding(Source::VpcEndpointId("vpce-76543210".into()))));
        assert!(!scope.covers(&binding(Source::Hostname("vpce-01234567.example".into()))));
        assert!(Scope::All.covers(&binding(Source::Hostname("api.onprem.example".into()))));
    }

    #[test]
    fn other_events_scope_to_all_bindings() {
        assert_eq!(Scope::of_event(&json!({})), Scope::All);
        assert_eq!(Scope::of_event(&json!("text")), Scope::All);
        assert_eq!(
            Scope::of_event(&cloudtrail("RunInstances", json!({"x": "vpce-01234567"}))),
            Scope::All
        );
        let scheduled = json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
        assert_eq!(Scope::of_event(&scheduled), Scope::All);
    }
}
