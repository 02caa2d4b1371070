//! The scheduled-job features end to end, through the binary: the webhook notification
//! against a local HTTP server (with the run history deciding what is new), and the history
//! store and published reports in S3 against moto's S3 server, which the tests start.
//!
//! moto comes from PyPI (`pip install 'moto[server]'`; `.ci/run` installs it). Without it the
//! S3 tests are skipped with a line saying how to install it, and fail with it when
//! `ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1` (set by `.ci/run`); `ENTITLEMENT_AUDIT_SKIP_S3=1` skips
//! them on purpose.
//! `ENTITLEMENT_AUDIT_PYTHON` names the interpreter (default `python3`).

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use entitlement_audit::deliver::notify::LISTED;

use crate::support::cli::Bin;
use serde_json::Value;

/// The binary in its own working directory (so that nothing lands in the checkout); like
/// every [`Bin`], without the test's `AWS_*` variables or `ENTITLEMENT_AUDIT_WEBHOOK_URL`.
fn bin(cwd: &Path) -> Bin {
    Bin::new().current_dir(cwd)
}

/// One run of the binary in `cwd`: exit code and stderr.
fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    run_with(bin(cwd).args(args))
}

fn run_with(c: Bin) -> (i32, String) {
    let out = c.run();
    (out.code, out.stderr)
}

/// `run` on the demo without history, reports in `reports`, notifying the webhook at `url`,
/// with `extra` arguments: exit code and stderr.
fn run_notifying(cwd: &Path, url: &str, extra: &[&str]) -> (i32, String) {
    let demo = ["run", "--demo", "--out", "reports", "--notify-webhook", url];
    run(cwd, &[&demo[..], extra].concat())
}

/// A request the local webhook received.
#[derive(Debug)]
struct Received {
    request_line: String,
    content_type: String,
    body: Value,
}

/// A local incoming webhook: answers every request with `status` and keeps what it got.
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Hook {
    fn start(status: u16) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Some(r) = read_request(&mut stream) else {
                    continue;
                };
                keep.lock().unwrap().push(r);
                let body = if status < 300 { "ok" } else { "no_service" };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Hook {
            // The path of a Slack webhook is its secret: the tests check it never shows.
            url: format!("http://{addr}/services/T000/B000/secret-token"),
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let (mut length, mut content_type) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "content-type" => content_type = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        request_line: request_line.trim_end().to_string(),
        content_type,
        body: serde_json::from_slice(&body).ok()?,
    })
}

/// Runs the demo as of `first`, then as of 2026-10-31 notifying `hook`, keeping history in
/// `h.sqlite`; both must succeed. Returns the second run's stderr.
fn demo_then_notify(work: &Path, first: &str, hook: &str) -> String {
    let demo = ["run", "--demo", "--out", "reports", "--state", "h.sqlite"];
    let (code, err) = run(work, &[&demo[..], &["--as-of", first]].concat());
    assert_eq!(code, 0, "{err}");
    let notify = ["--as-of", "2026-10-31", "--notify-webhook", hook];
    let (code, err) = run(work, &[&demo[..], &notify[..]].concat());
    assert_eq!(code, 0, "{err}");
    err
}

/// The run's own summary.json: the figures a message must repeat (not copied into the
/// tests, so that a new demo finding or rule changes no test here).
fn summary(work: &Path) -> (u64, Value) {
    let text = std::fs::read_to_string(work.join("reports/summary.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    (v["counts"]["findings"].as_u64().unwrap(), v)
}

fn assert_reports_written(dir: &Path) {
    for f in [
        "findings.csv",
        "findings.json",
        "summary.json",
        "summary.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing after the run");
    }
}

#[test]
fn webhook_gets_the_summary_when_findings_are_new() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(200);
    let (code, err) = run_notifying(
        work.path(),
        &hook.url,
        &["--notify-link", "https://ci.example/runs/7"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("notified: Entitlement audit 2026-10-31"),
        "{err}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(
        r.request_line,
        "POST /services/T000/B000/secret-token HTTP/1.1"
    );
    assert_eq!(r.content_type, "application/json");
    // No history: every one of the demo's findings is new.
    let (n, s) = summary(work.path());
    assert!(n > 0);
    assert_eq!(
        r.body["text"],
        format!("Entitlement audit 2026-10-31: {n} new, 0 resolved, {n} open findings")
    );
    let blocks = r.body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], "Entitlement audit 2026-10-31");
    let all = r.body.to_string();
    assert!(
        all.contains(&format!(
            "*{n} new* and *0 resolved* findings (no earlier run"
        )),
        "{all}"
    );
    let exposure = s["totals"]["exposure_usd"].as_f64().unwrap();
    assert!(exposure > 0.0);
    let shown = format!(
        "Public-price exposure *{}*",
        entitlement_audit::money::usd(exposure)
    );
    assert!(all.contains(&shown), "{all}");
    assert!(all.contains("<https://ci.example/runs/7|Reports>"), "{all}");
    // The demo's hostile account names arrive escaped.
    assert!(!all.contains("<script>"), "{all}");
    assert_reports_written(&work.path().join("reports"));
}

