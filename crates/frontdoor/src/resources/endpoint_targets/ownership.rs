//! A `Custom::EndpointTargets`' claims on its target groups: recorded before
//! it registers, moved by an Update in place, let go of by a Delete, with the
//! rule of [`crate::plan::claims`].

use super::{EndpointTargets, EndpointTargetsError, EndpointTargetsProps, Groups, Ips, ip_set};
use crate::plan::Owner;
use crate::plan::claims::{Claim, NoRoom, other_claims, release_plan, room_for};
use crate::ports::{EndpointDirectory, TargetGroupTags, TargetRegistry};
use std::collections::BTreeMap;

/// Each group's tags, by ARN.
type Tags = BTreeMap<String, BTreeMap<String, String>>;

impl<D: EndpointDirectory, R: TargetRegistry + TargetGroupTags> EndpointTargets<D, R> {
    /// The groups' tags (one `DescribeTags`), once each group is known to
    /// have room for the owner's claim: ELB's limit is checked before any
    /// write.
    pub(super) async fn check_room(
        &self,
        groups: &Groups,
        claim: &Claim,
        owner: &Owner,
    ) -> Result<Tags, EndpointTargetsError> {
        let arns: Vec<String> = groups.iter().map(|(arn, _)| arn.clone()).collect();
        let tags = self.registry.tags(&arns).await?;
        let key = owner.of_identity(&claim.endpoint).tag_key();
        for arn in &arns {
            room_for(&key, tags.get(arn).unwrap_or(&BTreeMap::new())).map_err(
                |NoRoom { total }| EndpointTargetsError::NoRoomForClaim {
                    target_group: arn.clone(),
                    total,
                },
            )?;
        }
        Ok(tags)
    }

    /// Records the claim on every group that does not hold it yet. When one
    /// cannot be recorded, the claims this call recorded are undone (as far
    /// as ELB lets them be), so that a failed request leaves no claim.
    pub(super) async fn record(
        &self,
        groups: &Groups,
        claim: &Claim,
        owner: &Owner,
        tags: &Tags,
    ) -> Result<(), EndpointTargetsError> {
        let key = owner.of_identity(&claim.endpoint).tag_key();
        let value = claim.tag_value(owner);
        let mut recorded: Vec<(&str, Option<&String>)> = Vec::new();
        for (arn, _) in groups {
            let before = tags.get(arn).and_then(|tags| tags.get(&key));
            if before == Some(&value) {
                continue;
            }
            tracing::info!(target_group = %arn, key, value, "recording the claim");
            let tag = BTreeMap::from([(key.clone(), value.clone())]);
            if let Err(error) = self.registry.add_tags(arn, &tag).await {
                for (arn, before) in recorded {
                    if let Err(err) = self.restore(arn, &key, before).await {
                        tracing::error!(target_group = arn, key, %err, "could not undo a claim");
                    }
                }
                return Err(EndpointTargetsError::ClaimNotRecorded {
                    target_group: arn.clone(),
                    error,
                });
            }
            recorded.push((arn, before));
        }
        Ok(())
    }

    /// Puts a claim back as it was: its old value, or no tag.
    async fn restore(
        &self,
        arn: &str,
        key: &str,
        before: Option<&String>,
    ) -> Result<(), crate::ports::AwsError> {
        match before {
            Some(value) => {
                let tag = BTreeMap::from([(key.to_owned(), value.clone())]);
                self.registry.add_tags(arn, &tag).await
            }
            None => self.registry.remove_tags(arn, &[key.to_owned()]).await,
        }
    }

    /// An Update in place on the same endpoint: its IPs leave the (group,
    /// port) pairs that the new properties no longer list, unless another
    /// owner claims them there. A group still listed already holds the new
    /// claim; one no longer listed loses it. Such a group already gone is
    /// skipped.
    pub(super) async fn move_claim(
        &self,
        properties: &EndpointTargetsProps,
        old: &EndpointTargetsProps,
        owner: &Owner,
        ips: &mut Ips,
    ) -> Result<(), EndpointTargetsError> {
        let dropped: Vec<String> = old
            .target_group_arns
            .iter()
            .filter(|arn| {
                old.port != properties.port || !properties.target_group_arns.contains(arn)
            })
            .cloned()
            .collect();
        let dropped = self.existing_families(&dropped).await?;
        // A dropped group of a family the new groups do not use.
        if dropped.iter().any(|(_, family)| !ips.contains_key(family)) {
            let snapshot = self.read(&properties.vpc_endpoint_id).await?;
            for (_, family) in &dropped {
                if let Ok(found) = snapshot.ips(&properties.vpc_endpoint_id, *family) {
                    ips.entry(*family).or_insert(found.ips);
                }
            }
        }
        let claim = Claim::new(&old.vpc_endpoint_id, old.port);
        let still_listed = |arn: &str| properties.target_group_arns.iter().any(|a| a == arn);
        self.release(&dropped, &claim, owner, ips, |arn| !still_listed(arn))
            .await
    }

    /// Deregisters from each group the claim's IPs (of the group's family,
    /// where known) that no other owner claims, then removes the owner's
    /// claim from the groups `untag` names.
    pub(super) async fn release(
        &self,
        groups: &Groups,
        claim: &Claim,
        owner: &Owner,
        ips: &Ips,
        untag: impl Fn(&str) -> bool,
    ) -> Result<(), EndpointTargetsError> {
        let key = owner.of_identity(&claim.endpoint).tag_key();
        let arns: Vec<String> = groups.iter().map(|(arn, _)| arn.clone()).collect();
        let tags = self.registry.tags(&arns).await?;
        let no_tags = BTreeMap::new();
        for (arn, family) in groups {
            let Some(current) = self.registry.targets(arn).await? else {
                continue;
            };
            let group_tags = tags.get(arn).unwrap_or(&no_tags);
            if ips.contains_key(family) {
                let others = other_claims(group_tags, &key);
                if others.contains(claim) {
                    tracing::info!(target_group = %arn, ?claim, "another owner claims these targets too: deregistering nothing");
                }
                let plan = release_plan(claim, &ip_set(ips, *family), &others, &current);
                self.registry.apply(arn, &plan).await?;
            }
            if untag(arn) && group_tags.contains_key(&key) {
                self.registry
                    .remove_tags(arn, std::slice::from_ref(&key))
                    .await?;
            }
        }
        Ok(())
    }
}
