//! bullmq
