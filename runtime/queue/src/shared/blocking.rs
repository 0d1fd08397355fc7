//! The blocking fetch's own connection: one blocking command at a time
//! (bull's `BRPOPLPUSH`, bullmq's `BZPOPMIN` on its marker), which shutdown
//! interrupts at once with `CLIENT UNBLOCK` from the command connection, so
//! an idle worker stops without waiting out its block.
//!
//! The connection carries the name each library's `getWorkers` looks for in
//! `CLIENT LIST` (`CLIENT SETNAME`), so Bull Board and `queue.getWorkers()`
//! list lingo as a worker of the queue.

use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisResult};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::health::is_transient;

/// `<prefix>:<queue name in base64>`, the name bull's `getWorkers` (and
/// bullmq's, followed by `:w:<worker name>`) finds its workers by.
pub(crate) fn worker_name(prefix: &str, queue: &str) -> String {
    format!("{prefix}:{}", base64(queue.as_bytes()))
}

/// Standard base64 with padding, as Node's `Buffer.toString('base64')`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() { char::from(ALPHABET[sextet as usize]) } else { '=' });
        }
    }
    out
}

/// How a blocking command ended.
#[derive(Debug)]
pub(crate) enum Blocked<T> {
    /// Its reply.
    Reply(T),
    /// Shutdown began while it blocked; the reply it gave when unblocked, if
    /// it had one (something popped in the meantime, to be given back).
    Stopped(Option<T>),
}

/// A dedicated connection for blocking commands, made on demand and
/// replaced after any error.
pub(crate) struct Blocking {
    client: Client,
    /// Where `CLIENT UNBLOCK` is sent from.
    commands: ConnectionManager,
    /// The connection and its `CLIENT ID`.
    connection: Option<(MultiplexedConnection, Option<i64>)>,
    /// The longest a command may block, server side.
    longest: Duration,
    /// The connection's name in `CLIENT LIST`.
    name: String,
}

impl Blocking {
    pub fn new(client: Client, commands: ConnectionManager, longest: Duration, name: String) -> Self {
        Self { client, commands, connection: None, longest, name }
    }

    /// Opens the named connection ahead of the first block, so the worker is
    /// listed while it is busy too; a failure here is retried on first use.
    pub async fn open(&mut self) {
        let _ = self.connection().await;
    }

    /// Runs `command`, which blocks at most the `longest` given at start.
    /// `hard_stop` bounds how long an unblocked command may linger after
    /// `shutdown`. A kept connection that turns out dead (Redis dropped it
    /// while idle) is replaced at once instead of reported.
    pub async fn run<T: FromRedisValue>(
        &mut self,
        command: &Cmd,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<Blocked<T>> {
        let reused = self.connection.is_some();
        match self.run_once(command, shutdown, hard_stop).await {
            Err(err) if reused && is_transient(&err) => {
                debug!(error = %err, "blocking connection dropped; reconnecting");
                self.run_once(command, shutdown, hard_stop).await
            }
            ran => ran,
        }
    }

    async fn run_once<T: FromRedisValue>(
        &mut self,
        command: &Cmd,
        shutdown: &CancellationToken,
        hard_stop: &CancellationToken,
    ) -> RedisResult<Blocked<T>> {
        if shutdown.is_cancelled() {
            return Ok(Blocked::Stopped(None));
        }
        let (mut con, client_id) = self.connection().await?;
        let reply = command.query_async::<T>(&mut con);
        tokio::pin!(reply);
        let replied = tokio::select! {
            // Polling the command first sends it before any unblock is sent.
            biased;
            replied = &mut reply => replied,
            _ = shutdown.cancelled() => {
                if let Some(client_id) = client_id {
                    // Best effort: without it the command just ends at its timeout.
                    let mut unblock = redis::cmd("CLIENT");
                    unblock.arg("UNBLOCK").arg(client_id);
                    let _ = unblock.query_async::<bool>(&mut self.commands.clone()).await;
                }
                let late = tokio::select! {
                    late = reply => late.ok(),
                    _ = hard_stop.cancelled() => None,
                };
                return Ok(Blocked::Stopped(late));
            }
        };
        if replied.is_err() {
            self.connection = None;
        }
        replied.map(Blocked::Reply)
    }

    async fn connection(&mut self) -> RedisResult<(MultiplexedConnection, Option<i64>)> {
        if let Some(existing) = &self.connection {
            return Ok(existing.clone());
        }
        // The client-side timeout must outlast the server-side block.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(self.longest + Duration::from_secs(2)));
        let mut con = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let client_id = redis::cmd("CLIENT").arg("ID").query_async::<i64>(&mut con).await.ok();
        // Best effort, as the Node workers do (some managed Redis refuse it).
        let _ = redis::cmd("CLIENT").arg("SETNAME").arg(&self.name).query_async::<()>(&mut con).await;
        self.connection = Some((con.clone(), client_id));
        Ok((con, client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::worker_name;

    #[test]
    fn workers_are_named_as_the_node_libraries_look_for_them() {
        assert_eq!(worker_name("bull", "translation-jobs"), "bull:dHJhbnNsYXRpb24tam9icw==");
        assert_eq!(worker_name("bull", "ab"), "bull:YWI=");
        assert_eq!(worker_name("{bull}", "abc"), "{bull}:YWJj");
    }
}
