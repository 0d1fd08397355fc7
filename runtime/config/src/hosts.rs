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

/// Whether `allowed` lets a stage call `url`, an `http://` or `https://`
/// URL; `Err` when `url` is not one.
pub fn allows_url(allowed: &[AllowedHost], url: &str) -> Result<bool, String> {
    let target = AllowedHost::parse(url)?;
    let (Some(scheme), Some(port)) = (target.scheme.as_deref(), target.port) else {
        return Err(format!("`{url}` is not an http:// or https:// URL"));
    };
    Ok(allowed.iter().any(|a| a.allows(scheme, &target.host, port)))
}

/// The hosts both lists allow: each pair of entries narrowed to what both
/// permit. This is how a tenant's `allowed_hosts` ceiling caps its stages'.
pub fn intersect(stage: &[AllowedHost], ceiling: &[AllowedHost]) -> Vec<AllowedHost> {
    let mut allowed: Vec<AllowedHost> = Vec::new();
    for narrowed in stage.iter().flat_map(|s| ceiling.iter().filter_map(move |c| s.narrowed_by(c))) {
        if !allowed.contains(&narrowed) {
            allowed.push(narrowed);
        }
    }
    allowed
}

impl AllowedHost {
    /// What both `self` and `other` allow, if anything.
    fn narrowed_by(&self, other: &AllowedHost) -> Option<AllowedHost> {
        fn both<T: Clone + PartialEq>(a: &Option<T>, b: &Option<T>) -> Option<Option<T>> {
            match (a, b) {
                (None, x) | (x, None) => Some(x.clone()),
                (Some(x), Some(y)) if x == y => Some(Some(x.clone())),
                _ => None,
            }
        }
        let scheme = both(&self.scheme, &other.scheme)?;
        let port = both(&self.port, &other.port)?;
        let host = narrower_host(&self.host, &other.host)?;
        Some(AllowedHost { scheme, host, port })
    }
}

/// The host pattern matching only what both `a` and `b` match (`*`,
/// `*.domain` or a name).
fn narrower_host(a: &str, b: &str) -> Option<String> {
    let covers = |wide: &str, narrow: &str| match wide.strip_prefix("*.") {
        _ if wide == "*" => true,
        Some(domain) => narrow.ends_with(&format!(".{domain}")),
        None => wide == narrow,
    };
    if covers(a, b) {
        Some(b.to_string())
    } else if covers(b, a) {
        Some(a.to_string())
    } else {
        None
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

    fn list(patterns: &[&str]) -> Vec<AllowedHost> {
        patterns.iter().map(|p| AllowedHost::parse(p).unwrap()).collect()
    }

    fn shown(hosts: Vec<AllowedHost>) -> Vec<String> {
        hosts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_ceiling_narrows_a_stage_to_what_both_allow() {
        let stage = list(&["*", "http://127.0.0.1:8000", "*.example.com"]);
        let ceiling = list(&["127.0.0.1:8000", "https://api.example.com"]);
        assert_eq!(
            shown(intersect(&stage, &ceiling)),
            ["127.0.0.1:8000", "https://api.example.com:443", "http://127.0.0.1:8000"]
        );
        assert!(intersect(&list(&["other.org:80"]), &ceiling).is_empty());
        assert!(intersect(&list(&["https://127.0.0.1:8000"]), &list(&["http://127.0.0.1"])).is_empty());
        assert_eq!(shown(intersect(&list(&["*.a.example.com"]), &list(&["*.example.com"]))), ["*.a.example.com"]);
    }
}
