//! `scratch`: the few bytes a stage keeps from one phase of a unit to a
//! later phase of the same unit. The pipeline hands each call what its
//! stage kept so far and takes back what the call left, only when the call
//! succeeded; this module holds the value during the call and bounds it by
//! `limits.max_scratch_bytes`.

use crate::bindings::lingo::pipeline::scratch::Host;
use crate::state::StageState;
use crate::wall::{Limit, Wall};

/// The scratch value of one stage call.
pub struct Scratch {
    value: Option<Vec<u8>>,
    wall: Wall,
}

impl Scratch {
    /// What the stage kept before this call, within `wall`'s limit.
    pub fn new(value: Option<Vec<u8>>, wall: &Wall) -> Self {
        Self { value, wall: wall.clone() }
    }

    /// What the call leaves for the later phases.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        self.value.take()
    }

    fn set(&mut self, value: Vec<u8>) -> Result<(), String> {
        let max = self.wall.limits.max_scratch_bytes;
        if value.len() > max {
            self.wall.hit(Limit::ScratchBytes, 1);
            return Err(format!("{} bytes is over the scratch limit of {max} (limits.max_scratch_bytes)", value.len()));
        }
        self.value = Some(value);
        Ok(())
    }
}

impl Host for StageState {
    async fn get(&mut self) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.scratch.value.clone())
    }

    async fn set(&mut self, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        Ok(self.scratch.set(value))
    }
}
