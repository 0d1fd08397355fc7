//! `http`: outbound requests through the one pooled reqwest client.
//!
//! The allow-list check happens here, inside the capability, before any
//! connection is made, and again for every redirect hop: the client follows
//! no redirect by itself, the capability follows at most the stage's
//! `max_redirects`. Addresses the worker itself serves or uses (its admin
//! listener, its Redis servers) are refused whatever `allowed_hosts` says.
//! The stage's deadline bounds each request; each call may send at most
//! `limits.max_http_requests`; a response larger than the cap is an error
//! (`too-large`), never a silently shortened body;
//! each backend gets at most a fixed number of requests in flight, so one
//! slow backend cannot take every socket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lingo_config::AllowedHost;
use tokio::sync::Semaphore;
use tokio_util::task::AbortOnDropHandle;

use crate::bindings::lingo::pipeline::http::{Host, HttpError, Request, Response};
use crate::cpu::metered;
use crate::state::StageState;
use crate::wall::{Limit, Turn, Wall};

/// The process-wide HTTP client and its caps.
pub struct HttpClient {
    client: reqwest::Client,
    max_response_bytes: usize,
    max_per_backend: usize,
    backends: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Addresses no stage may reach ([`HttpClient::forbid`]).
    forbidden: Vec<SocketAddr>,
}

impl HttpClient {
    /// A pooled client (keep-alive, rustls) with the given caps.
    pub fn new(max_response_bytes: usize, max_per_backend: usize) -> Self {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(max_per_backend)
            .tcp_nodelay(true)
            // Each hop is checked by `Http::send`, never followed blindly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with rustls");
        Self { client, max_response_bytes, max_per_backend, backends: Mutex::default(), forbidden: vec![] }
    }

    /// Refuses every request to `addresses`, whatever a stage's
    /// `allowed_hosts` says: the worker's admin listener and its Redis
    /// servers. An unspecified IP (`0.0.0.0:9090`) forbids its port on
    /// every host.
    pub fn forbid(mut self, addresses: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.forbidden.extend(addresses);
        self
    }

    /// Whether `host:port` may be reached at all. A name is resolved only
    /// when its port is a forbidden one, so ordinary backends cost nothing.
    async fn reachable(&self, host: &str, port: u16) -> bool {
        if !self.forbidden.iter().any(|f| f.port() == port) {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => match tokio::net::lookup_host((host, port)).await {
                Ok(found) => found.map(|a| a.ip()).collect(),
                // Refused: a name that does not resolve now may resolve later.
                Err(_) => return false,
            },
        };
        !ips.iter().any(|ip| self.forbidden.iter().any(|f| f.port() == port && same_machine_address(f.ip(), *ip)))
    }

    fn backend_permits(&self, origin: &str) -> Arc<Semaphore> {
        let mut backends = self.backends.lock().expect("backend map lock");
        backends.entry(origin.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.max_per_backend))).clone()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new(1 << 20, 256)
    }
}

/// The http handle of one stage call.
#[derive(Clone)]
pub struct Http {
    /// The shared client.
    pub client: Arc<HttpClient>,
    /// Where this stage may go.
    pub allowed: Arc<[AllowedHost]>,
    /// When this stage call must be over.
    pub deadline: Instant,
    /// The stage's name, for the log line of a denied request.
    pub stage: Arc<str>,
    /// Redirects one request may follow.
    pub max_redirects: u32,
    /// Requests this call may still send, redirect hops included.
    pub requests_left: Arc<AtomicUsize>,
    /// The tenant's wall, where refusals are counted.
    pub wall: Wall,
    /// The call's turn at the CPU, given up while it waits on a backend.
    pub(crate) turn: Turn,
}

