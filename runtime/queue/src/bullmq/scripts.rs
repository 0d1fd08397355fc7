//! BullMQ's own Lua scripts, byte for byte as the pinned npm `bullmq`
//! package ships them (includes expanded): a Node worker and lingo on one
//! queue run the same code on every key. `tests/interop/scripts.test.js`
//! checks the copies against the package; `node lib/bullmqscripts.js` there
//! copies them again after an upgrade. Each script's header says its keys
//! and arguments; `store` passes them in that order.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($name:ident, $file:literal) => {
        pub(crate) static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(include_str!(concat!("scripts/", $file, ".lua"))));
    };
}

script!(MOVE_TO_ACTIVE, "moveToActive-11");
script!(MOVE_TO_FINISHED, "moveToFinished-14");
script!(MOVE_TO_DELAYED, "moveToDelayed-11");
script!(RETRY_JOB, "retryJob-11");
script!(EXTEND_LOCKS, "extendLocks-1");
script!(MOVE_STALLED_JOBS_TO_WAIT, "moveStalledJobsToWait-9");
