//! The pages in a real browser: headless Chromium, driven over the DevTools protocol, against
//! `macat serve` on port 0. Run alone with `cargo test --locked --test browser`.
//!
//! Without a `chromium` on the PATH (or `$CHROMIUM`) these tests say so and pass; CI installs
//! it (`.ci/run`). The browser runs with a fresh profile and no network beyond loopback.
//! Screenshots of `/`, an image page and `/runs` go to `target/tmp/screenshots/`.

#[allow(dead_code)]
#[path = "integration/util.rs"]
mod util;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use scraper::{Html, Selector};
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use util::*;

/// How long any one step may take before the test fails (never a sleep).
const STEP: Duration = Duration::from_secs(30);

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// A headless Chromium with a fresh profile, killed when dropped.
struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(path: &PathBuf) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--window-size=1000,800",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/..." on stderr.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut port = None;
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(rest) = line
                .trim()
                .strip_prefix("DevTools listening on ws://127.0.0.1:")
            {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
                break;
            }
            line.clear();
        }
        // Keep draining stderr so the browser never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Browser {
            child,
            port: port.expect("chromium did not say where DevTools listen"),
            _profile: profile,
        }
    }

    /// A plain GET to the DevTools HTTP endpoint.
    fn devtools_get(&self, path: &str) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        // The DevTools server may keep the connection open: read exactly Content-Length.
        s.set_read_timeout(Some(STEP)).unwrap();
        let mut reader = BufReader::new(s);
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let l = line.trim();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The first page (tab) of the browser.
    fn page(&self) -> Page {
        let deadline = Instant::now() + STEP;
        let url = loop {
            let targets = self.devtools_get("/json/list");
            if let Some(url) = targets
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                break url.to_string();
            }
            assert!(Instant::now() < deadline, "no page target");
            std::thread::yield_now();
        };
        let (ws, _) = tungstenite::connect(url.as_str()).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(STEP)).unwrap();
        }
        let mut page = Page {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            seen: Vec::new(),
        };
        for domain in ["Page", "Runtime", "Log", "DOM"] {
            page.call(&format!("{domain}.enable"), json!({}));
        }
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab, over its DevTools WebSocket.
struct Page {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events not waited for yet.
    events: VecDeque<Value>,
    /// Every event received, for the checks at the end (dialogs, console errors).
    seen: Vec<Value>,
}

