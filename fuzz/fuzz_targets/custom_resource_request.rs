//! A custom-resource request as the Lambda runtime hands it over: JSON, read
//! as CloudFormation's request, then as each resource's properties. Nothing
//! may panic, and every property error names a property and stays short
//! (a 1 MB value is quoted cut).
#![no_main]

use frontdoor::cfn::Request;
use frontdoor::resources::endpoint_targets::EndpointTargetsProps;
use frontdoor::resources::prefix_list_ingress::PrefixListIngressProps;
use frontdoor::cfn::props::PropertyError;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn check(result: Result<impl Sized, PropertyError>) {
    if let Err(err) = result {
        assert!(
            !err.property.is_empty(),
            "an error naming no property: {err}"
        );
        assert!(
            err.to_string().len() < 1024,
            "an error of {} bytes",
            err.to_string().len()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = serde_json::from_value::<Request>(event.clone());
    for properties in [
        &event,
        event.get("ResourceProperties").unwrap_or(&Value::Null),
        event.get("OldResourceProperties").unwrap_or(&Value::Null),
    ] {
        check(EndpointTargetsProps::parse(properties));
        check(PrefixListIngressProps::parse(properties));
    }
});
