//! What can go wrong in the queue adapters, as seen by the worker glue.
//!
//! Only start-up problems reach the caller: once a worker runs, Redis outages
//! are ridden out (reconnect with backoff) and job failures are job outcomes
//! ([`crate::JobError`]), not errors of the worker.

/// A queue adapter could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The configured Redis URL does not parse.
    #[error("invalid Redis URL `{url}`")]
    InvalidUrl {
        /// The URL with any password removed.
        url: String,
        /// Why it does not parse.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer when the worker started.
    #[error("cannot connect to Redis at `{url}`\nhint: check that Redis is running and that the URL is right")]
    Connect {
        /// The URL with any password removed.
        url: String,
        /// What the connection attempt reported.
        #[source]
        source: redis::RedisError,
    },
    /// A setting cannot work, e.g. a concurrency of 0.
    #[error("invalid queue setting `{name}`: {reason}")]
    InvalidSetting {
        /// The setting's field name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The queue library or the queue's data broke the protocol.
    #[error("queue protocol error: {0}")]
    Protocol(String),
    /// Redis answered a command with an error that retrying cannot fix.
    #[error("Redis command failed")]
    Redis(#[from] redis::RedisError),
}

/// `url` without the password, for messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_credentials_only() {
        assert_eq!(redact_url("redis://:secret@h:6379/0"), "redis://***@h:6379/0");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
    }
}
