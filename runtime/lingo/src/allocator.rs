//! The process's allocator: mimalloc, with its arenas committed on demand.
//!
//! Every job allocates and frees many small buffers across the runtime's
//! threads (store data, strings of stage calls, Redis replies); with mimalloc
//! a cache-hit job costs about 15 % less CPU than with glibc's malloc.
//!
//! By default mimalloc commits its 1 GiB arena eagerly on Linux. Committed
//! on demand instead, its freed memory leaves the resident set: with 1,000
//! LLM calls in flight lingo read 174 MiB of RSS instead of 200, and 26
//! instead of 38 idle. The CPU per cache-hit job did not change measurably.

#![allow(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in `mi_option_e` of mimalloc 3's
/// `mimalloc.h` (the `-sys` crate names only some options).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// The option is read when the first arena is reserved, which is the first
/// allocation, and that may come before `main`: so it is set from the
/// process's constructors.
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ON_DEMAND: extern "C" fn() = commit_on_demand;

extern "C" fn commit_on_demand() {
    // SAFETY: sets an integer option; mimalloc allows it at any time.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arenas_are_committed_on_demand() {
        // SAFETY: reads an integer option.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT) }, 0);
    }
}
