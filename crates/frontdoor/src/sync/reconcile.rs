//! Reconciling one binding, group by group: the desired state against the
//! group's targets, a plan, and its writes. An endpoint binding's group is
//! here; a hostname binding's is in [`super::hostname`].

use super::reads::Shared;
use super::{Binding, BindingReport, Source, Syncer};
use crate::model::{Family, TargetGroup};
use crate::plan::{self, endpoint_ips};
use crate::ports::{
    EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    pub(super) async fn reconcile(&self, binding: &Binding, shared: &Shared) -> BindingReport {
        let mut report = BindingReport::new(binding);
        let mut answers: BTreeMap<Family, BTreeSet<IpAddr>> = BTreeMap::new();
        for arn in &binding.target_group_arns {
            let outcome = match shared.groups.get(arn) {
                None => Err(format!("target group {arn} does not exist")),
                Some(group) => match &binding.source {
                    Source::VpcEndpointId(id) => {
                        self.reconcile_endpoint_group(id, binding.port, group, shared, &mut report)
                            .await
                    }
                    Source::Hostname(name) => {
                        self.reconcile_hostname_group(
                            name,
                            binding.port,
                            group,
                            shared,
                            &mut answers,
                            &mut report,
                        )
                        .await
                    }
                },
            };
            if let Err(reason) = outcome {
                tracing::error!(source = %binding.source, target_group = %arn, %reason, "binding skipped or failed; nothing deregistered after the failure");
                report.skipped = Some(reason);
                break;
            }
        }
        report
    }

    async fn reconcile_endpoint_group(
        &self,
        endpoint_id: &str,
        port: u16,
        group: &TargetGroup,
        shared: &Shared,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let reads = shared.endpoints.as_ref().map_err(Clone::clone)?;
        let desired = endpoint_ips(
            endpoint_id,
            &reads.endpoints,
            &reads.interfaces,
            group.family,
        )
        .map_err(|unknown| match group.family {
            Family::Ipv6 => format!("{unknown} (target group {} is ipv6)", group.arn),
            Family::Ipv4 => unknown.to_string(),
        })?;
        if desired.transitional {
            report.transitional = true;
            tracing::info!(
                endpoint = endpoint_id,
                "the endpoint has fewer interfaces than subnets: registering what it lists, deregistering nothing"
            );
        }
        let arn = group.arn.as_str();
        let current = self.current_targets(arn).await?;
        let desired_ips = desired.ip_set();
        let plan = if desired.transitional {
            plan::registration_plan(&desired_ips, port, &current)
        } else {
            plan::sync_plan(Some(&desired_ips), port, &current)
        };
        report.unchanged += plan.unchanged;
        if plan.is_empty() {
            return Ok(());
        }
        // Every write waits for the endpoint to be read again, so that a run
        // that read it before a change neither registers again an IP a newer
        // run removed nor deregisters one it added.
        let interfaces_now = self.interfaces_now(endpoint_id).await;
        let plan = plan::confirmed(plan, &desired.interfaces, interfaces_now.as_ref());
        if plan.is_empty() {
            tracing::info!(
                target_group = arn,
                endpoint = endpoint_id,
                "the endpoint's interfaces changed during the run: writing nothing, the next run will"
            );
            return Ok(());
        }
        self.apply(arn, plan, report).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fakes::*;
    use super::super::{Binding, Scope, Source, Syncer};
    use crate::model::{Endpoint, Family, NetworkInterface, Target};
    use crate::ports::{AwsError, EndpointDirectory, SubnetDirectory};
    use ipnet::IpNet;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::time::Instant;

    /// [`FakeDirectory`]'s endpoint, whose interfaces another subnet replaces
    /// after the run's first read, as `ModifyVpcEndpoint` does.
    #[derive(Default)]
    struct MovingDirectory {
        reads: AtomicUsize,
    }

    impl EndpointDirectory for MovingDirectory {
        async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
            let mut endpoints = FakeDirectory.endpoints(ids).await?;
            if self.reads.fetch_add(1, Ordering::SeqCst) > 0 {
                for endpoint in &mut endpoints {
                    endpoint.network_interface_ids = vec!["eni-3".into(), "eni-4".into()];
                }
            }
            Ok(endpoints)
        }

        async fn network_interfaces(
            &self,
            ids: &[String],
        ) -> Result<Vec<NetworkInterface>, AwsError> {
            FakeDirectory.network_interfaces(ids).await
        }
    }

    impl SubnetDirectory for MovingDirectory {
        async fn subnet_ranges(
            &self,
            vpc_ids: &[String],
        ) -> Result<BTreeMap<String, Vec<IpNet>>, AwsError> {
            FakeDirectory.subnet_ranges(vpc_ids).await
        }
    }

    /// A slow run that read the endpoint before it changed must not register
    /// its old IPs, which a newer run may have removed already.
    #[tokio::test]
    async fn a_run_whose_endpoint_changed_before_its_writes_registers_nothing() {
        let registry = FakeRegistry::new(Family::Ipv4, &[]);
        let syncer = Syncer::new(MovingDirectory::default(), registry, answering(&[]));
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let binding = binding(Source::VpcEndpointId("vpce-01234567".into()));
        let report = syncer.run(&[binding], &Scope::All, deadline).await;
        assert_eq!(report.bindings[0].registered, 0, "{report:?}");
        assert_eq!(syncer.registry.writes(), 0);
        assert_eq!(syncer.directory.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_draining_target_that_is_desired_is_registered_again() {
        let registry = FakeRegistry::new(Family::Ipv4, &[("10.0.0.1", true), ("10.0.0.2", false)]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&[]));
        let report = run_once(&syncer, Source::VpcEndpointId("vpce-01234567".into())).await;
        assert_eq!(report.registered, 1);
        assert_eq!(
            *syncer.registry.registered.lock().unwrap(),
            [Target {
                ip: "10.0.0.1".parse().unwrap(),
                port: 443,
                all_zones: false,
            }]
        );
        assert!(syncer.registry.deregistered.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_ipv6_group_and_an_ipv4_only_endpoint_is_an_error_naming_both() {
        let registry = FakeRegistry::new(Family::Ipv6, &[]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&[]));
        let report = run_once(&syncer, Source::VpcEndpointId("vpce-01234567".into())).await;
        let reason = report.skipped.unwrap();
        assert!(
            reason.contains("vpce-01234567") && reason.contains(ARN),
            "{reason}"
        );
        assert_eq!(syncer.registry.writes(), 0);
    }

    #[tokio::test]
    async fn a_failed_read_of_one_kind_of_source_fails_only_its_bindings() {
        let registry = FakeRegistry {
            tags_fail: true,
            ..FakeRegistry::new(Family::Ipv4, &[])
        };
        let syncer = Syncer::new(FakeDirectory, registry, answering(&["192.168.7.1"]));
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let bindings = [
            binding(Source::VpcEndpointId("vpce-01234567".into())),
            Binding {
                target_group_arns: vec![ARN.replace("/tg/", "/onprem/")],
                ..binding(hostname())
            },
        ];
        let report = syncer.run(&bindings, &Scope::All, deadline).await;
        assert_eq!(report.bindings[0].skipped, None);
        assert_eq!(report.bindings[0].registered, 2);
        let reason = report.bindings[1].skipped.clone().unwrap();
        assert!(reason.contains("DescribeTags"), "{reason}");
    }
}
