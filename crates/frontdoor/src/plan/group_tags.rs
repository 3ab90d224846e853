//! ELB's limits on a target group's tags, which both the no-flap state of
//! hostname bindings and the owners' claims of `Custom::EndpointTargets` must
//! fit before anything is written
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-tags.html>).

/// Tags per target group; those with the `aws:` prefix do not count.
pub const MAX_GROUP_TAGS: usize = 50;
/// Characters per tag value.
pub const MAX_VALUE_LEN: usize = 255;
const SYSTEM_TAG_PREFIX: &str = "aws:";

/// Whether a tag counts against [`MAX_GROUP_TAGS`].
pub fn counts(key: &str) -> bool {
    !key.starts_with(SYSTEM_TAG_PREFIX)
}
