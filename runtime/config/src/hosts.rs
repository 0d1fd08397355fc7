//! `allowed_hosts` patterns: which `scheme://host:port` a stage may call.
//!
//! A pattern is `host:port`, `scheme://host:port`, a whole URL (its path is
//! ignored, so `allowed_hosts = ["${VLLM_URL}"]` follows the backend's URL),
//! `*.example.com` for subdomains, or `*` for anywhere.

use std::fmt;

/// One parsed `allowed_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Parses one entry, or says what is wrong with it.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let pattern = pattern.trim();
        if pattern == "*" {
            return Ok(Self { scheme: None, host: "*".into(), port: None });
        }
        let (scheme, rest) = match pattern.split_once("://") {
            Some((s, rest)) if s == "http" || s == "https" => (Some(s.to_string()), rest),
            Some((s, _)) => return Err(format!("scheme `{s}` is not http or https")),
            None => (None, pattern),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(format!("`{pattern}` names no host"));
        }
        let port = port.or_else(|| scheme.as_deref().map(default_port));
        Ok(Self { scheme, host: host.to_ascii_lowercase(), port })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => self.host == host,
        };
        host_ok && self.scheme.as_deref().is_none_or(|s| s == scheme) && self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// The port a scheme uses when a URL gives none.
pub fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    // `[::1]:8000`: the port follows the bracket.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, _)) if !host.ends_with(']') && host.contains(':') => (authority, None),
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port = match port {
        Some("*") | None => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| format!("port `{p}` is not a number from 1 to 65535"))?),
    };
    Ok((host.trim_start_matches('[').trim_end_matches(']'), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let url = AllowedHost::parse("http://127.0.0.1:8000/v1").unwrap();
        assert!(url.allows("http", "127.0.0.1", 8000));
        assert!(!url.allows("http", "127.0.0.1", 8001));
        assert!(!url.allows("https", "127.0.0.1", 8000));
        let bare = AllowedHost::parse("localhost:11434").unwrap();
        assert!(bare.allows("http", "LOCALHOST", 11434));
        let default_port = AllowedHost::parse("https://api.example.com").unwrap();
        assert!(default_port.allows("https", "api.example.com", 443));
        let wild = AllowedHost::parse("*.example.com").unwrap();
        assert!(wild.allows("https", "a.example.com", 1));
        assert!(!wild.allows("https", "example.com.evil", 1));
        assert!(AllowedHost::parse("*").unwrap().allows("http", "x", 1));
        assert!(AllowedHost::parse("ftp://x").is_err());
        assert!(AllowedHost::parse("x:99999").is_err());
        assert_eq!(AllowedHost::parse("[::1]:80").unwrap().to_string(), "::1:80");
    }
}
