//! The blocking fetch's own connection: one blocking command at a time
//! (bull's `BRPOPLPUSH`, bullmq's `BZPOPMIN` on its marker), which shutdown
//! interrupts at once with `CLIENT UNBLOCK` from the command connection, so
//! an idle worker stops without waiting out its block.

use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisResult};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::health::is_transient;

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
}

impl Blocking {
    pub fn new(client: Client, commands: ConnectionManager, longest: Duration) -> Self {
        Self { client, commands, connection: None, longest }
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
        self.connection = Some((con.clone(), client_id));
        Ok((con, client_id))
    }
}
