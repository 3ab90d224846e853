//! [`HealthChecks`] on Route 53 (the operator CLI).

use super::sdk_error;
use crate::model::{FailoverRecord, FailoverRole, HealthCheck, Observation};
use crate::ports::{AwsError, HealthChecks};
use aws_sdk_route53::types::ResourceRecordSetFailover;

const NO_SUCH_HEALTH_CHECK: &str = "NoSuchHealthCheck";

/// [`HealthChecks`] on Route 53.
#[derive(Debug, Clone)]
pub struct Route53HealthChecks {
    client: aws_sdk_route53::Client,
}

impl Route53HealthChecks {
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        Self { client }
    }
}

/// A DNS name as Route 53 lists it: lower case, with its final dot.
fn absolute(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

impl HealthChecks for Route53HealthChecks {
    async fn health_check(&self, id: &str) -> Result<Option<HealthCheck>, AwsError> {
        let result = self
            .client
            .get_health_check()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("GetHealthCheck", e));
        let output = match result {
            Err(err) if err.has_code(NO_SUCH_HEALTH_CHECK) => return Ok(None),
            other => other?,
        };
        let Some(config) = output.health_check().and_then(|c| c.health_check_config()) else {
            return Ok(None);
        };
        Ok(Some(HealthCheck {
            id: id.to_owned(),
            check_type: config.r#type().as_str().to_owned(),
            inverted: config.inverted().unwrap_or(false),
            disabled: config.disabled().unwrap_or(false),
            children: config.child_health_checks().to_vec(),
            health_threshold: config
                .health_threshold()
                .and_then(|t| u32::try_from(t).ok()),
            version: output
                .health_check()
                .map(|c| c.health_check_version())
                .unwrap_or_default(),
        }))
    }

    async fn observations(&self, id: &str) -> Result<Vec<Observation>, AwsError> {
        let output = self
            .client
            .get_health_check_status()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("GetHealthCheckStatus", e))?;
        Ok(output
            .health_check_observations()
            .iter()
            .map(|o| Observation {
                region: o
                    .region()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                status: o
                    .status_report()
                    .and_then(|r| r.status())
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect())
    }

    async fn set_inverted(&self, id: &str, inverted: bool, version: i64) -> Result<i64, AwsError> {
        let output = self
            .client
            .update_health_check()
            .health_check_id(id)
            .health_check_version(version)
            .inverted(inverted)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateHealthCheck", e))?;
        Ok(output
            .health_check()
            .map(|c| c.health_check_version())
            .unwrap_or(version))
    }

    async fn failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
    ) -> Result<Vec<FailoverRecord>, AwsError> {
        let name = absolute(name);
        // Records are listed in name order from the start name: a failover
        // pair of A and AAAA records is four, well inside one page.
        let output = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .start_record_name(&name)
            .send()
            .await
            .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
        Ok(output
            .resource_record_sets()
            .iter()
            .filter(|r| absolute(r.name()) == name)
            .filter_map(|r| {
                let role = match r.failover()? {
                    ResourceRecordSetFailover::Primary => FailoverRole::Primary,
                    ResourceRecordSetFailover::Secondary => FailoverRole::Secondary,
                    _ => return None,
                };
                Some(FailoverRecord {
                    record_type: r.r#type().as_str().to_owned(),
                    role,
                    set_identifier: r.set_identifier().unwrap_or_default().to_owned(),
                    health_check_id: r.health_check_id().map(str::to_owned),
                    alias_target: r
                        .alias_target()
                        .map(|a| a.dns_name().trim_end_matches('.').to_owned()),
                })
            })
            .collect())
    }
}
