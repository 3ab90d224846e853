//! [`TargetGroupTags`] on Elastic Load Balancing v2: where hostname bindings
//! keep their no-flap state, and `Custom::EndpointTargets` its claims.

use super::{ElbTargets, sdk_error};
use crate::ports::{AwsError, TargetGroupTags};
use aws_sdk_elasticloadbalancingv2::types::Tag;
use std::collections::BTreeMap;

/// `DescribeTags` takes at most 20 ARNs
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html).
const ARNS_PER_CALL: usize = 20;

impl TargetGroupTags for ElbTargets {
    async fn tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let mut tags = BTreeMap::new();
        for batch in arns.chunks(ARNS_PER_CALL) {
            let output = self
                .client()
                .describe_tags()
                .set_resource_arns(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("DescribeTags", e))?;
            for description in output.tag_descriptions() {
                let arn = description.resource_arn().unwrap_or_default().to_owned();
                let pairs = description
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
                tags.entry(arn).or_insert_with(BTreeMap::new).extend(pairs);
            }
        }
        Ok(tags)
    }

    async fn add_tags(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect();
        self.client()
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("AddTags", e))
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client()
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("RemoveTags", e))
    }
}
