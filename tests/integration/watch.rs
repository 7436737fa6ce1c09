//! Watches end to end: day 1 -> day 2 -> day 3 with two watches, events delivered to a real
//! webhook receiver on loopback (signed, de-duplicable, in order, nothing lost while it is
//! down or when the sync is killed between its commit and the events), `watch check` on
//! history, feeds parsed by a real Atom parser, metrics by a real Prometheus parser.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::history::expected_transition;
use crate::util::*;

const SECRET: &str = "s3cr3t-for-the-receiver";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A webhook receiver: an axum server on loopback recording every request, answering the
/// status it is told to. Stopping it closes its port.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts on `port` (0: any free port), keeping what an earlier receiver recorded.
    fn start(port: u16, got: Arc<Mutex<Vec<Got>>>, status: u16) -> Receiver {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(status));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (g, s) = (got.clone(), status);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().fallback(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let (g, s) = (g.clone(), s.clone());
                        async move {
                            let headers = headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                                })
                                .collect();
                            g.lock().unwrap().push(Got {
                                headers,
                                body: body.to_vec(),
                            });
                            axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
                        }
                    },
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Receiver {
            port,
            got,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Stops the server and waits until its port is closed.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn secret_file(env: &Env) -> String {
    let path = env.dir.path().join("hook.secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

/// Adds the two watches of these tests, both posting to `url`, `ms` signed.
fn add_watches(env: &Env, url: &str) {
    let secret = secret_file(env);
    assert_ok(&env.run(&[
        "watch",
        "add",
        "ms",
        "mindspore",
        "--webhook",
        url,
        "--webhook-secret-file",
        &secret,
    ]));
    // With a password in the URL: sent as basic auth, never shown.
    let with_password = url.replace("http://", "http://user:hunter2@");
    assert_ok(&env.run(&[
        "watch",
        "add",
        "pt",
        "pytorch",
        "--arch",
        "aarch64",
        "--webhook",
        &with_password,
    ]));
}

fn sync_json(env: &Env, sim: &Sim) -> Value {
    let out = env.sync(sim, &["--format", "json"]);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_json(env: &Env, name: &str, from: i64, to: i64) -> Value {
    let out = env.run(&[
        "watch",
        "check",
        name,
        "--from",
        &format!("run:{from}"),
        "--to",
        &format!("run:{to}"),
        "--format",
        "json",
    ]);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every image `macat search` finds for a watch's query and filters at a run.
fn search_ids(env: &Env, query: &str, filters: &[&str], run: i64) -> BTreeSet<String> {
    let run = format!("run:{run}");
    let mut args = vec![
        "search", query, "--as-of", &run, "--limit", "10000", "--format", "json",
    ];
    args.extend_from_slice(filters);
    let out = env.run(&args);
    assert_ok(&out);
    ids(&serde_json::from_slice(&out.stdout).unwrap())
}

/// Checks one event against the search, the exports and `changes.json`.
fn assert_event_is_right(env: &Env, event: &Value, query: &str, filters: &[&str]) {
    let (from, to) = (
        event["from"]["run_id"].as_i64().unwrap(),
        event["to"]["run_id"].as_i64().unwrap(),
    );
    let (at_from, at_to) = (
        search_ids(env, query, filters, from),
        search_ids(env, query, filters, to),
    );
    let (ef, et) = (
        env.export(&format!("run:{from}")),
        env.export(&format!("run:{to}")),
    );
    let want_changed: BTreeSet<String> = at_from
        .intersection(&at_to)
        .filter(|id| ef[*id] != et[*id])
        .cloned()
        .collect();
    assert_eq!(ids(&event["added"]), &at_to - &at_from, "added");
    assert_eq!(ids(&event["removed"]), &at_from - &at_to, "removed");
    assert_eq!(ids(&event["changed"]), want_changed, "changed");
    // What changes.json says of the day: an image starts matching only by being new or
    // changed, stops only by going or changing, and a changed one changes those fields.
    let (added, removed, changed) = expected_transition(from as usize - 1);
    for id in ids(&event["added"]) {
        assert!(added.contains(&id) || changed.contains_key(&id), "{id}");
    }
    for id in ids(&event["removed"]) {
        assert!(removed.contains(&id) || changed.contains_key(&id), "{id}");
    }
    for c in event["changed"].as_array().unwrap() {
        let fields: Vec<String> = c["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(changed[c["id"].as_str().unwrap()], fields);
    }
    for id in added.intersection(&at_to) {
        assert!(ids(&event["added"]).contains(id), "new match {id} missing");
    }
}

fn verify_signature(g: &Got) {
    let sig = g.header("x-macat-signature-256");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&g.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig, format!("sha256={want}"));
}

/// The event of a request without its `event_id`: what `watch check` prints.
fn without_id(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("event_id");
    v
}

#[test]
fn events_reach_the_webhook_signed_and_equal_watch_check() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let rx = Receiver::start(0, Default::default(), 200);
    assert_ok(&env.sync(&sim, &[]));
    add_watches(&env, &rx.url());
    // A new watch starts at the latest run: nothing to say yet.
    assert_ok(&env.run(&["watch", "deliver"]));
    assert!(rx.got().is_empty());
    for day in 2..=3 {
        sim.advance();
        let summary = sync_json(&env, &sim);
        assert_eq!(summary["status"], "committed");
        assert_eq!(summary["events"]["new"], 2, "{summary}");
        assert_eq!(summary["events"]["delivered"], 2, "day {day}");
        assert_eq!(summary["events"]["pending"], 0);
    }
    let got = rx.got();
    assert_eq!(got.len(), 4);
    let mut delivery_ids = BTreeSet::new();
    for g in &got {
        let body = g.json();
        assert_eq!(g.header("content-type"), "application/json");
        assert_eq!(
            g.header("user-agent"),
            format!("macat/{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(g.header("x-macat-event"), "watch");
        assert_eq!(
            g.header("x-macat-delivery"),
            body["event_id"].as_str().unwrap()
        );
        assert!(delivery_ids.insert(g.header("x-macat-delivery").to_string()));
        let watch = body["watch"].as_str().unwrap().to_string();
        if watch == "ms" {
            verify_signature(g);
            assert_event_is_right(&env, &body, "mindspore", &[]);
        } else {
            assert!(!g.headers.contains_key("x-macat-signature-256"));
            assert!(g.header("authorization").starts_with("Basic "));
            assert_event_is_right(&env, &body, "pytorch", &["--arch", "aarch64"]);
        }
        let (from, to) = (
            body["from"]["run_id"].as_i64().unwrap(),
            body["to"]["run_id"].as_i64().unwrap(),
        );
        assert_eq!(from + 1, to);
        assert_eq!(without_id(body), check_json(&env, &watch, from, to));
    }
    // Nothing is made twice.
    assert_ok(&env.run(&["watch", "deliver"]));
    assert_eq!(rx.got().len(), 4);
    // The secret is in no table of the mirror.
    let dump = std::fs::read(&env.db).unwrap();
    assert!(!dump.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
}

#[test]
fn a_receiver_down_for_two_syncs_gets_every_event_in_order() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let got: Arc<Mutex<Vec<Got>>> = Default::default();
    let mut rx = Receiver::start(0, got.clone(), 500);
    let port = rx.port;
    assert_ok(&env.sync(&sim, &[]));
    add_watches(&env, &rx.url());
    // Day 2: the receiver answers 500.
    sim.advance();
    let s = sync_json(&env, &sim);
    assert_eq!(s["events"]["new"], 2);
    assert_eq!(s["events"]["delivered"], 0);
    assert_eq!(s["events"]["pending"], 2);
    // Each event (the two watches post to two URLs) was tried a few times, under one id.
    let first_attempts = rx.got();
    let mut tries: BTreeMap<String, usize> = BTreeMap::new();
    for g in &first_attempts {
        *tries
            .entry(g.header("x-macat-delivery").to_string())
            .or_default() += 1;
    }
    assert_eq!(tries.len(), 2, "{tries:?}");
    assert!(tries.values().all(|n| *n > 1), "retried: {tries:?}");
    // Day 3: nothing listens.
    rx.stop();
    sim.advance();
    let out = env.sync(&sim, &["--format", "json"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(err.contains("stays pending"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["status"], "committed");
    assert_eq!(s["events"]["new"], 2);
    assert_eq!(s["events"]["pending"], 4);
    // Up again: one `watch deliver` sends everything, oldest first.
    let rx = Receiver::start(port, got, 200);
    assert_ok(&env.run(&["watch", "deliver"]));
    let delivered: Vec<Got> = rx.got().into_iter().skip(first_attempts.len()).collect();
    let mut seen = BTreeSet::new();
    let order: Vec<(String, i64)> = delivered
        .iter()
        .filter(|g| seen.insert(g.header("x-macat-delivery").to_string()))
        .map(|g| {
            let b = g.json();
            (
                b["watch"].as_str().unwrap().to_string(),
                b["to"]["run_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(order.len(), 4, "{order:?}");
    for w in ["ms", "pt"] {
        let runs: Vec<i64> = order.iter().filter(|o| o.0 == w).map(|o| o.1).collect();
        assert_eq!(runs, [2, 3], "{w}");
    }
    for id in tries.keys() {
        assert!(seen.contains(id), "the retried event keeps its id");
    }
    let list = env.run(&["watch", "list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(list.as_array().unwrap().iter().all(|w| w["pending"] == 0));
}

#[test]
fn a_sync_killed_between_commit_and_events_loses_no_event() {
    for point in ["after-commit", "before-events"] {
        let sim = Sim::days(&[]);
        let env = Env::new();
        let rx = Receiver::start(0, Default::default(), 200);
        assert_ok(&env.sync(&sim, &[]));
        add_watches(&env, &rx.url());
        sim.advance();
        let out = env.sync_env(&sim, &[], &[("MACAT_CRASH_AT", point)]);
        assert!(!out.status.success(), "{point}: the sync must die");
        let runs = env.run(&["runs", "--format", "json"]);
        let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
        assert_eq!(runs[0]["run_id"], 2);
        assert_eq!(runs[0]["status"], "committed", "{point}");
        let events: i64 = env
            .sqlite()
            .query_row("SELECT count(*) FROM watch_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(events, 0, "{point}: killed before the events");
        assert!(rx.got().is_empty());
        assert_ok(&env.run(&["watch", "deliver"]));
        let got = rx.got();
        assert_eq!(got.len(), 2, "{point}");
        for g in &got {
            let body = g.json();
            let watch = body["watch"].as_str().unwrap().to_string();
            assert_eq!(without_id(body), check_json(&env, &watch, 1, 2));
        }
        // Again: no second event.
        assert_ok(&env.run(&["watch", "deliver"]));
        assert_eq!(rx.got().len(), 2);
    }
}

#[test]
fn watch_check_compares_any_two_runs() {
    let (_sim, env) = three_day_mirror();
    assert_ok(&env.run(&["watch", "add", "ms", "mindspore"]));
    let d = check_json(&env, "ms", 1, 3);
    assert_eq!(d["watch"], "ms");
    assert_eq!(d["query"], "mindspore");
    assert_eq!(d["from"]["run_id"], 1);
    assert_eq!(d["to"]["run_id"], 3);
    let (a, b) = (
        search_ids(&env, "mindspore", &[], 1),
        search_ids(&env, "mindspore", &[], 3),
    );
    assert_eq!(ids(&d["added"]), &b - &a);
    assert_eq!(ids(&d["removed"]), &a - &b);
    assert!(!ids(&d["added"]).is_empty());
    // Reversed, added and removed swap.
    let r = check_json(&env, "ms", 3, 1);
    assert_eq!(ids(&r["added"]), ids(&d["removed"]));
    assert_eq!(ids(&r["removed"]), ids(&d["added"]));
    // Default: the two latest runs, as text.
    let out = env.run(&["watch", "check", "ms"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("watch ms (mindspore): run:2"));
}

#[test]
fn watch_bad_input_is_one_line() {
    let (_sim, env) = three_day_mirror();
    let one_line = |out: &std::process::Output, code: i32, needle: &str| {
        assert_exit(out, code);
        let err = stderr(out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    };
    one_line(
        &env.run(&["watch", "check", "nope"]),
        2,
        "no watch named nope",
    );
    one_line(&env.run(&["watch", "rm", "nope"]), 2, "no watch named nope");
    one_line(
        &env.run(&["feed", "--watch", "nope"]),
        2,
        "no watch named nope",
    );
    one_line(
        &env.run(&["watch", "add", "Bad Name", "x"]),
        2,
        "invalid watch name",
    );
    one_line(
        &env.run(&["watch", "add", "ok", "a AND"]),
        2,
        "invalid query",
    );
    one_line(
        &env.run(&[
            "watch",
            "add",
            "ok",
            "x",
            "--webhook",
            "http://example.com/h",
        ]),
        2,
        "--insecure-http",
    );
    one_line(
        &env.run(&[
            "watch",
            "add",
            "ok",
            "x",
            "--webhook",
            "ftp://u:pw@example.com/",
        ]),
        2,
        "****",
    );
    assert!(!stderr(&env.run(&[
        "watch",
        "add",
        "ok",
        "x",
        "--webhook",
        "ftp://u:pw@example.com/"
    ]))
    .contains("pw@"));
    // Unreachable is fine at add time: it is checked at delivery.
    assert_ok(&env.run(&[
        "watch",
        "add",
        "down",
        "mindspore",
        "--webhook",
        "https://user:hunter2@127.0.0.1:9/hook",
    ]));
    one_line(
        &env.run(&["watch", "add", "down", "pytorch"]),
        2,
        "already exists",
    );
    // A secret file others can read is accepted, with a warning.
    let secret = env.dir.path().join("shared.secret");
    std::fs::write(&secret, "x\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = env.run(&[
            "watch",
            "add",
            "shared",
            "x",
            "--webhook",
            "http://127.0.0.1:9/h",
            "--webhook-secret-file",
            secret.to_str().unwrap(),
        ]);
        assert_ok(&out);
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    }
    let list = env.run(&["watch", "list"]);
    assert_ok(&list);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("user:****@127.0.0.1"), "{text}");
    assert!(!text.contains("hunter2"));
    assert_ok(&env.run(&["watch", "rm", "down"]));
    one_line(
        &env.run(&["watch", "check", "down"]),
        2,
        "no watch named down",
    );
}

#[test]
fn feeds_are_valid_atom() {
    let (sim, env) = three_day_mirror();
    drop(sim);
    let out = env.run(&["feed"]);
    assert_ok(&out);
    let feed = feed_rs::parser::parse(&out.stdout[..]).unwrap();
    assert!(!feed.id.is_empty());
    assert!(feed.title.is_some());
    assert_eq!(
        feed.entries.len(),
        3,
        "one entry per run that changed the catalog"
    );
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    for (entry, run) in feed.entries.iter().zip(runs.as_array().unwrap()) {
        let title = &entry.title.as_ref().unwrap().content;
        let counts = format!("+{} ~{} -{}", run["added"], run["changed"], run["removed"]);
        assert!(title.ends_with(&counts), "{title} vs {counts}");
        let updated = entry.updated.unwrap();
        let finished =
            chrono::DateTime::parse_from_rfc3339(run["finished_at"].as_str().unwrap()).unwrap();
        assert_eq!(updated, finished);
        assert!(entry.content.is_some());
    }
    // Stable ids: the same feed again.
    let again = feed_rs::parser::parse(&env.run(&["feed"]).stdout[..]).unwrap();
    let ids = |f: &feed_rs::model::Feed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&feed), ids(&again));

    // A watch's feed, through a file and through serve.
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    assert_ok(&env.run(&["watch", "add", "ms", "mindspore"]));
    for _ in 2..=3 {
        sim.advance();
        assert_ok(&env.sync(&sim, &[]));
    }
    let path = env.dir.path().join("ms.atom");
    assert_ok(&env.run(&["feed", "--watch", "ms", "--out", path.to_str().unwrap()]));
    let file = std::fs::read(&path).unwrap();
    let feed = feed_rs::parser::parse(&file[..]).unwrap();
    assert_eq!(feed.entries.len(), 2);
    assert!(feed.entries[0]
        .title
        .as_ref()
        .unwrap()
        .content
        .contains("run 3"));
    let served = Sim::serve(&env.db, &[], &[]);
    let (status, body) = served.get("/watches/ms/feed.atom");
    assert_eq!(status, 200);
    assert_eq!(body.as_bytes(), &file[..]);
    let (status, body) = served.get("/feed.atom");
    assert_eq!(status, 200);
    assert_eq!(body, String::from_utf8(env.run(&["feed"]).stdout).unwrap());
    assert_eq!(served.get("/watches/nope/feed.atom").0, 404);
}

fn metrics(path: &std::path::Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let mut out = BTreeMap::new();
    for s in scrape.samples {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = if labels.is_empty() {
            s.metric.clone()
        } else {
            format!("{}{{{}}}", s.metric, labels.join(","))
        };
        let v = match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Counter(v) => v,
            prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        };
        out.insert(key, v);
    }
    assert!(scrape.docs.contains_key("macat_sync_images"), "HELP lines");
    promtool_check(path);
    out
}

/// `promtool check metrics` when promtool is installed (CI installs it).
fn promtool_check(path: &std::path::Path) {
    let Ok(out) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
    else {
        eprintln!("promtool is not installed: skipping `promtool check metrics`");
        return;
    };
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_file_after_committed_and_failed_runs() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let path = env.dir.path().join("macat.prom");
    let p = path.to_str().unwrap();
    assert_ok(&env.sync(&sim, &["--metrics-file", p]));
    sim.advance();
    assert_ok(&env.sync(&sim, &["--metrics-file", p]));
    let m = metrics(&path);
    assert_eq!(m["macat_sync_last_run_success"], 1.0);
    assert_eq!(m["macat_sync_changes{kind=added}"], 4.0);
    assert_eq!(m["macat_sync_changes{kind=changed}"], 6.0);
    assert_eq!(m["macat_sync_changes{kind=removed}"], 4.0);
    let images = m["macat_sync_images{type=BUILD_IN}"] + m["macat_sync_images{type=DEDICATED}"];
    assert_eq!(images as usize, day_in_workspace0(2).len());
    assert!(m["macat_sync_requests"] >= 2.0);
    assert_eq!(m["macat_sync_retries"], 0.0);
    assert_eq!(m["macat_watch_events_pending"], 0.0);
    let success = m["macat_sync_last_success_timestamp_seconds"];
    assert!(success > 0.0);
    // A failed run: success 0, the last success kept.
    let url = sim.url.clone();
    drop(sim);
    let out = macat_cmd()
        .arg("--db")
        .arg(&env.db)
        .args([
            "sync",
            "--endpoint",
            &url,
            "--project-id",
            "p1",
            "--retries",
            "0",
        ])
        .args(["--metrics-file", p])
        .output()
        .unwrap();
    assert_exit(&out, 4);
    let m = metrics(&path);
    assert_eq!(m["macat_sync_last_run_success"], 0.0);
    assert_eq!(m["macat_sync_last_success_timestamp_seconds"], success);
    assert_eq!(m["macat_sync_changes{kind=added}"], 0.0);
    // Only the metrics file is left in its directory (no temporary files).
    let stray: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty());
}
