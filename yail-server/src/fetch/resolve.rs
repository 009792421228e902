//! Looking names up: the resolver a fetcher asks (the system's, or a test's
//! own), and the guard that drops the addresses the policy refuses.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use super::policy::{Policy, Violation, never_resolves};

/// The addresses of a name, as [`Resolve::lookup`] finds them.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Looks host names up. The fetcher applies the address policy to what
/// comes back, whatever the resolver.
pub trait Resolve: Send + Sync {
    /// The addresses of `host`.
    fn lookup(&self, host: String) -> Lookup;
}

/// The resolver a [`Fetcher`](super::Fetcher) uses: the system's by default; tests give
/// their own, so that no query leaves the machine.
#[derive(Clone)]
pub struct Resolver(Arc<dyn Resolve>);

impl Resolver {
    /// The operating system's resolver.
    pub fn system() -> Resolver {
        Resolver(Arc::new(SystemResolver))
    }

    /// A resolver of one's own.
    pub fn new(resolve: impl Resolve + 'static) -> Resolver {
        Resolver(Arc::new(resolve))
    }
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver::system()
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup(&self, host: String) -> Lookup {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Resolves names with the configured resolver and drops the addresses the
/// policy refuses; a name left with none is refused.
pub(super) struct GuardedResolver {
    pub(super) policy: Policy,
    pub(super) resolver: Resolver,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let resolver = self.resolver.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let refuse = |violation: Violation| {
                Err(Box::new(violation) as Box<dyn std::error::Error + Send + Sync>)
            };
            if never_resolves(&host) {
                return refuse(Violation::Resolve(host));
            }
            let Ok(found) = resolver.0.lookup(host.clone()).await else {
                return refuse(Violation::Resolve(host));
            };
            let allowed: Vec<SocketAddr> = found
                .iter()
                .filter(|ip| policy.permits(**ip))
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect();
            if allowed.is_empty() {
                return refuse(if found.is_empty() {
                    Violation::Resolve(host)
                } else {
                    Violation::Refused(host)
                });
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
