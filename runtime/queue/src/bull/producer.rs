//! bull's producer side: `add` as `Queue.add` does it for a plain job, and one
//! pub/sub connection on `K(completed)` and `K(failed)` that resolves every
//! waiter (spec A3, A8).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde_json::json;

use super::keys::Keys;
use super::scripts;
use crate::producer::waiters::Waiters;
use crate::producer::{Finished, finished};
use crate::shared::now_ms;
use crate::{QueueError, QueueSettings};

/// How long the listener waits before subscribing again after a drop.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

pub(crate) struct BullProducer {
    con: ConnectionManager,
    keys: Arc<Keys>,
    /// bull's per-`Queue` token, used in the `waiting@<token>` channel.
    token: String,
}

impl BullProducer {
    pub fn start(client: redis::Client, con: ConnectionManager, settings: &QueueSettings, waiters: Waiters) -> Self {
        let keys = Arc::new(Keys::new(settings.key_prefix()));
        tokio::spawn(listen(client, con.clone(), keys.clone(), waiters));
        Self { con, keys, token: uuid::Uuid::new_v4().to_string() }
    }

    pub async fn add(&self, data: &serde_json::Value) -> Result<String, QueueError> {
        let k = &self.keys;
        let timestamp = now_ms();
        // What bull stores for `queue.add(data)` with no options.
        let opts = json!({ "attempts": 1, "delay": 0, "timestamp": timestamp });
        let mut call = scripts::ADD_JOB.key(&k.id);
        call.key(&k.wait).key(&k.paused).key(&k.meta_paused).key(&k.priority);
        call.arg(&k.base)
            .arg("__default__")
            .arg(data.to_string())
            .arg(opts.to_string())
            .arg(timestamp)
            .arg(&self.token);
        Ok(call.invoke_async(&mut self.con.clone()).await?)
    }
}

/// Subscribes to the finish channels and resolves waiters, for ever;
/// after a reconnect it re-checks every pending job, since messages
/// published while it was away are gone.
async fn listen(client: redis::Client, mut con: ConnectionManager, keys: Arc<Keys>, waiters: Waiters) {
    loop {
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&[&keys.completed, &keys.failed]).await.is_ok()
        {
            for id in waiters.pending() {
                if let Ok(Some(done)) = finished(&mut con, &keys.base, &id).await {
                    waiters.resolve(&id, done);
                }
            }
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let completed = message.get_channel_name() == keys.completed;
                if let Ok(payload) = message.get_payload::<String>()
                    && let Some((id, done)) = parse(&payload, completed)
                {
                    waiters.resolve(&id, done);
                }
            }
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}

/// `{"jobId":"7","val":"<JSON text>"}` on completed, `val` = the reason on failed.
fn parse(payload: &str, completed: bool) -> Option<(String, Finished)> {
    let message: serde_json::Value = serde_json::from_str(payload).ok()?;
    let id = match &message["jobId"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let val = message["val"].as_str();
    let done = if completed {
        Finished::Completed(val.and_then(|v| serde_json::from_str(v).ok()).unwrap_or(serde_json::Value::Null))
    } else {
        Finished::Failed(val.unwrap_or_default().to_string())
    };
    Some((id, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_channels() {
        let (id, done) = parse(r#"{"jobId":"7","val":"{\"a\":1}"}"#, true).unwrap();
        assert_eq!((id.as_str(), done), ("7", Finished::Completed(json!({"a": 1}))));
        let (_, done) = parse(r#"{"jobId":"8"}"#, true).unwrap();
        assert_eq!(done, Finished::Completed(serde_json::Value::Null));
        let (_, done) = parse(r#"{"jobId":"9","val":"boom"}"#, false).unwrap();
        assert_eq!(done, Finished::Failed("boom".into()));
    }
}
