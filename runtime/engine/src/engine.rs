//! The wasmtime engine lingo runs every stage on: async, pooled instances,
//! epoch interruption for deadlines, and one linker with WASI (empty) and the
//! three capabilities.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings;
use crate::compile_cache::CompileCache;
use crate::state::{StageState, WasiContexts};

/// Linear memory kept mapped between calls, reset with a copy of the
/// module's image instead of `madvise` + page faults on the next call. A
/// stage call touches its stack, data and the start of its heap, all at the
/// bottom of memory (the bundled plugins link a 128 KiB stack for this).
const KEEP_RESIDENT: usize = 384 << 10;

/// How often the epoch advances: the granularity of deadlines, and how often
/// a busy guest yields to the rest of the runtime.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Stage instances in calls at once; calls beyond it wait for a free one.
    pub max_instances: u32,
    /// MiB of linear memory kept in idle warm instances between calls (each
    /// holds at least 1), on top of `max_instances`.
    pub max_idle: u32,
    /// The worker's slots in all: a tenant holding `n` of them gets
    /// `n / pool_slots` of the instances ([`StageEngine::tenant_share`]).
    pub pool_slots: usize,
    /// The largest memory cap any stage may have.
    pub max_memory: u64,
    /// Where compiled components are kept between runs; `None` disables.
    pub cache_dir: Option<PathBuf>,
    /// Count the CPU of every stage call and host call ([`crate::cpu`]).
    pub cpu_accounting: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 1024,
            max_idle: 512,
            pool_slots: 256,
            max_memory: 64 << 20,
            cache_dir: CompileCache::default_dir(),
            cpu_accounting: false,
        }
    }
}

/// The shared engine: cheap to clone, one per process.
#[derive(Clone)]
pub struct StageEngine {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) linker: Arc<Linker<StageState>>,
    pub(crate) instances: Arc<Semaphore>,
    /// The idle budget: a warm instance holds a permit per MiB while it waits.
    pub(crate) idle: Arc<Semaphore>,
    pub(crate) cache: Option<Arc<CompileCache>>,
    pub(crate) wasi: Arc<WasiContexts>,
    pub(crate) cpu_accounting: bool,
    max_instances: usize,
    pool_slots: usize,
    /// Kept so the epoch thread lives as long as any clone of the engine.
    _ticker: Arc<Ticker>,
}

impl StageEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(options: &EngineOptions) -> anyhow::Result<Self> {
        let engine = wasmtime::Engine::new(&config(options))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Contract::add_all_to_linker(&mut linker)?;
        let cache = options.cache_dir.clone().map(|dir| Arc::new(CompileCache::new(dir, &engine)));
        Ok(Self {
            _ticker: Ticker::start(engine.clone()),
            engine,
            linker: Arc::new(linker),
            instances: Arc::new(Semaphore::new(options.max_instances as usize)),
            idle: Arc::new(Semaphore::new(options.max_idle as usize)),
            cache,
            wasi: Arc::default(),
            cpu_accounting: options.cpu_accounting,
            max_instances: options.max_instances as usize,
            pool_slots: options.pool_slots.max(1),
        })
    }

    /// The instances a tenant holding `slots` of the pool's slots may hold
    /// at once: its share of the pool, at least one.
    pub fn tenant_share(&self, slots: usize) -> usize {
        (self.max_instances * slots / self.pool_slots).clamp(1, self.max_instances)
    }

    /// The cores on which the busy calls of a tenant holding `slots` slots
    /// may compute at once: its share of the machine's, at least one.
    pub fn tenant_cores(&self, slots: usize) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores * slots / self.pool_slots).clamp(1, cores)
    }
}

fn config(options: &EngineOptions) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Instances in calls and warm ones waiting for the next.
    let instances = options.max_instances + options.max_idle;
    let mut pool = PoolingAllocationConfig::default();
    // A Rust stage is one component with one linear memory and a few core
    // instances (its module and the shims of the component model). Each
    // memory slot reserves address space (not RAM) for guard-page bounds
    // checks, so the pool holds no more memories than instances.
    pool.total_component_instances(instances)
        .total_core_instances(instances * 4)
        .total_memories(instances)
        .total_tables(instances * 2)
        .total_stacks(instances)
        .max_memory_size(options.max_memory as usize)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A thread that advances the engine's epoch every tick, until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: wasmtime::Engine) -> Arc<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("lingo-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch thread");
        Arc::new(Self { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
