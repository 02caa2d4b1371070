//! The scheduled-job features end to end, through the binary: the webhook notification
//! against a local HTTP server (with the run history deciding what is new).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One run of the binary in its own working directory (so that nothing lands in the
/// checkout): exit code and stderr.
fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_entitlement-audit"))
        .current_dir(cwd)
        .env_remove("ENTITLEMENT_AUDIT_WEBHOOK_URL")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let (code, err) = run(
        work.path(),
        &[
            "run",
            "--demo",
            "--out",
            "reports",
            "--notify-webhook",
            &hook.url,
            "--notify-link",
            "https://ci.example/runs/7",
        ],
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
    // No history: every one of the demo's 89 findings is new.
    assert_eq!(
        r.body["text"],
        "Entitlement audit 2026-10-31: 89 new, 0 resolved, 89 open findings"
    );
    let blocks = r.body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], "Entitlement audit 2026-10-31");
    let all = r.body.to_string();
    assert!(
        all.contains("*89 new* and *0 resolved* findings (no earlier run"),
        "{all}"
    );
    assert!(all.contains("Public-price exposure *$12,213.43*"), "{all}");
    assert!(all.contains("<https://ci.example/runs/7|Reports>"), "{all}");
    // The demo's hostile account names arrive escaped.
    assert!(!all.contains("<script>"), "{all}");
    assert_reports_written(&work.path().join("reports"));
}

#[test]
fn webhook_lists_what_is_new_and_resolved_since_the_previous_run() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(200);
    let demo = ["run", "--demo", "--out", "reports", "--state", "h.sqlite"];
    let (code, err) = run(
        work.path(),
        &[&demo[..], &["--as-of", "2026-09-15"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let (code, err) = run(
        work.path(),
        &[
            &demo[..],
            &["--as-of", "2026-10-31", "--notify-webhook", &hook.url],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let body = &got[0].body;
    assert_eq!(
        body["text"],
        "Entitlement audit 2026-10-31: 9 new, 1 resolved, 89 open findings"
    );
    let sections: Vec<&str> = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    assert!(
        sections[1].starts_with("*9 new* and *1 resolved* findings since 2026-09-15"),
        "{sections:?}"
    );
    assert!(
        sections[2].starts_with("*New findings*\n• "),
        "{sections:?}"
    );
    assert!(sections[2].ends_with("… and 4 more"), "{sections:?}");
    assert!(sections[3].starts_with("*Resolved*\n• "), "{sections:?}");
}

#[test]
fn webhook_is_not_called_when_nothing_changed() {
    let work = tempfile::tempdir().unwrap();
    let hook = Hook::start(200);
    let demo = ["run", "--demo", "--out", "reports", "--state", "h.sqlite"];
    let (code, err) = run(
        work.path(),
        &[&demo[..], &["--as-of", "2026-10-24"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    // A week later the demo has the same 89 findings: all persisting, none resolved.
    let (code, err) = run(
        work.path(),
        &[
            &demo[..],
            &["--as-of", "2026-10-31", "--notify-webhook", &hook.url],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 new, 89 persisting, 0 resolved"), "{err}");
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
    let (code, err) = run(
        work.path(),
        &[
            "run",
            "--demo",
            "--out",
            "reports",
            "--notify-webhook",
            &url,
        ],
    );
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
    let (code, err) = run(
        work.path(),
        &[
            "run",
            "--demo",
            "--out",
            "reports",
            "--notify-webhook",
            &hook.url,
        ],
    );
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
    let (code, err) = run(
        work.path(),
        &[
            "run",
            "--demo",
            "--out",
            "reports",
            "--notify-webhook",
            "hooks.example/x",
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("`--notify-webhook`: the webhook URL must start with"),
        "{err}"
    );
    assert!(!work.path().join("reports").exists());
}
