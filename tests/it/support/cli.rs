//! The one way a test runs the project's binary: `Bin::new().args([...]).run()` for the exit
//! code and output, `.spawn()` for the few tests that need the child process.
//!
//! Every command starts without the test process's `AWS_*` variables (one test,
//! `collect_env`, sets them in the shared process, and a developer's own must not reach a
//! test) and without `ENTITLEMENT_AUDIT_WEBHOOK_URL` (which would notify someone's webhook);
//! a test sets what it needs with [`Bin::env`] or [`Bin::aws`].

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::fake_aws::FakeAws;

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_entitlement-audit");

/// A command line of the binary, built up and then run once.
pub struct Bin {
    cmd: Command,
}

/// What a finished run left: its exit code (-1 when a signal ended it), stdout and stderr.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Default for Bin {
    fn default() -> Self {
        Bin::new()
    }
}

impl Bin {
    /// The binary cargo built.
    pub fn new() -> Bin {
        Bin::clean(Command::new(BIN))
    }

    /// `binary` (the built one, or another build) started through `wrapper`, a program and
    /// its arguments (`/usr/bin/time -f ...`).
    pub fn wrapped(wrapper: &[&str], binary: &str) -> Bin {
        let mut cmd = Command::new(wrapper[0]);
        cmd.args(&wrapper[1..]).arg(binary);
        Bin::clean(cmd)
    }

    fn clean(mut cmd: Command) -> Bin {
        #[allow(clippy::disallowed_methods)] // the test process's own environment, to drop it
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env_remove("ENTITLEMENT_AUDIT_WEBHOOK_URL");
        Bin { cmd }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Bin {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Bin
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Bin {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Bin
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(vars);
        self
    }

    /// Runs in `dir` (so that nothing it writes by default lands in the checkout).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Bin {
        self.cmd.current_dir(dir);
        self
    }

    /// Points the binary's AWS clients at `fake` alone ([`FakeAws::point`]).
    pub fn aws(mut self, fake: &FakeAws) -> Bin {
        fake.point(&mut self.cmd);
        self
    }

    /// Runs to the end (no stdin) and returns what it left; its stdout and stderr must be UTF-8.
    pub fn run(mut self) -> Outcome {
        let out = self.cmd.stdin(Stdio::null()).output().unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("the binary's stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("the binary's stderr is UTF-8"),
        }
    }

    /// Starts the process with its stderr piped (what tests read to know where it is), its
    /// stdout inherited and no stdin.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}
