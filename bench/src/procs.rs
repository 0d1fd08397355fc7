//! The workers (and the stand-in LLM server) as child processes: started
//! with their output in log files under `target/bench/logs/`, known ready by
//! a line in those logs and then a CPU gone quiet, measured through
//! `/proc/<pid>` (`stat` utime+stime, `status` VmHWM/VmRSS, `smaps_rollup` Pss), stopped with
//! SIGTERM (SIGKILL after a grace, and on drop).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 on Linux).
const CLK_TCK: f64 = 100.0;

/// Which log of the child a ready line is in.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A child process the bench started.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    /// For messages: what this is (`lingo`, `node-bullmq`, …).
    name: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Proc {
    /// Starts `command` with stdout and stderr in `<logs>/<name>.{out,err}`.
    pub fn spawn(name: &str, mut command: Command, logs: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs)?;
        let (stdout, stderr) = (logs.join(format!("{name}.out")), logs.join(format!("{name}.err")));
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout)?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()
            .with_context(|| format!("starting {name}: {command:?}"))?;
        Ok(Self { child, name: name.to_string(), stdout, stderr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `marker` appears in a log, then until the CPU is quiet
    /// (start-up work done), so that a measurement window holds no start-up.
    pub fn wait_ready(&mut self, marker: &str, stream: Stream, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let log = match stream {
            Stream::Stdout => self.stdout.clone(),
            Stream::Stderr => self.stderr.clone(),
        };
        while !std::fs::read_to_string(&log).unwrap_or_default().contains(marker) {
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!("{} not ready after {timeout:?} (no `{marker}` in {})", self.name, log.display());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.wait_quiet(deadline)
    }

    /// Three 100 ms windows in a row with less than one tick of CPU each.
    fn wait_quiet(&mut self, deadline: Instant) -> anyhow::Result<()> {
        let mut quiet = 0;
        let mut last = self.cpu_seconds()?;
        while quiet < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.cpu_seconds()?;
            quiet = if now - last < 1.0 / CLK_TCK { quiet + 1 } else { 0 };
            last = now;
        }
        Ok(())
    }

    /// An error with the tail of its stderr if the child has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{} exited ({status}); stderr ends:\n{}", self.name, tail.join("\n"));
        }
        Ok(())
    }

    /// User + system CPU time so far, in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc/<pid>/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).context("malformed /proc/<pid>/stat");
        Ok((ticks(11)? + ticks(12)?) / CLK_TCK)
    }

    /// Peak resident set (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        self.status_kib("VmHWM").map(|kib| kib / 1024.0)
    }

    /// Current resident set (VmRSS), in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        self.status_kib("VmRSS").map(|kib| kib / 1024.0)
    }

    /// Proportional set size, in MiB: resident pages, each shared page
    /// divided among its mappings. RSS counts a file page once per mapping;
    /// lingo maps each plugin's data image once per live instance.
    pub fn pss_mib(&self) -> anyhow::Result<f64> {
        self.proc_kib("smaps_rollup", "Pss").map(|kib| kib / 1024.0)
    }

    fn status_kib(&self, key: &str) -> anyhow::Result<f64> {
        self.proc_kib("status", key)
    }

    /// A `key: N kB` line of `/proc/<pid>/<file>`.
    fn proc_kib(&self, file: &str, key: &str) -> anyhow::Result<f64> {
        let text = std::fs::read_to_string(format!("/proc/{}/{file}", self.pid()))?;
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
            .with_context(|| format!("no {key} in /proc/{}/{file}", self.pid()))
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Drop kills it.
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
