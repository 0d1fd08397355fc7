//! HTTP through the host's pooled client, and the mapping of HTTP failures to
//! stage errors that every LLM stage shares.
//!
//! The host checks each URL against the stage's `allowed_hosts` and applies
//! the stage's deadline; a refused or timed-out request comes back as an
//! [`HttpError`], never as a panic.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::lingo::pipeline::http;
use crate::{RateLimit, StageError};

pub use http::{HttpError, Request, Response};

/// How long to wait after a 429 or 503 that gives no `Retry-After`.
const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;

/// Sends any request.
pub fn send(request: &Request) -> Result<Response, HttpError> {
    http::send(request)
}

/// POSTs `body` as JSON with the given extra headers.
pub fn post_json<T: Serialize>(url: &str, headers: &[(String, String)], body: &T) -> Result<Response, HttpError> {
    let body = serde_json::to_vec(body).map_err(|e| HttpError::InvalidRequest(format!("body is not JSON: {e}")))?;
    let mut all = vec![("content-type".to_string(), "application/json".to_string())];
    all.extend_from_slice(headers);
    send(&Request { method: "POST".into(), url: url.into(), headers: all, body })
}

/// The headers of a backend call: `Authorization: Bearer <api_key>` when a
/// key is set, then the stage's own `headers`.
pub fn headers(api_key: Option<&str>, extra: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let bearer = api_key.map(|key| ("authorization".to_string(), format!("Bearer {key}")));
    bearer.into_iter().chain(extra.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
}

/// Checks a stage's `headers` table in `init`, so a bad one fails at start.
pub fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in headers {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(format!("headers: `{name}` is not a valid header name"));
        }
        if value.chars().any(|c| c == '\r' || c == '\n') {
            return Err(format!("headers: the value of `{name}` has a line break"));
        }
    }
    Ok(())
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in milliseconds, given in seconds or as an HTTP date
    /// (then counted from now; a date in the past is 0).
    pub fn retry_after_ms(&self) -> Option<u64> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<f64>() {
            return Some((secs.max(0.0) * 1000.0) as u64);
        }
        let at_ms = http_date_secs(value)?.saturating_mul(1000);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
        Some(at_ms.saturating_sub(now_ms))
    }

    /// The body parsed as JSON; an unreadable body is retryable, with its
    /// first bytes in the message so the log shows what came back.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, StageError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| StageError::Retryable(format!("unreadable reply ({e}): {}", self.body_prefix(120))))
    }

    /// Up to `max` bytes of the body as lossy UTF-8.
    pub fn body_prefix(&self, max: usize) -> String {
        let end = self.body.len().min(max);
        String::from_utf8_lossy(&self.body[..end]).into_owned()
    }

    /// Maps a non-2xx status to the error a backend call should report:
    /// 429 and 503 are rate-limited (the server is busy: wait its
    /// `Retry-After`, spend no attempt), other 5xx retryable, any other 4xx
    /// fatal. `backend` names the server in the message.
    pub fn error_for_status(&self, backend: &str) -> Result<(), StageError> {
        let status = self.status;
        let detail = || format!("{backend} answered {status}: {}", self.body_prefix(200));
        match status {
            200..=299 => Ok(()),
            429 | 503 => Err(self.rate_limited(detail())),
            500..=599 => Err(StageError::Retryable(detail())),
            _ => Err(StageError::Fatal(detail())),
        }
    }

    /// A rate-limited error carrying this response's `Retry-After`.
    pub fn rate_limited(&self, message: String) -> StageError {
        let retry_after_ms = self.retry_after_ms().unwrap_or(DEFAULT_RETRY_AFTER_MS);
        StageError::RateLimited(RateLimit { message, retry_after_ms })
    }
}

/// `base` (a server's URL as users write it) joined with `path`: a trailing
/// `/` is dropped, and so is a trailing `/v1` when `path` starts with it,
/// since OpenAI clients take the base URL with `/v1` and lingo without.
pub fn endpoint(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = match path.starts_with("/v1/") {
        true => base.strip_suffix("/v1").unwrap_or(base),
        false => base,
    };
    format!("{base}{path}")
}

/// The seconds since the epoch of an HTTP date in its preferred form
/// (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
fn http_date_secs(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_weekday, day, month, year, time, "GMT"] = parts[..] else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let mut hms = time.split(':').map(|n| n.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()
}

/// A person-readable sentence for an HTTP error.
pub fn describe(err: &HttpError) -> String {
    match err {
        HttpError::Denied(host) => format!("host `{host}` is not in allowed_hosts"),
        HttpError::Timeout => "timed out".into(),
        HttpError::Connect(why) => format!("connection failed: {why}"),
        HttpError::TooLarge(cap) => format!("response larger than {cap} bytes"),
        HttpError::InvalidRequest(why) => format!("invalid request: {why}"),
    }
}

impl From<HttpError> for StageError {
    /// Network trouble may pass; a denied host or a malformed request will not.
    fn from(err: HttpError) -> Self {
        let message = describe(&err);
        match err {
            HttpError::Timeout | HttpError::Connect(_) | HttpError::TooLarge(_) => StageError::Retryable(message),
            HttpError::Denied(_) | HttpError::InvalidRequest(_) => StageError::Fatal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_read() {
        assert_eq!(http_date_secs("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date_secs("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date_secs("Mon, 07 Dec 2026 05:00:00 GMT"), Some(1_796_619_600));
        assert_eq!(http_date_secs("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(http_date_secs("soon"), None);
    }

    #[test]
    fn headers_carry_the_key_then_the_stage_s_own() {
        let extra = BTreeMap::from([("x-team".to_string(), "chat".to_string())]);
        let all = headers(Some("k"), &extra);
        assert_eq!(all, [("authorization".into(), "Bearer k".into()), ("x-team".into(), "chat".into())]);
        assert!(headers(None, &BTreeMap::new()).is_empty());
        assert!(check_headers(&extra).is_ok());
        let bad = BTreeMap::from([("x team".to_string(), "v".to_string())]);
        assert!(check_headers(&bad).unwrap_err().contains("`x team`"));
    }

    #[test]
    fn a_base_url_with_or_without_v1_gives_one_endpoint() {
        let path = "/v1/chat/completions";
        assert_eq!(endpoint("http://h:8000", path), "http://h:8000/v1/chat/completions");
        assert_eq!(endpoint("http://h:8000/", path), "http://h:8000/v1/chat/completions");
        assert_eq!(endpoint("http://h:8000/v1", path), "http://h:8000/v1/chat/completions");
        assert_eq!(endpoint("http://h:8000/v1/", path), "http://h:8000/v1/chat/completions");
        assert_eq!(endpoint("http://h:11434/", "/api/chat"), "http://h:11434/api/chat");
    }
}
