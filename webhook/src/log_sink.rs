//! Log output that can never stop admissions.
//!
//! tracing-subscriber's fmt layer writes each event on the thread that logs it, and when
//! the write fails it reports the failure with `eprintln!`, which panics when stderr
//! itself is the failing writer. With stderr a broken pipe every handler that logs then
//! panics (its connection closes unanswered) and so does the SIGTERM handler (the process
//! never drains); with stderr on a full disk the first line at start kills the process; a
//! pipe nobody reads blocks every worker thread. So events are handed to one writer
//! thread through a bounded queue: a line that does not fit in the queue, or that the
//! writer cannot write, is dropped and counted ([`dropped`], exported as
//! `vmimage_log_lines_dropped_total`). The logging thread never waits and never fails.
//!
//! A receiver waiting on the queue makes every queued line a futex wake-up of its thread,
//! which on a 2-core node can preempt the worker still answering the review (issue 21
//! measured it on the admission hop); a receiver polling the queue wakes a hundred times a
//! second while nothing is logged. So the writer waits only while the queue is empty:
//! the first line wakes it, and it gathers the lines of the next [`DRAIN_EVERY`] before
//! writing. Lines reach the sink at most that much later.

use prometheus_client::metrics::counter::Counter;
use std::{
    io::{self, Write},
    sync::{
        LazyLock,
        mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError},
    },
    time::Duration,
};
use tracing_subscriber::fmt::MakeWriter;

/// Lines the queue holds before new ones are dropped (a few hundred KiB of text).
pub const QUEUE_LINES: usize = 4096;

/// How long [`Flush`] waits at exit for queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// How long the writer gathers lines after the first of a batch; [`QUEUE_LINES`] per
/// interval is far above any rate the webhook logs at.
pub const DRAIN_EVERY: Duration = Duration::from_millis(10);

static DROPPED: LazyLock<Counter> = LazyLock::new(Counter::default);

/// The process's count of log lines dropped (queue full or write failed).
pub fn dropped() -> &'static Counter {
    &DROPPED
}

enum Msg {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been written (or dropped).
    Flush(SyncSender<()>),
}

/// A [`MakeWriter`] whose writers queue one formatted event each for the writer thread.
#[derive(Clone)]
pub struct LossyWriter {
    queue: SyncSender<Msg>,
    dropped: Counter,
}

impl std::fmt::Debug for LossyWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LossyWriter")
            .field("dropped", &self.dropped.get())
            .finish()
    }
}

/// Waits (briefly) at exit for queued lines to reach the sink.
#[must_use = "dropping it flushes the queued lines"]
pub struct Flush {
    queue: SyncSender<Msg>,
}

// === impl LossyWriter ===

impl LossyWriter {
    /// Starts a writer thread writing to `sink`; lines it cannot queue or write are
    /// counted in `dropped`.
    pub fn spawn<W: Write + Send + 'static>(sink: W, lines: usize, dropped: Counter) -> (Self, Flush) {
        let (queue, rx) = mpsc::sync_channel(lines);
        let thread_dropped = dropped.clone();
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(rx, sink, &thread_dropped));
        if spawned.is_err() {
            // No thread: the receiver is gone, so every line is counted as dropped.
            dropped.inc();
        }
        let flush = Flush { queue: queue.clone() };
        (Self { queue, dropped }, flush)
    }

    /// The process's stderr, drops counted in [`dropped`].
    pub fn stderr() -> (Self, Flush) {
        Self::spawn(io::stderr(), QUEUE_LINES, dropped().clone())
    }
}

fn write_lines<W: Write>(rx: Receiver<Msg>, mut sink: W, dropped: &Counter) {
    // Idle, it blocks on the queue, so a quiet webhook never wakes it. The first line of
    // a batch wakes it once; it then sleeps [`DRAIN_EVERY`] (not waiting on the queue, so
    // the lines logged meanwhile wake nobody) and writes what has gathered in one write.
    let mut batch = Batch::default();
    while let Ok(first) = rx.recv() {
        std::thread::sleep(DRAIN_EVERY);
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => batch.push(&line),
                Msg::Flush(done) => {
                    batch.write_to(&mut sink, dropped);
                    let _ = done.try_send(());
                }
            }
            match rx.try_recv() {
                Ok(msg) => next = Some(msg),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    batch.write_to(&mut sink, dropped);
                    return;
                }
            }
        }
        batch.write_to(&mut sink, dropped);
    }
}

/// Lines gathered for one write.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    lines: u64,
}

impl Batch {
    fn push(&mut self, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.lines += 1;
    }

    /// Writes the batch (its lines count as dropped when that fails) and empties it.
    fn write_to<W: Write>(&mut self, sink: &mut W, dropped: &Counter) {
        if self.lines > 0 && sink.write_all(&self.bytes).and_then(|()| sink.flush()).is_err() {
            dropped.inc_by(self.lines);
        }
        self.bytes.clear();
        self.lines = 0;
    }
}

impl<'a> MakeWriter<'a> for LossyWriter {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            buf: Vec::new(),
            queue: self.queue.clone(),
            dropped: self.dropped.clone(),
        }
    }
}

/// One event being formatted; queued whole when dropped.
pub struct Line {
    buf: Vec<u8>,
    queue: SyncSender<Msg>,
    dropped: Counter,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send(Msg::Line(line))
        {
            self.dropped.inc();
        }
    }
}

// === impl Flush ===

impl Drop for Flush {
    fn drop(&mut self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.queue.try_send(Msg::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(FLUSH_WAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink that fails every write, as stderr on `/dev/full` or a broken pipe does.
    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    /// A sink that never returns, as a pipe nobody reads does once it is full.
    struct Stuck(Arc<Mutex<()>>);

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            let _held = self.0.lock();
            unreachable!("the test holds the lock until the process ends")
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log_with(writer: LossyWriter, lines: usize) {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..lines {
                tracing::info!(i, "a line");
            }
        });
    }

    #[test]
    fn failed_writes_are_counted_not_panicked_on() {
        let dropped = Counter::default();
        let (writer, flush) = LossyWriter::spawn(Failing, 16, dropped.clone());
        log_with(writer, 10);
        drop(flush);
        assert_eq!(dropped.get(), 10);
    }

    #[test]
    fn a_stuck_sink_never_blocks_the_logging_thread() {
        let lock = Arc::new(Mutex::new(()));
        let held = lock.lock().unwrap();
        let dropped = Counter::default();
        let (writer, _flush) = LossyWriter::spawn(Stuck(lock.clone()), 8, dropped.clone());
        // The writer takes the first line, then (after gathering for DRAIN_EVERY) what is
        // queued by then, and blocks on its write; the queue holds 8 more, the rest drop.
        // Returning at all is the point; how many the writer took first depends on timing.
        log_with(writer, 100);
        assert!(
            (50..=92).contains(&dropped.get()),
            "dropped {} of 100",
            dropped.get()
        );
        std::mem::forget(held);
    }

    #[test]
    fn lines_reach_a_working_sink_whole_and_in_order() {
        #[derive(Clone, Default)]
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let sink = Shared::default();
        let dropped = Counter::default();
        let (writer, flush) = LossyWriter::spawn(sink.clone(), 64, dropped.clone());
        log_with(writer, 20);
        drop(flush);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20, "{text}");
        for (i, line) in lines.iter().enumerate() {
            assert!(line.ends_with(&format!("a line i={i}")), "{line}");
        }
        assert_eq!(dropped.get(), 0);
    }
}
