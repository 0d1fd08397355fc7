//! The Lua scripts of the bull v4 protocol, written for lingo from the spec
//! (not copied from bull). Each lives in `scripts/<name>.lua`; the helpers in
//! `scripts/common.lua` are prepended to every one, since Redis scripts cannot
//! include each other. Every state transition is one script, so Node workers,
//! stalled checkers and producers racing on the same keys never see half of
//! one. `redis::Script` runs them with EVALSHA and falls back to loading them.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(include_str!("scripts/common.lua"), include_str!(concat!("scripts/", $file))))
        })
    };
}

/// Pop (or take a popped id), lock, return the hash (spec A4).
pub(crate) static MOVE_TO_ACTIVE: LazyLock<Script> = script!("move_to_active.lua");
/// Compare-and-set lock renewal (spec A5).
pub(crate) static EXTEND_LOCK: LazyLock<Script> = script!("extend_lock.lua");
/// Finish as completed and publish (spec A6).
pub(crate) static COMPLETE: LazyLock<Script> = script!("complete.lua");
/// Record a failed attempt and retry, delay or fail the job (spec A7).
pub(crate) static FAIL: LazyLock<Script> = script!("fail.lua");
/// Back to delayed without using an attempt (rate limited).
pub(crate) static MOVE_TO_DELAYED: LazyLock<Script> = script!("move_to_delayed.lua");
/// Promote due delayed jobs (spec A9).
pub(crate) static PROMOTE_DELAYED: LazyLock<Script> = script!("promote_delayed.lua");
/// The throttled two-phase stalled check (spec A10).
pub(crate) static CHECK_STALLED: LazyLock<Script> = script!("check_stalled.lua");
/// Hand back a job popped after shutdown began.
pub(crate) static REQUEUE: LazyLock<Script> = script!("requeue.lua");
/// Add a plain job as bull's producer does (spec A3); used by the gateway.
pub(crate) static ADD_JOB: LazyLock<Script> = script!("add_job.lua");
