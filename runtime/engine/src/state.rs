//! What a store holds for one stage call: the empty WASI context, the
//! capabilities with this stage's permissions, and the memory limiter.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::{Http, Kv, Log};

/// How much of a panic message is kept from the guest's stderr.
const STDERR_CAPTURE: usize = 4096;

/// Store data of one stage call; dropped with the store when the call ends.
pub struct StageState {
    /// WASI with nothing in it: no dirs, no env, no args, no sockets. Rust's
    /// std needs the interfaces linked; the empty context makes them reach
    /// nothing.
    wasi: WasiCtx,
    table: ResourceTable,
    /// The guest's stderr, kept so a panic's message can name its cause.
    pub stderr: MemoryOutputPipe,
    /// The linear-memory cap, which remembers whether it was hit.
    pub limits: MemoryLimit,
    /// Outbound HTTP under this stage's allow-list and deadline.
    pub http: Http,
    /// Key-value store under this stage's tenant and namespace prefix.
    pub kv: Kv,
    /// Logging tagged with job and stage.
    pub log: Log,
}

impl StageState {
    /// State for one call with the given capabilities and memory cap.
    pub fn new(http: Http, kv: Kv, log: Log, memory: usize) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        Self { wasi, table: ResourceTable::new(), stderr, limits: MemoryLimit::new(memory), http, kv, log }
    }

    /// What the guest wrote to stderr (its panic message, if it panicked).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).trim().to_string()
    }
}

impl WasiView for StageState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A cap on linear memory that records when a guest asked for more, so an
/// out-of-memory abort can be told apart from any other trap.
pub struct MemoryLimit {
    max_bytes: usize,
    /// Set when a grow request was refused.
    pub exceeded: bool,
}

impl MemoryLimit {
    fn new(max_bytes: usize) -> Self {
        Self { max_bytes, exceeded: false }
    }

    /// The cap in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
