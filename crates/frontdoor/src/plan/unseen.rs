//! The no-flap state of one hostname binding's port in one target group, as
//! tags of the group: how many counted runs each registered address has been
//! missing from every answer, and when the last absence was counted.
//!
//! One compact value, whatever the number of held addresses: a version byte,
//! the time of the last counted absence (seconds since the epoch, 8 bytes),
//! then per address one byte for its count (the high bit set for IPv6) and
//! its 4 or 16 bytes, in base64 (whose alphabet ELB takes in tag values).
//! ELB values hold 255 characters, so the value is cut into chunks, the tags
//! `frontdoor:unseen:<port>:<n>`, n from 0: at most [`MAX_STATE_TAGS`] of
//! them, which hold [`capacity`] addresses (227 IPv4, or 66 IPv6). A state
//! that does not fit is an error before any write, never a partial state.

use super::group_tags::{self, MAX_GROUP_TAGS, MAX_VALUE_LEN};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Every state tag starts with this.
pub const UNSEEN_TAG_PREFIX: &str = "frontdoor:unseen:";
/// The most tags one port's state takes on a group.
pub const MAX_STATE_TAGS: usize = 6;
const VERSION: u8 = 1;
const HEADER_LEN: usize = 9;
const IPV6_FLAG: u8 = 0x80;

/// The runs each registered address has been missing from the answers, and
/// when an absence was last counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unseen {
    /// Seconds since the epoch; `None` before any absence was counted.
    pub counted_at: Option<u64>,
    pub runs: BTreeMap<IpAddr, u32>,
}

/// A port's state in a group's tags, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredState {
    pub unseen: Unseen,
    /// The chunk tags that hold it, key → value.
    pub tags: BTreeMap<String, String>,
    /// `frontdoor:unseen:<port>:<ip>` tags of the version before, one per
    /// address: no longer read, removed with the next write of the state.
    pub legacy: Vec<String>,
}

/// Why a state cannot be stored; nothing is written then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(
        "{held} registered addresses on port {port} are missing from the answer, more than the no-flap state holds in {MAX_STATE_TAGS} tags ({ipv4} IPv4 or {ipv6} IPv6 addresses); nothing changed",
        ipv4 = capacity(false), ipv6 = capacity(true)
    )]
    TooLarge { port: u16, held: usize },
    #[error(
        "the no-flap state of port {port} needs {needed} tags and the group would hold {total}, over ELB's {MAX_GROUP_TAGS}; nothing changed"
    )]
    NoRoom {
        port: u16,
        needed: usize,
        total: usize,
    },
}

/// How many addresses of one family the state holds at most.
pub const fn capacity(ipv6: bool) -> usize {
    let bytes = MAX_STATE_TAGS * MAX_VALUE_LEN / 4 * 3 - HEADER_LEN;
    bytes / if ipv6 { 17 } else { 5 }
}

fn chunk_key(port: u16, n: usize) -> String {
    format!("{UNSEEN_TAG_PREFIX}{port}:{n}")
}

/// The state of `port` in a group's tags. Tags of other ports, and a value
/// that does not decode (set by hand), are not this state: a state that
/// cannot be read counts from zero, which can only delay a deregistration.
pub fn state_from_tags(tags: &BTreeMap<String, String>, port: u16) -> StoredState {
    let prefix = format!("{UNSEEN_TAG_PREFIX}{port}:");
    let mut stored = StoredState::default();
    for (key, value) in tags {
        let Some(suffix) = key.strip_prefix(&prefix) else {
            continue;
        };
        if suffix.parse::<IpAddr>().is_ok() {
            stored.legacy.push(key.clone());
        } else if suffix.parse::<usize>().is_ok_and(|n| n < MAX_STATE_TAGS) {
            stored.tags.insert(key.clone(), value.clone());
        }
    }
    let text: Option<String> = (0..stored.tags.len())
        .map(|n| stored.tags.get(&chunk_key(port, n)).map(String::as_str))
        .collect();
    stored.unseen = text.and_then(|text| decode(&text)).unwrap_or_default();
    stored
}

