//! report.html in a real browser: Debian's chromium, headless, driven over the Chrome
//! DevTools Protocol (a small client over a websocket, below).
//!
//! The demo report must load with no console error, no CSP violation, no dialog and no
//! network request besides the file itself; filtering and sorting must change what is shown;
//! a screenshot is saved. A hostile report (script tags, event handlers, 5,000-character
//! names) must run nothing and keep its width. Without chromium the test is skipped with a
//! line saying how to install it, and fails with it when `ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1`
//! (set by `.ci/run`); `ENTITLEMENT_AUDIT_SKIP_BROWSER=1` skips it on purpose.
//!
//! `ENTITLEMENT_AUDIT_CHROMIUM` overrides the browser path; `ENTITLEMENT_AUDIT_SCREENSHOT`
//! the screenshot path (default `report.png` in cargo's test temp directory).

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::support::reports;

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use entitlement_audit::analyze::Analysis;
use entitlement_audit::model::Severity;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u64 = 1280;
const TIMEOUT: Duration = Duration::from_secs(60);

/// The browser binary, or `None` when the test is skipped: on purpose, or because chromium is
/// missing and `ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1` (which `.ci/run` sets) does not demand it.
fn chromium() -> Option<PathBuf> {
    if std::env::var("ENTITLEMENT_AUDIT_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("browser test skipped: ENTITLEMENT_AUDIT_SKIP_BROWSER=1");
        return None;
    }
    let path = std::env::var_os("ENTITLEMENT_AUDIT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "chromium not found at `{}`: the browser test needs Debian's chromium. Install it with \
         `apt-get update && apt-get install -y chromium` (.ci/run does this), point \
         ENTITLEMENT_AUDIT_CHROMIUM at another binary, or set ENTITLEMENT_AUDIT_SKIP_BROWSER=1 \
         to skip this test on purpose",
        path.display()
    );
    assert!(
        std::env::var("ENTITLEMENT_AUDIT_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{why} (ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1 makes this a failure)"
    );
    eprintln!("browser test SKIPPED: {why}");
    None
}

/// A headless chromium, closed (and killed if need be) on drop.
struct Browser {
    child: Child,
    cdp: Cdp,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(bin: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start `{}`: {e}", bin.display()));
        // Chromium writes the port it chose and the browser's websocket path here.
        let port_file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.to_string(), path.to_string());
                }
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "chromium wrote no DevToolsActivePort"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let cdp = Cdp::connect(&format!("ws://127.0.0.1:{port}{path}"));
        Browser {
            child,
            cdp,
            _profile: profile,
        }
    }

    /// Opens a new tab with the domains the checks listen to.
    fn page(&mut self) -> Page<'_> {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attached = self.cdp.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        let session = attached["sessionId"].as_str().unwrap().to_string();
        let mut page = Page {
            cdp: &mut self.cdp,
            session,
        };
        for domain in ["Page", "Runtime", "Log", "Network"] {
            page.call(&format!("{domain}.enable"), json!({}));
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        );
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.cdp.send(None, "Browser.close", json!({}));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal CDP client: numbered commands, with the events that arrive meanwhile kept.
struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let (ws, _) = tungstenite::client(url, stream).expect("CDP websocket handshake");
        Cdp {
            ws,
            next_id: 1,
            events: Vec::new(),
        }
    }

    fn send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> tungstenite::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string()))?;
        Ok(id)
    }

    /// The next message; `None` when `wait` passes without one.
    fn read(&mut self, wait: Duration) -> Option<Value> {
        self.ws.get_mut().set_read_timeout(Some(wait)).unwrap();
        let msg = match self.ws.read() {
            Ok(m) => m,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return None
            }
            Err(e) => panic!("CDP connection: {e}"),
        };
        match msg {
            Message::Text(t) => Some(serde_json::from_str(&t).unwrap()),
            _ => Some(Value::Null),
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.send(session, method, params).unwrap();
        let start = Instant::now();
        loop {
            let msg = self
                .read(TIMEOUT)
                .unwrap_or_else(|| panic!("no answer to `{method}`"));
            if msg["id"] == json!(id) {
                if let Some(err) = msg.get("error") {
                    panic!("`{method}` failed: {err}");
                }
                return msg["result"].clone();
            }
            if msg.get("method").is_some() {
                self.events.push(msg);
            }
            assert!(start.elapsed() < TIMEOUT, "`{method}` timed out");
        }
    }

    /// Waits for event `method` (of `session`), keeping every event seen.
    fn wait_for(&mut self, session: &str, method: &str) {
        let start = Instant::now();
        while start.elapsed() < TIMEOUT {
            if let Some(msg) = self.read(Duration::from_secs(1)) {
                let hit = msg["method"] == json!(method) && msg["sessionId"] == json!(session);
                if msg.get("method").is_some() {
                    self.events.push(msg);
                }
                if hit {
                    return;
                }
            }
        }
        panic!("no `{method}` event");
    }

    /// Keeps reading events for `d`.
    fn drain(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.read(left.max(Duration::from_millis(1))) {
                Some(msg) if msg.get("method").is_some() => self.events.push(msg),
                Some(_) => {}
                None => break,
            }
        }
    }
}

