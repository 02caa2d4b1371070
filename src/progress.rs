//! Progress lines on stderr, so stdout stays free for command output.

/// Prints one progress line.
pub fn line(msg: &str) {
    eprintln!("entitlement-audit: {msg}");
}