fn decode(text: &str) -> Option<Unseen> {
    let bytes = STANDARD.decode(text).ok()?;
    let (header, mut entries) = bytes.split_at_checked(HEADER_LEN)?;
    if header[0] != VERSION {
        return None;
    }
    let counted_at = u64::from_be_bytes(header[1..].try_into().ok()?);
    let mut runs = BTreeMap::new();
    while let Some((&count, rest)) = entries.split_first() {
        let (ip, rest) = if count & IPV6_FLAG == 0 {
            let (octets, rest) = rest.split_first_chunk::<4>()?;
            (IpAddr::from(*octets), rest)
        } else {
            let (octets, rest) = rest.split_first_chunk::<16>()?;
            (IpAddr::from(*octets), rest)
        };
        runs.insert(ip, u32::from(count & !IPV6_FLAG));
        entries = rest;
    }
    Some(Unseen {
        counted_at: Some(counted_at),
        runs,
    })
}

/// The tags that hold `unseen` on `port`: none for an empty state.
pub fn state_tags(unseen: &Unseen, port: u16) -> Result<BTreeMap<String, String>, StateError> {
    let Some(counted_at) = unseen.counted_at.filter(|_| !unseen.runs.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let too_large = || StateError::TooLarge {
        port,
        held: unseen.runs.len(),
    };
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(&counted_at.to_be_bytes());
    for (ip, &runs) in &unseen.runs {
        let count = u8::try_from(runs)
            .ok()
            .filter(|c| c & IPV6_FLAG == 0)
            .ok_or_else(too_large)?;
        match ip {
            IpAddr::V4(v4) => {
                bytes.push(count);
                bytes.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                bytes.push(count | IPV6_FLAG);
                bytes.extend_from_slice(&v6.octets());
            }
        }
    }
    let text = STANDARD.encode(bytes);
    let chunks: Vec<&str> = text
        .as_bytes()
        .chunks(MAX_VALUE_LEN)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    if chunks.len() > MAX_STATE_TAGS {
        return Err(too_large());
    }
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(n, chunk)| (chunk_key(port, n), chunk.to_owned()))
        .collect())
}

