//! The targets of one run: the `PROBE_CONNECT_TO` entries, with each host name
//! resolved now (not at initialisation), so that a load balancer's changing
//! addresses are followed.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::join_all;

use super::config::{ConnectTo, PROBE_CONNECT_TO};

/// One address to probe, or the URL's host as the system resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The `PROBE_CONNECT_TO` host name the address came from.
    pub name: Option<String>,
    /// `None`: no connect-to list, the URL's host is resolved as usual.
    pub address: Option<IpAddr>,
}

/// A connect-to name that gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PROBE_CONNECT_TO}: `{name}` does not resolve: {reason}")]
pub(crate) struct Unresolved {
    pub name: String,
    pub reason: String,
}

/// The run's targets in list order; a name that does not resolve stands as an
/// error in its place, so that it counts as an unhealthy target.
pub(crate) async fn targets(
    connect_to: &[ConnectTo],
    timeout: Duration,
) -> Vec<Result<Target, Unresolved>> {
    if connect_to.is_empty() {
        return vec![Ok(Target {
            name: None,
            address: None,
        })];
    }
    let entries = join_all(connect_to.iter().map(|entry| async move {
        match entry {
            ConnectTo::Address(address) => vec![Ok(Target {
                name: None,
                address: Some(*address),
            })],
            ConnectTo::Name(name) => match resolve(name, timeout).await {
                Ok(addresses) => addresses
                    .into_iter()
                    .map(|address| {
                        Ok(Target {
                            name: Some(name.clone()),
                            address: Some(address),
                        })
                    })
                    .collect(),
                Err(error) => vec![Err(error)],
            },
        }
    }))
    .await;
    entries.into_iter().flatten().collect()
}

/// Every address of `name`, each once, in the resolver's order.
async fn resolve(name: &str, timeout: Duration) -> Result<Vec<IpAddr>, Unresolved> {
    let unresolved = |reason: String| Unresolved {
        name: name.to_owned(),
        reason,
    };
    // The port is not used: the URL's port is, as with an address entry.
    let found = tokio::time::timeout(timeout, tokio::net::lookup_host((name, 0)))
        .await
        .map_err(|_| unresolved(format!("no answer within {} ms", timeout.as_millis())))?
        .map_err(|e| unresolved(e.to_string()))?;
    let mut addresses = Vec::new();
    for address in found.map(|socket| socket.ip()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err(unresolved("it has no address".to_owned()));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn entries(list: &[&str]) -> Vec<ConnectTo> {
        list.iter().map(|e| e.parse().expect("entry")).collect()
    }

    #[tokio::test]
    async fn no_list_is_one_target_on_the_urls_host() {
        let targets = targets(&[], TIMEOUT).await;
        assert_eq!(
            targets,
            [Ok(Target {
                name: None,
                address: None
            })]
        );
    }

    #[tokio::test]
    async fn names_are_resolved_and_addresses_kept_in_list_order() {
        let targets = targets(&entries(&["10.0.0.1", "localhost"]), TIMEOUT).await;
        assert_eq!(
            targets[0],
            Ok(Target {
                name: None,
                address: Some("10.0.0.1".parse().expect("ip"))
            })
        );
        let resolved: Vec<&Target> = targets[1..]
            .iter()
            .map(|t| t.as_ref().expect("resolved"))
            .collect();
        assert!(!resolved.is_empty());
        for target in resolved {
            assert_eq!(target.name.as_deref(), Some("localhost"));
            assert!(
                target.address.is_some_and(|a| a.is_loopback()),
                "{target:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_stands_as_its_error() {
        let targets = targets(&entries(&["no-such-host.invalid", "10.0.0.1"]), TIMEOUT).await;
        assert_eq!(targets.len(), 2);
        let error = targets[0].as_ref().expect_err("unresolved");
        assert_eq!(error.name, "no-such-host.invalid");
        let message = error.to_string();
        assert!(
            message.starts_with("PROBE_CONNECT_TO: `no-such-host.invalid` does not resolve"),
            "{message}"
        );
        assert!(targets[1].is_ok());
    }
}
