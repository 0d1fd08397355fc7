//! Either protocol's worker behind one type, chosen by config.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{Processor, Protocol, QueueError, QueueSettings, bull, bullmq};

/// A connected worker of either protocol.
pub enum QueueWorker {
    /// npm `bull` v4's protocol.
    Bull(Box<bull::Worker>),
    /// npm `bullmq`'s protocol.
    BullMq(Box<bullmq::Worker>),
}

impl QueueWorker {
    /// Connects to the queue of `settings` (fails fast if Redis does not answer).
    pub async fn connect(settings: QueueSettings, protocol: Protocol) -> Result<Self, QueueError> {
        Ok(match protocol {
            Protocol::Bull => Self::Bull(Box::new(bull::Worker::connect(settings).await?)),
            Protocol::BullMq => Self::BullMq(Box::new(bullmq::Worker::connect(settings).await?)),
        })
    }

    /// Runs `processor` on the queue's jobs until `shutdown`; see each protocol's `run`.
    pub async fn run<P: Processor>(&self, processor: Arc<P>, shutdown: CancellationToken) -> Result<(), QueueError> {
        match self {
            Self::Bull(worker) => worker.run(processor, shutdown).await,
            Self::BullMq(worker) => worker.run(processor, shutdown).await,
        }
    }
}