/// The writes that turn `stored` into `wanted`: the tags to set (only those
/// whose value changes) and the keys to remove. After them the group must
/// still fit ELB's tag limit, counted on all its `tags` now; else nothing is
/// to be written.
pub fn state_writes(
    stored: &StoredState,
    wanted: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    port: u16,
) -> Result<(BTreeMap<String, String>, Vec<String>), StateError> {
    let set: BTreeMap<String, String> = wanted
        .iter()
        .filter(|(key, value)| stored.tags.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove: Vec<String> = stored
        .tags
        .keys()
        .filter(|key| !wanted.contains_key(*key))
        .chain(&stored.legacy)
        .cloned()
        .collect();
    let counted = |key: &String| group_tags::counts(key) && !remove.contains(key);
    let kept = tags.keys().filter(|key| counted(key)).count();
    let added = set.keys().filter(|key| !tags.contains_key(*key)).count();
    if !set.is_empty() && kept + added > MAX_GROUP_TAGS {
        return Err(StateError::NoRoom {
            port,
            needed: wanted.len(),
            total: kept + added,
        });
    }
    Ok((set, remove))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PORT: u16 = 443;

    fn state(counted_at: u64, runs: &[(&str, u32)]) -> Unseen {
        Unseen {
            counted_at: Some(counted_at),
            runs: runs
                .iter()
                .map(|(ip, n)| (ip.parse().unwrap(), *n))
                .collect(),
        }
    }

    #[test]
    fn a_state_reads_back_as_written_and_an_empty_one_takes_no_tag() {
        let unseen = state(1_767_225_600, &[("192.168.10.1", 1), ("fd00::7", 2)]);
        let tags = state_tags(&unseen, PORT).unwrap();
        assert_eq!(tags.keys().collect::<Vec<_>>(), ["frontdoor:unseen:443:0"]);
        assert_eq!(state_from_tags(&tags, PORT).unseen, unseen);
        assert_eq!(state_from_tags(&tags, 8443), StoredState::default());
        assert!(state_tags(&Unseen::default(), PORT).unwrap().is_empty());
    }

    #[test]
    fn sixty_held_addresses_of_either_family_fit_and_one_too_many_is_refused() {
        for (ipv6, make) in [
            (
                false,
                (|n: usize| IpAddr::from([10, 1, (n / 250) as u8, (n % 250) as u8]))
                    as fn(usize) -> IpAddr,
            ),
            (true, |n: usize| {
                IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, n as u16])
            }),
        ] {
            let full = |held: usize| Unseen {
                counted_at: Some(1),
                runs: (0..held).map(|n| (make(n), 59)).collect(),
            };
            let tags = state_tags(&full(60), PORT).unwrap();
            assert!(tags.len() <= MAX_STATE_TAGS && tags.values().all(|v| v.len() <= 255));
            assert_eq!(state_from_tags(&tags, PORT).unseen, full(60));
            assert!(state_tags(&full(capacity(ipv6)), PORT).is_ok());
            let err = state_tags(&full(capacity(ipv6) + 1), PORT).unwrap_err();
            assert!(matches!(err, StateError::TooLarge { .. }), "{err}");
        }
        assert_eq!((capacity(false), capacity(true)), (227, 66));
    }

    #[test]
    fn legacy_foreign_and_undecodable_tags_are_not_the_state() {
        let tags = BTreeMap::from([
            ("frontdoor:unseen:443:10.1.0.1".to_owned(), "2".to_owned()),
            (
                "frontdoor:unseen:443:0".to_owned(),
                "not base64!".to_owned(),
            ),
            ("frontdoor:unseen:443:9".to_owned(), "x".to_owned()),
            ("frontdoor:stack".to_owned(), "arn".to_owned()),
        ]);
        let stored = state_from_tags(&tags, PORT);
        assert_eq!(stored.unseen, Unseen::default());
        assert_eq!(stored.legacy, ["frontdoor:unseen:443:10.1.0.1"]);
        assert_eq!(
            stored.tags.len(),
            1,
            "chunk 9 is beyond the bound: not ours"
        );
    }

    #[test]
    fn only_changed_chunks_are_written_and_the_limit_counts_every_other_tag() {
        let unseen = state(7, &[("192.168.10.1", 1)]);
        let wanted = state_tags(&unseen, PORT).unwrap();
        let mut tags: BTreeMap<String, String> = (0..49)
            .map(|n| (format!("team:{n}"), "v".to_owned()))
            .collect();
        tags.insert("aws:cloudformation:stack-id".into(), "s".into());
        let stored = state_from_tags(&tags, PORT);
        let (set, remove) = state_writes(&stored, &wanted, &tags, PORT).unwrap();
        assert_eq!(
            (set.len(), remove.len()),
            (1, 0),
            "49 of 50, and aws: tags are free"
        );
        tags.insert("team:49".into(), "v".into());
        let err = state_writes(&stored, &wanted, &tags, PORT).unwrap_err();
        assert!(matches!(err, StateError::NoRoom { total: 51, .. }), "{err}");
        // In place: nothing to write, and a removal always fits.
        tags.extend(wanted.clone());
        let stored = state_from_tags(&tags, PORT);
        assert_eq!(
            state_writes(&stored, &wanted, &tags, PORT).unwrap(),
            (BTreeMap::new(), Vec::new())
        );
        let (set, remove) = state_writes(&stored, &BTreeMap::new(), &tags, PORT).unwrap();
        assert!(set.is_empty());
        assert_eq!(remove, ["frontdoor:unseen:443:0"]);
    }

    proptest! {
        #[test]
        fn any_state_that_fits_reads_back(
            counted_at in any::<u64>(),
            runs in proptest::collection::btree_map(any::<IpAddr>(), 1u32..60, 1..60),
        ) {
            let unseen = Unseen { counted_at: Some(counted_at), runs };
            let tags = state_tags(&unseen, PORT).unwrap();
            prop_assert!(tags.len() <= MAX_STATE_TAGS);
            prop_assert_eq!(state_from_tags(&tags, PORT).unseen, unseen);
        }
    }
}
