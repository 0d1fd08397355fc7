//! A log writer that costs a job no thread wake-up.
//!
//! A worker logs a line per job. Handing each line to a writer thread over a
//! channel woke that thread per line: at 10,000 jobs/s, 10,000 futex wakes,
//! context switches and spin-yields a second, about a third of the worker's
//! system calls (`bench/tools/queue-profile.sh`). Here a line is appended
//! to a buffer under a lock; only the first line of a batch wakes the writer
//! thread, which then gathers for [`Batching::gather`] (or until
//! [`Batching::flush_at`] bytes wait) and writes the batch in one `write(2)`.
//!
//! A line never waits for the output: if whoever reads it stops reading (a
//! full pipe), lines beyond [`Batching::held`] bytes are dropped and counted,
//! and the count is written once the output moves again.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// When the writer thread writes.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// How long the first line of a batch waits for more.
    pub gather: Duration,
    /// Bytes that end the gathering at once.
    pub flush_at: usize,
    /// Bytes held, at most, while the output is not taking them.
    pub held: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self { gather: Duration::from_millis(10), flush_at: 64 << 10, held: 1 << 20 }
    }
}

/// Where the log's lines are written: the subscriber's writer.
#[derive(Debug)]
pub struct Sink {
    shared: Arc<Shared>,
}

/// Writes what is left and stops the writer thread when dropped.
#[derive(Debug)]
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    /// Wakes the writer thread: a batch began, filled up, or the log closed.
    wake: Condvar,
    batching: Batching,
}

#[derive(Debug, Default)]
struct State {
    lines: Vec<u8>,
    dropped: u64,
    closed: bool,
}

/// Starts the writer thread over `output`.
pub fn start(output: impl Write + Send + 'static, batching: Batching) -> (Sink, Guard) {
    let shared = Arc::new(Shared { state: Mutex::default(), wake: Condvar::new(), batching });
    let writer = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("lingo-log".into())
        .spawn(move || writer.write_batches(output))
        .expect("spawning the log writer thread");
    (Sink { shared: Arc::clone(&shared) }, Guard { shared, thread: Some(thread) })
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = &'a Shared;

    fn make_writer(&'a self) -> Self::Writer {
        &self.shared
    }
}

/// The subscriber writes each event whole, in one `write_all`.
impl Write for &Shared {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut state = self.lock();
        let before = state.lines.len();
        if before + line.len() > self.batching.held {
            state.dropped += 1;
        } else {
            state.lines.extend_from_slice(line);
            let after = state.lines.len();
            if before == 0 || (before < self.batching.flush_at && after >= self.batching.flush_at) {
                self.wake.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only bytes behind.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_batches(&self, mut output: impl Write) {
        let mut batch = Vec::new();
        loop {
            let (dropped, closed) = {
                let mut state = self.lock();
                while state.lines.is_empty() && !state.closed {
                    state = self.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if !state.closed && state.lines.len() < self.batching.flush_at {
                    state = self
                        .wake
                        .wait_timeout_while(state, self.batching.gather, |s| {
                            !s.closed && s.lines.len() < self.batching.flush_at
                        })
                        .map(|(state, _)| state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner().0);
                }
                std::mem::swap(&mut batch, &mut state.lines);
                (std::mem::take(&mut state.dropped), state.closed)
            };
            // A log that cannot be written has nowhere to say so.
            let _ = output.write_all(&batch);
            if dropped > 0 {
                let _ = writeln!(output, "lingo: {dropped} log lines dropped: the log's reader fell behind");
            }
            let _ = output.flush();
            batch.clear();
            // A burst's buffer is not kept for the quiet after it.
            batch.shrink_to(self.batching.flush_at);
            if closed && self.lock().lines.is_empty() {
                return;
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// An output tests can read, and hold back.
    #[derive(Clone, Default)]
    struct Output {
        written: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Output {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            *self.writes.lock().unwrap() += 1;
            self.write(bytes).map(drop)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output {
        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    fn log(sink: &Sink, line: &str) {
        sink.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn lines_arrive_whole_in_order_and_batched() {
        let output = Output::default();
        let (sink, guard) = start(output.clone(), Batching { gather: Duration::from_secs(60), ..Batching::default() });
        let lines: Vec<String> = (0..1000).map(|i| format!("job {i} done\n")).collect();
        for line in &lines {
            log(&sink, line);
        }
        drop(guard);
        assert_eq!(output.text(), lines.concat());
        assert_eq!(*output.writes.lock().unwrap(), 1, "1,000 lines within the gathering are one write");
    }

    #[test]
    fn a_lone_line_is_written_after_the_gathering() {
        let output = Output::default();
        let (sink, _guard) =
            start(output.clone(), Batching { gather: Duration::from_millis(1), ..Batching::default() });
        log(&sink, "worker started\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while output.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(output.text(), "worker started\n");
    }

    /// An output stuck until the test lets it go, like a pipe nobody reads.
    struct Stuck {
        go: mpsc::Receiver<()>,
        inner: Output,
    }

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _ = self.go.recv();
            self.inner.write(bytes)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_beyond_what_is_held_are_dropped_and_counted_not_waited_for() {
        let (go, wait) = mpsc::channel();
        let output = Output::default();
        let batching = Batching { gather: Duration::ZERO, flush_at: 16, held: 100 };
        let (sink, guard) = start(Stuck { go: wait, inner: output.clone() }, batching);
        log(&sink, "first\n");
        // Let the thread take the first line and get stuck writing it.
        while !sink.shared.lock().lines.is_empty() {
            std::thread::yield_now();
        }
        for i in 0..20 {
            log(&sink, &format!("line {i:02}\n"));
        }
        for _ in 0..100 {
            let _ = go.send(());
        }
        drop(guard);
        let text = output.text();
        let kept: String = (0..12).map(|i| format!("line {i:02}\n")).collect();
        assert!(text.starts_with(&format!("first\n{kept}")), "{text}");
        assert!(text.ends_with("lingo: 8 log lines dropped: the log's reader fell behind\n"), "{text}");
    }
}
