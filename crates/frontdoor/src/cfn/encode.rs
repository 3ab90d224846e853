//! The response body, under CloudFormation's size limit.

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};

/// CloudFormation rejects a response body of 4,096 bytes or more.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// Serialises the response under CloudFormation's size limit: the reason is
/// cut first; a response still too large loses its data and fails.
pub(super) fn encode(response: &CloudFormationCustomResourceResponse) -> String {
    let mut response = response.clone();
    loop {
        let body = serde_json::to_string(&response).unwrap_or_default();
        if body.len() < MAX_RESPONSE_BYTES {
            return body;
        }
        let excess = body.len() + 1 - MAX_RESPONSE_BYTES;
        let reason = response.reason.take().unwrap_or_default();
        if reason.len() > excess + 1 {
            response.reason = Some(cut_to(&reason, reason.len() - excess - 1));
        } else if !response.data.is_empty() {
            response.data.clear();
            response.status = CloudFormationCustomResourceResponseStatus::Failed;
            response.reason = Some(format!(
                "The response Data would exceed CloudFormation's {MAX_RESPONSE_BYTES}-byte limit."
            ));
        } else {
            // Only the echoed ids are left: cut the longest one.
            response.reason = Some(reason);
            let longest = [
                &mut response.physical_resource_id,
                &mut response.stack_id,
                &mut response.request_id,
                &mut response.logical_resource_id,
            ]
            .into_iter()
            .max_by_key(|id| id.len());
            match longest {
                Some(id) if id.len() > '…'.len_utf8() => {
                    *id = cut_to(id, id.len().saturating_sub(excess + 1));
                }
                _ => return body,
            }
        }
    }
}

/// Cuts text to at most `max` bytes on a character boundary, marking the cut.
fn cut_to(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub('…'.len_utf8());
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;

    fn response(physical_resource_id: &str, reason: &str) -> CloudFormationCustomResourceResponse {
        let mut response = CloudFormationCustomResourceResponse::default();
        response.physical_resource_id = physical_resource_id.to_owned();
        response.stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/0f0e".into();
        response.request_id = "r-1".into();
        response.logical_resource_id = "Targets".into();
        response.status = CloudFormationCustomResourceResponseStatus::Failed;
        response.reason = Some(reason.to_owned());
        response
    }

    #[test]
    fn a_long_reason_is_cut_to_fit() {
        let body = encode(&response("id", &"é".repeat(10_000)));
        assert!(body.len() < MAX_RESPONSE_BYTES, "{}", body.len());
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert!(parsed["Reason"].as_str().unwrap().ends_with('…'));
        assert_eq!(parsed["Status"], "FAILED");
    }

    #[test]
    fn oversized_data_turns_into_a_failure() {
        let mut success = response("id", "OK");
        success.status = CloudFormationCustomResourceResponseStatus::Success;
        success.data = (0..200)
            .map(|i| (format!("IP{i}"), "10.100.100.100".to_owned()))
            .collect::<HashMap<_, _>>();
        let body = encode(&success);
        assert!(body.len() < MAX_RESPONSE_BYTES);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["Status"], "FAILED");
        assert!(parsed["Reason"].as_str().unwrap().contains("4096-byte"));
    }

    #[test]
    fn long_echoed_ids_are_cut_until_the_response_fits() {
        let mut long = response(&"p".repeat(3000), "Reason.");
        long.stack_id = "s".repeat(3000);
        long.request_id = "r".repeat(3000);
        let body = encode(&long);
        assert!(body.len() < MAX_RESPONSE_BYTES, "{}", body.len());
    }

    #[test]
    fn a_small_response_is_unchanged() {
        let parsed: Value = serde_json::from_str(&encode(&response("id", "Short."))).unwrap();
        assert_eq!(parsed["Reason"], "Short.");
        assert_eq!(parsed["PhysicalResourceId"], "id");
        assert_eq!(parsed["LogicalResourceId"], "Targets");
    }
}