#[test]
fn webhook_lists_what_is_new_and_resolved_since_the_previous_run() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(200);
    demo_then_notify(work.path(), "2026-09-15", &hook.url);
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let body = &got[0].body;
    let (n, s) = summary(work.path());
    let new = s["changes"]["new"].as_u64().unwrap();
    let resolved = s["changes"]["resolved"].as_u64().unwrap();
    // The demo between those dates: findings come and go, more than a message lists.
    assert!(
        new > LISTED as u64 && resolved > 0,
        "{new} new, {resolved} resolved"
    );
    assert_eq!(
        body["text"],
        format!("Entitlement audit 2026-10-31: {new} new, {resolved} resolved, {n} open findings")
    );
    let sections: Vec<&str> = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    assert!(
        sections[1].starts_with(&format!(
            "*{new} new* and *{resolved} resolved* findings since 2026-09-15"
        )),
        "{sections:?}"
    );
    assert!(
        sections[2].starts_with("*New findings*\n• "),
        "{sections:?}"
    );
    assert!(
        sections[2].ends_with(&format!("… and {} more", new - LISTED as u64)),
        "{sections:?}"
    );
    assert!(sections[3].starts_with("*Resolved*\n• "), "{sections:?}");
}

#[test]
fn webhook_is_not_called_when_nothing_changed() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(200);
    // A week later the demo has the same findings: all persisting, none resolved.
    let err = demo_then_notify(work.path(), "2026-10-24", &hook.url);
    let (n, _) = summary(work.path());
    assert!(n > 0);
    assert!(
        err.contains(&format!("0 new, {n} persisting, 0 resolved")),
        "{err}"
    );
    assert!(
        err.contains("nothing new, resolved or missing: no notification"),
        "{err}"
    );
    assert!(hook.received().is_empty());
}

#[test]
fn a_refused_connection_fails_the_run_but_keeps_the_reports() {
    let work = tempfile::tempdir().unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/secret-token");
    let (code, err) = run_notifying(work.path(), &url, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!(
            "failed to notify (the reports are written in `reports`): could not reach the webhook at `127.0.0.1:{port}`"
        )),
        "{err}"
    );
    assert!(
        !err.contains("secret-token"),
        "the webhook's secret leaked: {err}"
    );
    assert_reports_written(&work.path().join("reports"));
}

#[test]
fn a_rejecting_webhook_fails_the_run_with_its_answer() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(500);
    let (code, err) = run_notifying(work.path(), &hook.url, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("answered HTTP 500: no_service"), "{err}");
    assert!(
        !err.contains("secret-token"),
        "the webhook's secret leaked: {err}"
    );
    assert_eq!(hook.received().len(), 1);
    assert_reports_written(&work.path().join("reports"));
}

#[test]
fn a_bad_webhook_url_is_refused_before_the_run() {
    let work = tempfile::tempdir().unwrap();
    let (code, err) = run_notifying(work.path(), "hooks.example/x", &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("`--notify-webhook`: the webhook URL must start with"),
        "{err}"
    );
    assert!(!work.path().join("reports").exists());
}