impl Http {
    /// Sends `request` if its origin is allowed, within the deadline,
    /// following at most `max_redirects` redirects, each to an allowed host.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let mut url = reqwest::Url::parse(&request.url)
            .map_err(|e| HttpError::InvalidRequest(format!("url `{}`: {e}", request.url)))?;
        let mut method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("method `{}`", request.method)))?;
        let mut body = request.body;
        let mut headers = request.headers;
        let mut redirects = 0;
        loop {
            // Kept for a redirect only when one may be followed.
            let sent = if self.max_redirects > 0 { body.clone() } else { std::mem::take(&mut body) };
            let response = self.hop(method.clone(), url.clone(), &headers, sent).await?;
            let Some(next) = redirect_target(&url, &response) else { return Ok(response) };
            if redirects == self.max_redirects {
                return Ok(response);
            }
            redirects += 1;
            // As browsers do: 303, and 301/302 after a POST, go on as a GET.
            if response.status == 303 || (matches!(response.status, 301 | 302) && method == reqwest::Method::POST) {
                method = reqwest::Method::GET;
                body = Vec::new();
            }
            // As reqwest does: credentials never follow a redirect to another origin.
            if next.origin() != url.origin() {
                headers.retain(|(name, _)| !CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c)));
            }
            url = next;
        }
    }

    /// One request to one URL, checked first.
    async fn hop(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Response, HttpError> {
        // Refused requests count too: a guest looping on a denied URL runs
        // out of requests like any other.
        if self.requests_left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err() {
            self.wall.hit(Limit::HttpRequests, 1);
            return Err(HttpError::InvalidRequest(format!(
                "this call sent its {} requests already (limits.max_http_requests)",
                self.wall.limits.max_http_requests
            )));
        }
        let origin = self.check_origin(&url).await?;
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HttpError::Timeout);
        }
        let exchange = async {
            let _permit = self.client.backend_permits(&origin).acquire_owned().await.expect("semaphore open");
            self.exchange(method, url, headers, body, remaining).await
        };
        tokio::time::timeout(remaining, exchange).await.unwrap_or(Err(HttpError::Timeout))
    }

    async fn check_origin(&self, url: &reqwest::Url) -> Result<String, HttpError> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(HttpError::InvalidRequest(format!("scheme `{scheme}` is not http or https")));
        }
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let origin = format!("{scheme}://{host}:{port}");
        if !self.allowed.iter().any(|a| a.allows(scheme, host, port)) {
            tracing::warn!(stage = &*self.stage, tenant = &*self.wall.tenant, host = %origin, "stage `{}`: host `{origin}` is not in allowed_hosts", self.stage);
            self.wall.hit(Limit::HttpDenied, 1);
            return Err(HttpError::Denied(origin));
        }
        if !self.client.reachable(host, port).await {
            tracing::warn!(stage = &*self.stage, tenant = &*self.wall.tenant, host = %origin, "stage `{}`: `{origin}` is the worker's own admin or Redis address; no stage may reach it", self.stage);
            self.wall.hit(Limit::HttpDenied, 1);
            return Err(HttpError::Denied(origin));
        }
        Ok(origin)
    }

    async fn exchange(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let mut builder = self.client.client.request(method, url).timeout(timeout).body(body);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(transport_error)?;
        let cap = self.client.max_response_bytes;
        if response.content_length().is_some_and(|n| n as usize > cap) {
            return Err(HttpError::TooLarge(cap as u64));
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > cap {
                return Err(HttpError::TooLarge(cap as u64));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body })
    }
}

/// Headers that carry credentials, dropped on a redirect to another origin.
const CREDENTIALS: [&str; 4] = ["authorization", "cookie", "proxy-authorization", "x-api-key"];

/// Whether a connection to `to` may land on a listener bound to `bound`:
/// the same IP; any IP for a listener on all of them; and any loopback IP
/// (or `0.0.0.0`, which connects to this machine) for a loopback listener.
fn same_machine_address(bound: IpAddr, to: IpAddr) -> bool {
    // `::ffff:127.0.0.1` is `127.0.0.1`.
    let (bound, to) = (bound.to_canonical(), to.to_canonical());
    let local = |ip: IpAddr| ip.is_loopback() || ip.is_unspecified();
    bound == to || bound.is_unspecified() || (local(bound) && local(to))
}

/// Where a redirect response points, if it is one with a usable `Location`.
fn redirect_target(from: &reqwest::Url, response: &Response) -> Option<reqwest::Url> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location"))?;
    from.join(&location.1).ok()
}

fn transport_error(err: reqwest::Error) -> HttpError {
    if err.is_timeout() {
        return HttpError::Timeout;
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    HttpError::Connect(message)
}

impl Host for StageState {
    /// The exchange runs as a task of its own. Polled here, it would run on
    /// the stage's fiber stack, and reqwest's and hyper's deep poll frames
    /// would keep about 30 KiB of that stack resident for as long as the
    /// backend takes to answer, for every call in flight.
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        // Aborted when dropped: a request lives no longer than its call.
        let counted = self.counts_cpu();
        let http = self.http.clone();
        let turn = http.turn.clone();
        let (joined, spent) = metered(counted, async {
            let exchange = tokio::spawn(metered(counted, async move { http.send(request).await }));
            turn.away(AbortOnDropHandle::new(exchange)).await
        })
        .await;
        self.add_host_cpu(spent);
        let (response, exchange_cpu) = joined?;
        self.add_task_cpu(exchange_cpu);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_workers_own_addresses_are_unreachable_by_any_name() {
        let admin: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        let redis: SocketAddr = "127.0.0.1:6379".parse().unwrap();
        let client = HttpClient::default().forbid([admin, redis]);
        for (host, port) in [
            ("localhost", 6379),
            ("127.0.0.2", 6379),
            ("[::1]", 6379),
            ("[::ffff:127.0.0.1]", 6379),
            ("10.1.2.3", 9090),
            ("0.0.0.0", 6379),
            ("no-such-host.invalid", 6379),
        ] {
            assert!(!client.reachable(host, port).await, "{host}:{port} must be refused");
        }
        assert!(client.reachable("127.0.0.1", 8000).await, "other ports stay reachable");
        assert!(client.reachable("10.1.2.3", 6379).await, "another machine's Redis is not ours");
    }
}
