//! `http`: GET and HEAD to the URLs a plugin's manifest grants.
//!
//! Through `reqwest` (rustls with the system's roots), and:
//! - the URL must match a grant (scheme, host, port, path prefix by whole
//!   segments) before anything is contacted, and so must every redirect
//!   (at most five);
//! - no proxy is taken from the environment;
//! - every address a granted name resolves to is checked: loopback,
//!   link-local (cloud metadata), unspecified, broadcast and multicast
//!   addresses are refused unless `grants.http_networks` covers them or the
//!   grant names that address itself, so a granted name cannot be pointed at
//!   this host or the metadata service;
//! - the timeout is the plugin's remaining deadline (or less, if it asks);
//! - the body is read up to `limits.http_body_kib`; a larger one fails.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::capabilities::grants::Refusal;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::http::{Host, Response};

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// One `grants.http` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `http` or `https`; any when the entry names none.
    scheme: Option<String>,
    /// Lowercase host name or address.
    host: String,
    /// The port; the scheme's default when the entry has a scheme and none,
    /// any when the entry is a bare host.
    port: Option<u16>,
    /// Path prefix, without a trailing slash (`""`: any path).
    path: String,
}

impl Grant {
    /// Parse `https://api.internal:8443/v1`, `api.internal:8000` or `api.internal`.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let shown = without_userinfo(entry);
        let bad = |why: &str| format!("{shown:?} {why}");
        if let Some((scheme, _)) = entry.split_once("://") {
            if !matches!(scheme, "http" | "https") {
                return Err(bad("must be an http or https URL"));
            }
            let url = Url::parse(entry).map_err(|err| bad(&format!("is not a URL: {err}")))?;
            if !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(bad("must not carry a user, a query or a fragment"));
            }
            let host = url.host_str().ok_or_else(|| bad("has no host"))?.to_ascii_lowercase();
            return Ok(Self {
                scheme: Some(scheme.to_owned()),
                host,
                port: url.port_or_known_default(),
                path: url.path().trim_end_matches('/').to_owned(),
            });
        }
        let url = Url::parse(&format!("http://{entry}")).map_err(|err| bad(&format!("is not a host: {err}")))?;
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(bad("must be a host, host:port, or a URL with a scheme"));
        }
        let host = url.host_str().ok_or_else(|| bad("has no host"))?.to_ascii_lowercase();
        Ok(Self { scheme: None, host, port: url.port(), path: String::new() })
    }

    /// Whether `url` is inside this grant.
    pub fn allows(&self, url: &Url) -> bool {
        let scheme_ok = match &self.scheme {
            Some(scheme) => url.scheme() == scheme,
            None => matches!(url.scheme(), "http" | "https"),
        };
        let port_ok = self.port.is_none_or(|port| url.port_or_known_default() == Some(port));
        let path = url.path();
        let path_ok = self.path.is_empty()
            || path == self.path
            || (path.starts_with(&self.path) && path.as_bytes().get(self.path.len()) == Some(&b'/'));
        let host_ok = url.host_str().is_some_and(|host| host.eq_ignore_ascii_case(&self.host));
        scheme_ok && host_ok && port_ok && path_ok && url.username().is_empty() && url.password().is_none()
    }
}

/// One `grants.http_networks` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(ipnet::IpNet);

impl Network {
    /// Parse `127.0.0.0/8`, `fd00::/8` or a single address.
    pub fn parse(entry: &str) -> Result<Self, String> {
        entry
            .parse::<ipnet::IpNet>()
            .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map(Self)
            .map_err(|_| format!("{entry:?} is not an address range (`10.0.0.0/8`) or an address"))
    }
}

/// Addresses a granted name may not resolve to unless granted themselves.
fn is_guarded(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| nat64(v6)) {
            Some(v4) => is_guarded(IpAddr::V4(v4)),
            None => {
                v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// The IPv4 address a NAT64 address (`64:ff9b::/96`) reaches.
fn nat64(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let octets = v6.octets();
    (octets[..12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])
        .then(|| std::net::Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]))
}

/// What a plugin's HTTP calls may reach: its grants, compiled.
#[derive(Debug)]
pub struct Policy {
    grants: Vec<Grant>,
    networks: Vec<Network>,
}

impl Policy {
    /// Compile `grants.http` and `grants.http_networks` (already validated).
    pub fn new(http: &[String], networks: &[String]) -> Self {
        Self {
            grants: http.iter().filter_map(|g| Grant::parse(g).ok()).collect(),
            networks: networks.iter().filter_map(|n| Network::parse(n).ok()).collect(),
        }
    }