struct Page<'a> {
    cdp: &'a mut Cdp,
    session: String,
}

impl Page<'_> {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params)
    }

    fn open(&mut self, file: &Path) -> String {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.call("Page.navigate", json!({ "url": url }));
        let session = self.session.clone();
        self.cdp.wait_for(&session, "Page.loadEventFired");
        url
    }

    /// Evaluates `expr` in the page and returns its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("`{expr}` threw: {e}");
        }
        r["result"]["value"].clone()
    }

    /// What the page did wrong so far: console errors, exceptions, security (CSP) messages,
    /// dialogs, and any request other than `url`.
    fn problems(&mut self, url: &str) -> Vec<String> {
        self.cdp.drain(Duration::from_millis(500));
        let mut out = Vec::new();
        for e in &self.cdp.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled"
                    if matches!(p["type"].as_str(), Some("error" | "assert" | "warning")) =>
                {
                    out.push(format!("console {}: {}", p["type"], p["args"]))
                }
                "Runtime.exceptionThrown" => {
                    out.push(format!("exception: {}", p["exceptionDetails"]))
                }
                "Log.entryAdded"
                    if p["entry"]["level"] == "error" || p["entry"]["source"] == "security" =>
                {
                    out.push(format!("log: {}", p["entry"]["text"]))
                }
                "Page.javascriptDialogOpening" => out.push(format!("dialog: {}", p["message"])),
                "Network.requestWillBeSent" if p["request"]["url"] != json!(url) => {
                    out.push(format!("request: {}", p["request"]["url"]))
                }
                "Network.loadingFailed" => out.push(format!("failed load: {p}")),
                _ => {}
            }
        }
        out
    }

    fn screenshot(&mut self, path: &Path) {
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let height = metrics["cssContentSize"]["height"].as_f64().unwrap().ceil();
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1 }
            }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

/// Rows of the findings table as shown: severity, account cell, cost cell.
const VISIBLE: &str = r#"Array.from(document.querySelectorAll('#findings-table tbody tr'))
  .filter(tr => !tr.hidden)
  .map(tr => [tr.cells[0].textContent, tr.cells[2].textContent, tr.cells[5].textContent])"#;

fn set_filter(page: &mut Page, id: &str, value: &str, event: &str) {
    let js = format!(
        "(() => {{ const e = document.getElementById({id}); e.value = {value}; e.dispatchEvent(new Event({event})); return e.value; }})()",
        id = json!(id),
        value = json!(value),
        event = json!(event)
    );
    assert_eq!(page.eval(&js), json!(value), "no option `{value}` in #{id}");
}

fn visible(page: &mut Page) -> Vec<(String, String, String)> {
    serde_json::from_value(page.eval(VISIBLE)).unwrap()
}

fn money(cell: &str) -> f64 {
    cell.trim_start_matches('$')
        .replace(',', "")
        .parse()
        .unwrap_or(f64::NEG_INFINITY)
}

fn matches_search(a: &Analysis, q: &str) -> usize {
    let q = q.to_lowercase();
    a.findings
        .iter()
        .filter(|f| {
            [
                f.id.as_str(),
                f.severity.as_str(),
                f.rule,
                f.name,
                &f.account_id,
                &f.account_name,
                &f.team,
                &f.product,
                &f.message,
            ]
            .join("\n")
            .to_lowercase()
            .contains(&q)
        })
        .count()
}