impl Page {
    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools connection (timed out?)") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => {}
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m = self.read();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            if m.get("method").is_some() {
                self.seen.push(m.clone());
                self.events.push_back(m);
            }
        }
    }

    /// Waits for an event (`Page.loadEventFired` after a navigation).
    fn wait_for(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            let e = self.events.remove(i).unwrap();
            self.events.retain(|e| e["method"] != method);
            return e;
        }
        loop {
            let m = self.read();
            if m.get("method").is_some() {
                self.seen.push(m.clone());
                if m["method"] == method {
                    return m;
                }
            }
        }
    }

    fn goto(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for("Page.loadEventFired");
    }

    fn html(&mut self) -> Html {
        let root = self.call("DOM.getDocument", json!({"depth": -1}))["root"]["nodeId"].clone();
        let html = self.call("DOM.getOuterHTML", json!({ "nodeId": root }));
        Html::parse_document(html["outerHTML"].as_str().unwrap())
    }

    fn node(&mut self, selector: &str) -> Value {
        let root = self.call("DOM.getDocument", json!({"depth": 0}))["root"]["nodeId"].clone();
        let n = self.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        )["nodeId"]
            .clone();
        assert_ne!(n, 0, "no {selector} on the page");
        n
    }

    /// Types into a field as a person does: focus, the text, then Enter (submits the form).
    fn type_and_submit(&mut self, selector: &str, text: &str) {
        let n = self.node(selector);
        self.call("DOM.focus", json!({ "nodeId": n }));
        self.call("Input.insertText", json!({ "text": text }));
        self.events.clear();
        for kind in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": "Enter", "code": "Enter",
                       "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13, "text": "\r"}),
            );
        }
        self.wait_for("Page.loadEventFired");
    }

    /// Clicks an element with the mouse, in its middle, and waits for the page it opens.
    fn click(&mut self, selector: &str) {
        let n = self.node(selector);
        self.call("DOM.scrollIntoViewIfNeeded", json!({ "nodeId": n }));
        let quad = self.call("DOM.getContentQuads", json!({ "nodeId": n }))["quads"][0].clone();
        let q: Vec<f64> = quad
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let (x, y) = ((q[0] + q[4]) / 2.0, (q[1] + q[5]) / 2.0);
        self.events.clear();
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
        self.wait_for("Page.loadEventFired");
    }

    fn screenshot(&mut self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Dialogs, uncaught exceptions, console errors and logged errors (CSP violations, failed
    /// loads) seen so far.
    fn complaints(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|e| {
                let m = e["method"].as_str().unwrap_or("");
                m == "Page.javascriptDialogOpening"
                    || m == "Runtime.exceptionThrown"
                    || (m == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                    || (m == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
            })
            .map(|e| e.to_string())
            .collect()
    }
}

fn texts(doc: &Html, selector: &str) -> Vec<String> {
    doc.select(&Selector::parse(selector).unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

fn attrs(doc: &Html, selector: &str, attr: &str) -> Vec<String> {
    doc.select(&Selector::parse(selector).unwrap())
        .map(|e| e.value().attr(attr).unwrap_or_default().to_string())
        .collect()
}

/// Search, follow the first hit, read its history: what a person does, with the browser's
/// JavaScript on and off.
fn search_follow_read(page: &mut Page, base: &str, env: &Env, javascript: bool) {
    page.call(
        "Emulation.setScriptExecutionDisabled",
        json!({ "value": !javascript }),
    );
    page.goto(&format!("{base}/"));
    page.type_and_submit("input[name=q]", "mindspore 1.8");
    let doc = page.html();
    let hits = attrs(&doc, "li.hit", "data-id");
    let want: Vec<String> = serde_json::from_slice::<Value>(
        &env.run(&["search", "mindspore 1.8", "--format", "json"])
            .stdout,
    )
    .unwrap()
    .as_array()
    .unwrap()
    .iter()
    .map(|h| h["id"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(hits, want, "javascript {javascript}");
    if javascript {
        page.screenshot("search");
    }
    page.click("li.hit h2 a");
    let doc = page.html();
    let history: Value =
        serde_json::from_slice(&env.run(&["history", &want[0], "--format", "json"]).stdout)
            .unwrap();
    let events = attrs(&doc, "table.history tr.event", "data-event");
    let want_events: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, want_events);
    // The pull line is there as text; the Copy button shows only with JavaScript.
    let pull = texts(&doc, "#pull");
    assert!(pull[0].starts_with("docker pull "), "{pull:?}");
    let copy_hidden = attrs(&doc, "button.copy", "hidden");
    let hidden = doc
        .select(&Selector::parse("button.copy").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("hidden")
        .is_some();
    assert_eq!(hidden, !javascript, "{copy_hidden:?}");
    if javascript {
        page.screenshot("image");
        page.goto(&format!("{base}/runs"));
        let doc = page.html();
        assert_eq!(
            attrs(&doc, "table.runs tr.run", "data-run"),
            ["3", "2", "1"]
        );
        page.screenshot("runs");
    }
}

#[test]
fn a_person_searches_follows_a_hit_and_reads_its_history() {
    let Some(chromium) = chromium() else {
        eprintln!("no chromium on the PATH: browser tests skipped");
        return;
    };
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    let browser = Browser::launch(&chromium);
    let mut page = browser.page();
    search_follow_read(&mut page, &server.url, &env, true);
    search_follow_read(&mut page, &server.url, &env, false);
    assert!(page.complaints().is_empty(), "{:#?}", page.complaints());
}

#[test]
fn a_hostile_catalog_raises_no_dialog_and_no_console_error() {
    let Some(chromium) = chromium() else {
        eprintln!("no chromium on the PATH: browser tests skipped");
        return;
    };
    let fixture = repo().join("tests/fixtures/hostile-catalog.json");
    let sim = Sim::start(&["--catalog", fixture.to_str().unwrap()], &[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--type", "BUILD_IN"]));
    let server = Sim::serve(&env.db, &[], &[]);
    let browser = Browser::launch(&chromium);
    let mut page = browser.page();
    page.goto(&format!("{}/?q=*", server.url));
    let ids = attrs(&page.html(), "li.hit", "data-id");
    assert_eq!(ids.len(), 2);
    for i in 0..ids.len() {
        page.goto(&format!("{}/?q=*", server.url));
        page.click(&format!("li.hit:nth-child({}) h2 a", i + 1));
        let doc = page.html();
        let fields = texts(&doc, "table.fields td").join("\n");
        assert!(
            fields.contains("alert("),
            "the hostile values are shown as text"
        );
    }
    page.goto(&format!("{}/runs", server.url));
    page.goto(&format!("{}/diff?to=run:1", server.url));
    assert!(page.complaints().is_empty(), "{:#?}", page.complaints());
}
