//! The bench's own connection to the `redis-server` under test: samples of
//! `INFO cpu` and `INFO commandstats` (so a run's Redis CPU and command count
//! are deltas), the completion count of a queue, its jobs' hashes once done,
//! and the clean-up between runs. The commands the probe itself sends are
//! counted and taken out of the command deltas; `INFO` is left out by name.

use redis::Connection;

/// One reading of Redis's counters.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// used_cpu_user + used_cpu_sys, in seconds.
    pub cpu_seconds: f64,
    /// Calls of every command but INFO and the probe's own, scripts' inner calls included.
    pub calls: u64,
}

/// What a finished job's hash says.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub data: String,
    pub returnvalue: String,
    /// ms since the epoch: added, taken by a worker, finished.
    pub timestamp: u64,
    pub processed_on: u64,
    pub finished_on: u64,
}

pub struct Probe {
    con: Connection,
    /// Commands this connection sent, other than INFO.
    own_calls: u64,
}

impl Probe {
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self { con: redis::Client::open(url)?.get_connection()?, own_calls: 0 })
    }

    pub fn sample(&mut self) -> anyhow::Result<Sample> {
        let cpu: String = redis::cmd("INFO").arg("cpu").query(&mut self.con)?;
        let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut self.con)?;
        let number =
            |key: &str| cpu.lines().find_map(|l| l.strip_prefix(key)?.trim().parse::<f64>().ok()).unwrap_or(0.0);
        let calls: u64 = stats
            .lines()
            .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
            .filter_map(|l| l.split_once("calls=")?.1.split(',').next()?.parse::<u64>().ok())
            .sum();
        Ok(Sample {
            cpu_seconds: number("used_cpu_user:") + number("used_cpu_sys:"),
            calls: calls.saturating_sub(self.own_calls),
        })
    }

    /// Jobs of `queue` completed and failed so far.
    pub fn finished(&mut self, queue: &str) -> anyhow::Result<(u64, u64)> {
        self.own_calls += 2;
        Ok(redis::pipe()
            .cmd("ZCARD")
            .arg(format!("bull:{queue}:completed"))
            .cmd("ZCARD")
            .arg(format!("bull:{queue}:failed"))
            .query(&mut self.con)?)
    }

    /// Length of a queue's list (`active`, `wait`).
    pub fn list_len(&mut self, queue: &str, list: &str) -> anyhow::Result<u64> {
        self.own_calls += 1;
        Ok(redis::cmd("LLEN").arg(format!("bull:{queue}:{list}")).query(&mut self.con)?)
    }

    /// The hashes of every completed job of `queue`.
    pub fn completed_jobs(&mut self, queue: &str) -> anyhow::Result<Vec<JobRecord>> {
        self.own_calls += 1;
        let ids: Vec<String> =
            redis::cmd("ZRANGE").arg(format!("bull:{queue}:completed")).arg(0).arg(-1).query(&mut self.con)?;
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HMGET").arg(format!("bull:{queue}:{id}")).arg(&[
                    "data",
                    "returnvalue",
                    "timestamp",
                    "processedOn",
                    "finishedOn",
                ]);
            }
            self.own_calls += chunk.len() as u64;
            let rows: Vec<Vec<Option<String>>> = pipe.query(&mut self.con)?;
            records.extend(rows.into_iter().map(record));
        }
        Ok(records)
    }

    /// Removes every key of `queue` (`bull:<queue>:*`).
    pub fn delete_queue(&mut self, queue: &str) -> anyhow::Result<()> {
        let pattern = format!("bull:{queue}:*");
        let mut cursor: u64 = 0;
        loop {
            self.own_calls += 1;
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(10_000)
                .query(&mut self.con)?;
            if !keys.is_empty() {
                self.own_calls += 1;
                redis::cmd("UNLINK").arg(&keys).exec(&mut self.con)?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// SETs every pair, pipelined.
    pub fn set_all(&mut self, pairs: &[(String, String)]) -> anyhow::Result<()> {
        for chunk in pairs.chunks(1000) {
            let mut pipe = redis::pipe();
            for (key, value) in chunk {
                pipe.cmd("SET").arg(key).arg(value).ignore();
            }
            self.own_calls += chunk.len() as u64;
            pipe.exec(&mut self.con)?;
        }
        Ok(())
    }
}

fn record(row: Vec<Option<String>>) -> JobRecord {
    let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let ms = |i: usize| text(i).parse::<u64>().unwrap_or(0);
    JobRecord { data: text(0), returnvalue: text(1), timestamp: ms(2), processed_on: ms(3), finished_on: ms(4) }
}
