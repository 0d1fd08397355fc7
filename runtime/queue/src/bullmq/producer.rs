//! bullmq's producer side through `bullmq-official`: its `Queue::add` runs
//! the maintainers' add script, and one `QueueEvents` reader (XREAD on the
//! events stream) resolves every waiter.

use std::sync::Arc;

use ::bullmq::options::RedisConnectionOptions;
use ::bullmq::{QueueEvent, QueueEvents, QueueEventsOptions, QueueOptions};

use crate::producer::Finished;
use crate::producer::waiters::Waiters;
use crate::{QueueError, QueueSettings};

/// The job name the gateway gives its jobs.
const JOB_NAME: &str = "translate";

pub(crate) struct BullMqProducer {
    queue: ::bullmq::Queue,
    _events: Arc<QueueEvents>,
}

impl BullMqProducer {
    pub async fn start(settings: &QueueSettings, waiters: Waiters) -> Result<Self, QueueError> {
        let connection = RedisConnectionOptions::new().url(settings.redis_url.clone());
        let protocol = |e: ::bullmq::Error| QueueError::Protocol(e.to_string());
        let options = QueueOptions::new().connection(connection.clone()).prefix(settings.prefix.clone());
        let queue = ::bullmq::Queue::with_options(&settings.queue, options).await.map_err(protocol)?;
        let events_options = QueueEventsOptions { connection, prefix: settings.prefix.clone(), ..Default::default() };
        let events = Arc::new(QueueEvents::with_options(&settings.queue, events_options).await.map_err(protocol)?);
        let reader = events.clone();
        tokio::spawn(async move {
            while let Some(entry) = reader.next_event().await {
                match entry.event {
                    QueueEvent::Completed { job_id, return_value, .. } => {
                        let value = serde_json::from_str(&return_value).unwrap_or(serde_json::Value::Null);
                        waiters.resolve(&job_id, Finished::Completed(value));
                    }
                    QueueEvent::Failed { job_id, failed_reason, .. } => {
                        waiters.resolve(&job_id, Finished::Failed(failed_reason));
                    }
                    _ => {}
                }
            }
        });
        Ok(Self { queue, _events: events })
    }

    pub async fn add(&self, data: &serde_json::Value) -> Result<String, QueueError> {
        let job = self.queue.add(JOB_NAME, data).await.map_err(|e| match e {
            ::bullmq::Error::Redis(source) => QueueError::Redis(source),
            other => QueueError::Protocol(other.to_string()),
        })?;
        Ok(job.id().to_string())
    }
}