#[test]
fn demo_report_works_in_chromium() {
    let Some(bin) = chromium() else { return };
    let (a, run) = reports::demo();
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let mut browser = Browser::launch(&bin);
    let mut page = browser.page();
    let url = page.open(&dir.path().join("report.html"));

    let shot = std::env::var_os("ENTITLEMENT_AUDIT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png"));
    page.screenshot(&shot);

    let all = visible(&mut page);
    assert_eq!(all.len(), a.findings.len(), "every demo finding listed");

    // Filter by severity: exactly the low findings remain.
    set_filter(&mut page, "f-severity", "low", "change");
    let low = visible(&mut page);
    let expected = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Low)
        .count();
    assert!(expected > 0 && expected < all.len());
    assert_eq!(low.len(), expected);
    assert!(low.iter().all(|r| r.0 == "low"), "{low:?}");
    let count = page.eval("document.getElementById('findings-count').textContent");
    assert!(
        count
            .as_str()
            .unwrap()
            .starts_with(&format!("Showing {expected} of")),
        "{count}"
    );

    // Filter by rule on top: the one orphaned grant is not low, so nothing is shown.
    set_filter(&mut page, "f-rule", "EA004 orphaned-grant", "change");
    assert_eq!(visible(&mut page).len(), 0);
    set_filter(&mut page, "f-severity", "", "change");
    assert_eq!(visible(&mut page).len(), 1);
    page.eval("document.getElementById('f-reset').click()");
    assert_eq!(visible(&mut page).len(), all.len());

    // Search for a hostile name: found, and shown as text.
    set_filter(&mut page, "f-search", "<script>", "input");
    let hits = visible(&mut page);
    assert_eq!(hits.len(), matches_search(&a, "<script>"));
    assert!(!hits.is_empty());
    assert!(
        hits[0].1.starts_with("<script>alert(1)</script>"),
        "{hits:?}"
    );
    page.eval("document.getElementById('f-reset').click()");

    // Sort by cost: descending first, then ascending.
    let cost_header = "document.querySelector('#findings-table th[data-key=cost] button').click()";
    page.eval(cost_header);
    let desc: Vec<f64> = visible(&mut page).iter().map(|r| money(&r.2)).collect();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    let max = a
        .findings
        .iter()
        .filter_map(|f| f.cost_usd)
        .fold(0.0, f64::max);
    assert!(
        (desc[0] - max).abs() < 0.006,
        "first row {} vs max {max}",
        desc[0]
    );
    page.eval(cost_header);
    let asc: Vec<f64> = visible(&mut page).iter().map(|r| money(&r.2)).collect();
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    assert_ne!(asc[0], desc[0]);
    let sort = page.eval(
        "document.querySelector('#findings-table th[data-key=cost]').getAttribute('aria-sort')",
    );
    assert_eq!(sort, json!("ascending"));

    let problems = page.problems(&url);
    assert!(
        problems.is_empty(),
        "the demo report misbehaved:\n{}",
        problems.join("\n")
    );

    // The checks above can fail: a blocked request shows up as a problem.
    page.eval("(() => { const i = new Image(); i.src = 'http://127.0.0.1:9/x.png'; document.body.appendChild(i); })()");
    let problems = page.problems(&url);
    assert!(!problems.is_empty(), "a blocked image load went unnoticed");
    eprintln!("a blocked image load is noticed: {problems:?}");
}

#[test]
fn hostile_report_runs_nothing_and_keeps_its_width() {
    let Some(bin) = chromium() else { return };
    let (a, run) = reports::hostile();
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let mut browser = Browser::launch(&bin);
    let mut page = browser.page();
    let url = page.open(&dir.path().join("report.html"));

    let shown = visible(&mut page);
    assert_eq!(shown.len(), a.findings.len());
    // The names arrive as text, whole.
    let names: Vec<&str> = shown.iter().map(|r| r.1.as_str()).collect();
    assert!(names
        .iter()
        .any(|n| n.starts_with("<img src=x onerror=alert(5)>")));
    assert!(names.iter().any(|n| n.starts_with(&reports::long())));
    // Nothing from the data became an element with a handler, a script or an image.
    let injected = page.eval(
        "document.querySelectorAll('img, iframe, object, embed, [onmouseover], [onerror], [onclick]').length \
         + document.scripts.length - 2",
    );
    assert_eq!(injected, json!(0));
    // Long strings wrap: the page is no wider than the window.
    let widths = page.eval("[document.documentElement.scrollWidth, window.innerWidth]");
    let overflowing = page.eval(
        "Array.from(document.querySelectorAll('body *')).filter(e => (e.getBoundingClientRect().right > window.innerWidth || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')) && !e.parentElement.closest('.scroll, .tall')).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))",
    );
    assert!(
        widths[0].as_u64().unwrap() <= widths[1].as_u64().unwrap(),
        "page wider than the window: {widths}; first elements past the edge: {overflowing}"
    );
    let problems = page.problems(&url);
    assert!(
        problems.is_empty(),
        "the hostile report misbehaved:\n{}",
        problems.join("\n")
    );
}