    /// Whether the URL is granted.
    pub fn allows(&self, url: &Url) -> bool {
        self.grants.iter().any(|grant| grant.allows(url))
    }

    /// Whether a connection may go to `ip`.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        !is_guarded(ip)
            || self.networks.iter().any(|network| network.0.contains(&ip))
            || self.grants.iter().any(|grant| grant.host.parse::<IpAddr>() == Ok(ip))
    }
}

/// Resolves names for one plugin's client and drops the addresses its
/// policy refuses; a name left with none fails to connect.
struct CheckedResolver(Arc<Policy>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.0);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| policy.allows_address(a.ip())).collect();
            if allowed.is_empty() {
                let first = found.first().map(|a| a.ip().to_string()).unwrap_or_else(|| "no address".to_owned());
                return Err(format!("{host} resolves to {first}, which the grant does not cover").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A plugin's HTTP client, built on first use.
#[derive(Debug, Default)]
pub struct HttpClient {
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl HttpClient {
    fn get(&self, policy: &Arc<Policy>) -> Result<reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                let redirect_policy = Arc::clone(policy);
                reqwest::Client::builder()
                    .no_proxy()
                    .tls_built_in_webpki_certs(false)
                    .tls_built_in_native_certs(true)
                    .dns_resolver(Arc::new(CheckedResolver(Arc::clone(policy))))
                    .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                        if attempt.previous().len() >= MAX_REDIRECTS {
                            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                        } else if redirect_policy.allows(attempt.url()) {
                            attempt.follow()
                        } else {
                            let to = attempt.url().clone();
                            attempt.error(format!("redirect to {} is outside the grant", without_query(&to)))
                        }
                    }))
                    .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|err| format!("cannot build the HTTP client: {err}"))
            })
            .clone()
    }
}

/// A grant entry as it may be shown in an error: a user part (which may
/// hold a password) replaced by `…`.
fn without_userinfo(entry: &str) -> String {
    let Some((scheme, rest)) = entry.split_once("://") else { return entry.to_owned() };
    // A query or fragment may carry a token too.
    let rest = match rest.find(['?', '#']) {
        Some(at) => format!("{}?…", &rest[..at]),
        None => rest.to_owned(),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]),
        None => format!("{scheme}://{rest}"),
    }
}

/// A URL as it may be shown: no user part, query or fragment (they may
/// carry credentials).
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

type Answer = wasmtime::Result<Result<Response, CapabilityError>>;