#[test]
fn publish_to_a_directory_copies_the_reports_under_the_date_and_latest() {
    let work = tempfile::tempdir().unwrap();
    let (code, err) = run(
        work.path(),
        &[
            "run",
            "--demo",
            "--out",
            "reports",
            "--no-history",
            "--publish",
            "site",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let written = file_names(&work.path().join("reports"));
    assert!(written.contains("report.html"), "{written:?}");
    for folder in ["2026-10-31", "latest"] {
        let dir = work.path().join("site").join(folder);
        assert_eq!(file_names(&dir), written, "{folder}");
        assert_eq!(
            std::fs::read(dir.join("summary.json")).unwrap(),
            std::fs::read(work.path().join("reports/summary.json")).unwrap()
        );
    }
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

// ---- S3, against moto's server ----

pub(crate) const BUCKET: &str = "audit-state";
const STATE: &str = "s3://audit-state/entitlement-audit/history.sqlite";
const STATE_KEY: &str = "entitlement-audit/history.sqlite";

/// moto's S3 server on a free local port, stopped when dropped (`export_s3` uses it too).
pub(crate) struct Moto {
    child: Child,
    endpoint: String,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) client: aws_sdk_s3::Client,
}

impl Moto {
    /// `None` when the S3 tests are skipped: on purpose, or because moto is missing and
    /// `ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1` (which `.ci/run` sets) does not demand it.
    pub(crate) fn start() -> Option<Moto> {
        if std::env::var_os("ENTITLEMENT_AUDIT_SKIP_S3").is_some_and(|v| v == "1") {
            eprintln!("ENTITLEMENT_AUDIT_SKIP_S3=1: S3 test skipped");
            return None;
        }
        let python =
            std::env::var("ENTITLEMENT_AUDIT_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let installed = Command::new(&python)
            .args(["-c", "import moto.server, flask, flask_cors"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            let why = format!(
                "the S3 tests need moto's server: `{python} -m pip install 'moto[server]'` \
                 (set ENTITLEMENT_AUDIT_PYTHON for another interpreter, or \
                 ENTITLEMENT_AUDIT_SKIP_S3=1 to skip these tests on purpose)"
            );
            assert!(
                std::env::var("ENTITLEMENT_AUDIT_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "{why}; ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1 makes this a failure"
            );
            eprintln!("S3 test SKIPPED: {why}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .endpoint_url(&endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .force_path_style(true)
            .build();
        let moto = Moto {
            child,
            endpoint,
            rt,
            client: aws_sdk_s3::Client::from_conf(config),
        };
        // Ready when it accepts connections; give up after about 30 seconds.
        let ready = (0..300).any(|_| {
            TcpStream::connect(("127.0.0.1", port)).is_ok() || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            }
        });
        assert!(ready, "moto's server did not start on port {port}");
        moto.rt
            .block_on(moto.client.create_bucket().bucket(BUCKET).send())
            .unwrap();
        Some(moto)
    }

    /// The binary, with credentials for moto and S3 pointed at it.
    /// (Nothing of the test process's AWS environment reaches it: another test may have set
    /// some; [`Bin`] drops it.)
    pub(crate) fn bin(&self, cwd: &Path) -> Bin {
        bin(cwd)
            .env("AWS_ENDPOINT_URL_S3", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", cwd.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                cwd.join("no-aws-credentials"),
            )
    }

    fn run(&self, cwd: &Path, args: &[&str]) -> (i32, String) {
        run_with(self.bin(cwd).args(args))
    }

    /// ETag and writer (the run id in the metadata) of the state object.
    fn head(&self, key: &str) -> Option<(String, String)> {
        let h = self
            .rt
            .block_on(self.client.head_object().bucket(BUCKET).key(key).send())
            .ok()?;
        Some((
            h.e_tag().unwrap().to_string(),
            h.metadata()
                .and_then(|m| m.get("entitlement-audit-run").cloned())
                .unwrap_or_default(),
        ))
    }

    fn get(&self, key: &str) -> Vec<u8> {
        self.rt.block_on(async {
            let o = self
                .client
                .get_object()
                .bucket(BUCKET)
                .key(key)
                .send()
                .await
                .unwrap();
            o.body.collect().await.unwrap().into_bytes().to_vec()
        })
    }

    fn keys(&self) -> BTreeSet<String> {
        let list = self
            .rt
            .block_on(self.client.list_objects_v2().bucket(BUCKET).send())
            .unwrap();
        list.contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect()
    }

    /// `history runs` on the S3 store: the as-of dates stored.
    fn stored_runs(&self, cwd: &Path) -> Vec<String> {
        let out = self
            .bin(cwd)
            .args(["history", "runs", "--state", STATE])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
            .lines()
            .filter(|l| l.starts_with("20"))
            .map(|l| l[..10].to_string())
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_on<'a>(as_of: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "run", "--demo", "--as-of", as_of, "--out", out, "--state", STATE,
    ]
}

fn previous_run(reports: &Path) -> Value {
    let s: Value =
        serde_json::from_slice(&std::fs::read(reports.join("summary.json")).unwrap()).unwrap();
    s["changes"]["previous_run"]["as_of"].clone()
}

#[test]
fn s3_state_is_created_by_the_first_run_and_updated_by_the_next() {
    let Some(moto) = Moto::start() else { return };
    let work = tempfile::tempdir().unwrap();
    let (code, err) = moto.run(work.path(), &demo_on("2026-10-24", "r1"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(not there yet: the first run)"), "{err}");
    let (first_etag, _) = moto
        .head(STATE_KEY)
        .expect("the first run creates the state");
    assert!(previous_run(&work.path().join("r1")).is_null());

    let (code, err) = moto.run(work.path(), &demo_on("2026-10-31", "r2"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("(downloaded, ETag {first_etag})")),
        "{err}"
    );
    // The second run compared with the first: it read the downloaded history.
    assert_eq!(previous_run(&work.path().join("r2")), "2026-10-24");
    let (second_etag, _) = moto.head(STATE_KEY).unwrap();
    assert_ne!(second_etag, first_etag);
    assert!(moto.get(STATE_KEY).starts_with(b"SQLite format 3\0"));
    assert_eq!(moto.stored_runs(work.path()), ["2026-10-24", "2026-10-31"]);
}

/// Two runs download the same history; the one that saves second is refused, exits 3 with
/// what happened, keeps its reports, and the first one's history stays as it wrote it.
fn overlapping_runs(seed_first: bool) {
    let Some(moto) = Moto::start() else { return };
    let work = tempfile::tempdir().unwrap();
    if seed_first {
        let (code, err) = moto.run(work.path(), &demo_on("2026-10-17", "r0"));
        assert_eq!(code, 0, "{err}");
    }
    let before = moto.head(STATE_KEY);
    let gate = work.path().join("gate");
    let mut slow = moto
        .bin(work.path())
        .args(demo_on("2026-10-24", "slow"))
        .args(["--test-wait-before-saving-history", gate.to_str().unwrap()])
        .spawn();
    // The slow run has downloaded the history and stopped before saving it.
    let mut slow_err = BufReader::new(slow.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("before saving the history") {
        let mut line = String::new();
        assert!(
            slow_err.read_line(&mut line).unwrap() > 0,
            "the slow run ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let (code, err) = moto.run(work.path(), &demo_on("2026-10-31", "fast"));
    assert_eq!(code, 0, "{err}");
    let after_fast = moto.head(STATE_KEY).unwrap();
    assert_ne!(Some(&after_fast), before.as_ref());
    let fast_history = moto.get(STATE_KEY);

    std::fs::write(&gate, "").unwrap();
    slow_err.read_to_string(&mut seen).unwrap();
    let code = slow.wait().unwrap().code().unwrap();
    assert_eq!(code, 3, "{seen}");
    let read = if seed_first {
        format!("this run read ETag {}", before.unwrap().0)
    } else {
        "this run read no history: it did not exist yet".to_string()
    };
    assert!(
        seen.contains(&format!(
            "error: failed to save the history (the reports are written in `slow`): \
             the history at `{STATE}` was changed by another run while this one ran ({read}); \
             this run's history was not saved, the other run's is intact: run again to record this one"
        )),
        "{seen}"
    );
    assert!(work.path().join("slow/summary.json").is_file());
    assert_eq!(moto.head(STATE_KEY).unwrap(), after_fast);
    assert_eq!(moto.get(STATE_KEY), fast_history);
    let mut want = vec!["2026-10-31"];
    if seed_first {
        want.insert(0, "2026-10-17");
    }
    assert_eq!(moto.stored_runs(work.path()), want);
}

#[test]
fn overlapping_runs_cannot_overwrite_each_others_history() {
    overlapping_runs(true);
}

#[test]
fn overlapping_first_runs_cannot_both_create_the_history() {
    overlapping_runs(false);
}

#[test]
fn a_failed_run_leaves_the_s3_history_untouched() {
    let Some(moto) = Moto::start() else { return };
    let work = tempfile::tempdir().unwrap();
    let (code, err) = moto.run(work.path(), &demo_on("2026-10-24", "r1"));
    assert_eq!(code, 0, "{err}");
    let before = moto.head(STATE_KEY).unwrap();
    // A file where the reports directory should be: the run fails writing them (exit 3).
    std::fs::write(work.path().join("blocked"), "").unwrap();
    let (code, err) = moto.run(work.path(), &demo_on("2026-10-31", "blocked"));
    assert_eq!(code, 3, "{err}");
    assert_eq!(moto.head(STATE_KEY).unwrap(), before);
    assert_eq!(moto.stored_runs(work.path()), ["2026-10-24"]);
}

#[test]
fn publish_to_s3_puts_every_report_under_the_date_and_latest() {
    let Some(moto) = Moto::start() else { return };
    let work = tempfile::tempdir().unwrap();
    let mut args = demo_on("2026-10-31", "reports");
    args.extend(["--publish", "s3://audit-state/published/"]);
    let (code, err) = moto.run(work.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "to s3://audit-state/published/2026-10-31/ and s3://audit-state/published/latest/"
        ),
        "{err}"
    );
    let written = file_names(&work.path().join("reports"));
    let want: BTreeSet<String> = ["2026-10-31", "latest"]
        .iter()
        .flat_map(|d| written.iter().map(move |f| format!("published/{d}/{f}")))
        .chain([STATE_KEY.to_string()])
        .collect();
    assert_eq!(moto.keys(), want);
    assert_eq!(
        moto.get("published/2026-10-31/summary.json"),
        std::fs::read(work.path().join("reports/summary.json")).unwrap()
    );
    let html = moto
        .rt
        .block_on(
            moto.client
                .head_object()
                .bucket(BUCKET)
                .key("published/latest/report.html")
                .send(),
        )
        .unwrap();
    assert_eq!(html.content_type(), Some("text/html; charset=utf-8"));
}
