//! Progress on stderr, so stdout stays free for command output: plain lines when stderr is
//! not a terminal (cron, CI logs), a single live status line that rewrites itself on a
//! terminal for the many small steps of a collection.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the live status line is showing (and must be cleared before the next line).
static STATUS_SHOWN: AtomicBool = AtomicBool::new(false);

fn clear_status(err: &mut impl Write) {
    if STATUS_SHOWN.swap(false, Ordering::Relaxed) {
        let _ = write!(err, "\r\x1b[2K");
    }
}

/// Prints one progress line.
pub fn line(msg: &str) {
    let mut err = std::io::stderr().lock();
    clear_status(&mut err);
    let _ = writeln!(err, "entitlement-audit: {msg}");
}

/// A step of long work: rewrites the status line on a terminal, a plain line otherwise.
pub fn status(msg: &str) {
    let mut err = std::io::stderr().lock();
    if !err.is_terminal() {
        let _ = writeln!(err, "entitlement-audit: {msg}");
        return;
    }
    clear_status(&mut err);
    let width = 100;
    let shown: String = msg.chars().take(width).collect();
    let _ = write!(err, "entitlement-audit: {shown}");
    let _ = err.flush();
    STATUS_SHOWN.store(true, Ordering::Relaxed);
}

/// Runs one phase of the job and logs how long it took, and the process's peak memory so far,
/// at debug level (`-vv`), so a slow or large run can be profiled per phase from its own log.
pub fn timed<T>(phase: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    tracing::debug!(
        phase,
        ms = start.elapsed().as_secs_f64() * 1000.0,
        peak_rss_mib = peak_rss_mib(),
        "phase done"
    );
    out
}

/// Peak resident memory of this process so far (Linux `VmHWM`); `None` where unknown.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}
