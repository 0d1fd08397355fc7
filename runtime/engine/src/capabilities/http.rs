//! `http`: outbound requests through the one pooled reqwest client.
//!
//! The allow-list check happens here, inside the capability, before any
//! connection is made; the stage's deadline bounds each request; responses
//! larger than the cap are cut off; each backend gets at most a fixed number
//! of requests in flight, so one slow backend cannot take every socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lingo_config::AllowedHost;
use tokio::sync::Semaphore;
use tokio_util::task::AbortOnDropHandle;

use crate::bindings::lingo::pipeline::http::{Host, HttpError, Request, Response};
use crate::cpu::metered;
use crate::state::StageState;

/// The process-wide HTTP client and its caps.
pub struct HttpClient {
    client: reqwest::Client,
    max_response_bytes: usize,
    max_per_backend: usize,
    backends: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HttpClient {
    /// A pooled client (keep-alive, rustls) with the given caps.
    pub fn new(max_response_bytes: usize, max_per_backend: usize) -> Self {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(max_per_backend)
            .tcp_nodelay(true)
            .build()
            .expect("reqwest client with rustls");
        Self { client, max_response_bytes, max_per_backend, backends: Mutex::default() }
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
}

impl Http {
    /// Sends `request` if its origin is allowed, within the deadline.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| HttpError::InvalidRequest(format!("url `{}`: {e}", request.url)))?;
        let origin = self.check_origin(&url)?;
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HttpError::Timeout);
        }
        let exchange = async {
            let _permit = self.client.backend_permits(&origin).acquire_owned().await.expect("semaphore open");
            self.exchange(url, request, remaining).await
        };
        tokio::time::timeout(remaining, exchange).await.unwrap_or(Err(HttpError::Timeout))
    }

    fn check_origin(&self, url: &reqwest::Url) -> Result<String, HttpError> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(HttpError::InvalidRequest(format!("scheme `{scheme}` is not http or https")));
        }
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let origin = format!("{scheme}://{host}:{port}");
        if self.allowed.iter().any(|a| a.allows(scheme, host, port)) {
            Ok(origin)
        } else {
            tracing::warn!(stage = &*self.stage, host = %origin, "stage `{}`: host `{origin}` is not in allowed_hosts", self.stage);
            Err(HttpError::Denied(origin))
        }
    }

    async fn exchange(&self, url: reqwest::Url, request: Request, timeout: Duration) -> Result<Response, HttpError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("method `{}`", request.method)))?;
        let mut builder = self.client.client.request(method, url).timeout(timeout).body(request.body);
        for (name, value) in &request.headers {
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
        let (joined, spent) = metered(counted, async {
            let exchange = tokio::spawn(metered(counted, async move { http.send(request).await }));
            AbortOnDropHandle::new(exchange).await
        })
        .await;
        self.add_host_cpu(spent);
        let (response, exchange_cpu) = joined?;
        self.add_task_cpu(exchange_cpu);
        Ok(response)
    }
}