impl HostState {
    async fn http_call(&mut self, method: reqwest::Method, url: String, timeout_ms: u32) -> Answer {
        let plugin = Arc::clone(&self.plugin);
        let refuse = |state: &HostState, target: String| {
            Ok(Err(state.services.refuse(&plugin.name, Refusal { capability: "http", target })))
        };
        let parsed = match Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
            _ => return refuse(self, url),
        };
        let policy = &plugin.http_policy;
        if !policy.allows(&parsed) {
            return refuse(self, without_query(&parsed));
        }
        if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = parsed.host()
            && let Ok(ip) = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).parse::<IpAddr>()
            && !policy.allows_address(ip)
        {
            return refuse(self, without_query(&parsed));
        }
        // Names are checked here too, so a refusal is reported as one; the
        // client's resolver checks every connection (redirects included).
        if let Some(url::Host::Domain(name)) = parsed.host()
            && let Ok(found) = tokio::net::lookup_host((name, parsed.port_or_known_default().unwrap_or(0))).await
        {
            let found: Vec<SocketAddr> = found.collect();
            if !found.is_empty() && !found.iter().any(|a| policy.allows_address(a.ip())) {
                let target = format!("{} (resolves to {})", without_query(&parsed), found[0].ip());
                return refuse(self, target);
            }
        }
        // What is left of the plugin's deadline, less a margin to report the
        // timeout in (the call itself ends at the deadline).
        let left = self.deadline.map_or(Duration::from_secs(30), |d| d.saturating_duration_since(Instant::now()));
        let remaining = left.saturating_sub((left / 10).min(Duration::from_millis(100)));
        let timeout =
            if timeout_ms == 0 { remaining } else { remaining.min(Duration::from_millis(u64::from(timeout_ms))) };
        if timeout.is_zero() {
            return Ok(Err(CapabilityError::Timeout("http: the plugin's deadline has passed".to_owned())));
        }
        let client = match plugin.http_client.get(policy) {
            Ok(client) => client,
            Err(err) => return Ok(Err(CapabilityError::NotAvailable(err))),
        };
        let shown = without_query(&parsed);
        let limit = plugin.http_body_limit;
        let call = async move {
            let mut response = client.request(method.clone(), parsed).send().await.map_err(|err| describe(&err))?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            if method != reqwest::Method::HEAD {
                while let Some(chunk) = response.chunk().await.map_err(|err| describe(&err))? {
                    if body.len() + chunk.len() > limit {
                        return Err(CapabilityError::Failed(format!("response body larger than {limit} bytes")));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
            Ok(Response { status, body: String::from_utf8_lossy(&body).into_owned() })
        };
        match self.off_cpu(tokio::time::timeout(timeout, call)).await {
            Ok(Ok(response)) => Ok(Ok(response)),
            // A redirect out of the grant, or an address the client's
            // resolver refused (on a redirect or a reconnect): a refusal like
            // those above, warned about and counted.
            Ok(Err(CapabilityError::NotGranted(what))) => {
                refuse(self, format!("{shown}: {}", what.trim_start_matches("http: ")))
            }
            Ok(Err(error)) => Ok(Err(error)),
            Err(_) => Ok(Err(CapabilityError::Timeout(format!("http: {shown}: no answer within {timeout:?}")))),
        }
    }
}

/// A transport error as the plugin sees it; a redirect out of the grant or
/// a refused address names what was refused.
fn describe(err: &reqwest::Error) -> CapabilityError {
    use std::error::Error as _;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    // Our own refusals are the innermost cause; say just that (the outer
    // ones repeat the URL, query included).
    let mut innermost = err.source();
    while let Some(next) = innermost.and_then(|cause| cause.source()) {
        innermost = Some(next);
    }
    let refusal = innermost
        .map(ToString::to_string)
        .filter(|cause| cause.contains("outside the grant") || cause.contains("the grant does not cover"));
    if err.is_timeout() {
        CapabilityError::Timeout(format!("http: {text}"))
    } else if let Some(refusal) = refusal {
        CapabilityError::NotGranted(format!("http: {refusal}"))
    } else {
        CapabilityError::Failed(format!("http: {text}"))
    }
}

impl Host for HostState {
    async fn get(&mut self, url: String, timeout_ms: u32) -> Answer {
        self.http_call(reqwest::Method::GET, url, timeout_ms).await
    }

    async fn head(&mut self, url: String, timeout_ms: u32) -> Answer {
        self.http_call(reqwest::Method::HEAD, url, timeout_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn grants_match_scheme_host_port_and_whole_path_segments() {
        let grant = Grant::parse("http://127.0.0.1:8000/health").expect("valid");
        assert!(grant.allows(&url("http://127.0.0.1:8000/health")));
        assert!(grant.allows(&url("http://127.0.0.1:8000/health/deep?x=1")));
        assert!(!grant.allows(&url("http://127.0.0.1:8000/healthz")));
        assert!(!grant.allows(&url("http://127.0.0.1:8000/admin")));
        assert!(!grant.allows(&url("https://127.0.0.1:8000/health")));
        assert!(!grant.allows(&url("http://127.0.0.1:9000/health")));
        assert!(!grant.allows(&url("http://user:pw@127.0.0.1:8000/health")));
        let bare = Grant::parse("api.internal").expect("valid");
        assert!(bare.allows(&url("https://API.internal:443/x")));
        assert!(!bare.allows(&url("http://evil.example/?api.internal")));
        assert!(Grant::parse("ftp://x").is_err());
        assert!(Grant::parse("http://h/?token=x").is_err());
    }

    #[test]
    fn guarded_addresses_need_a_network_or_a_literal_grant() {
        let policy = Policy::new(&["http://127.0.0.1:80/".to_owned(), "api.internal".to_owned()], &[]);
        assert!(policy.allows_address("127.0.0.1".parse().expect("ip")));
        assert!(!policy.allows_address("127.0.0.2".parse().expect("ip")));
        assert!(!policy.allows_address("169.254.169.254".parse().expect("ip")));
        assert!(!policy.allows_address("::ffff:127.0.0.5".parse().expect("ip")));
        assert!(!policy.allows_address("64:ff9b::a9fe:a9fe".parse().expect("ip")), "NAT64 of the metadata address");
        assert!(!policy.allows_address("fe80::1".parse().expect("ip")));
        // Private ranges are where the platform's own services live (a
        // Kubernetes Service resolves to one): names may resolve there.
        assert!(policy.allows_address("10.0.3.17".parse().expect("ip")));
        let open = Policy::new(&[], &["127.0.0.0/8".to_owned()]);
        assert!(open.allows_address("127.0.0.2".parse().expect("ip")));
        assert!(Network::parse("not-a-net").is_err());
    }
}
