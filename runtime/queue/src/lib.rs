//! The queue side of lingo: where jobs come from and where their outcomes go.
//!
//! Two protocols, one shape. [`bull`] speaks bull v4's Redis protocol with Lua
//! scripts written here; [`bullmq`] runs BullMQ's own scripts, copied from the
//! npm package. Both run one loop made of the parts in `shared`: they take a
//! [`Processor`] and run it in concurrency slots, renew locks, retry and back
//! off by the job's own options, and finish jobs so that Node producers
//! waiting on them settle.
//!
//! This crate knows nothing of WebAssembly or translation: a job is raw JSON in,
//! a JSON value or a [`JobError`] out.

pub mod bull;
pub mod bullmq;
mod depth;
mod error;
pub mod fair;
mod job;
pub mod producer;
mod settings;
mod shared;
mod worker;

pub use depth::{Depth, depth};
pub use error::QueueError;
pub use fair::{Slot, SlotPool, TenantSlots, TenantUsage};
pub use job::{FREE_RATE_LIMITS, Job, JobError, JobLog, Processor, RATE_LIMIT_WAIT};
pub use producer::{Finished, Producer};
pub use settings::{Protocol, QueueSettings};
pub use worker::QueueWorker;
