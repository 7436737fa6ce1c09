//! Test support: a temp dir per test, the real `macat` binary, the real simulator on port 0.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_macat");

/// A `macat` command with a clean environment (no credentials or paths leak in from the host).
pub fn macat_cmd() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("MACAT_") || k.starts_with("HUAWEICLOUD_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1");
    c.stdin(Stdio::null());
    c
}

/// A temp dir with a mirror path in it. Everything is removed when it drops.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mirror.db");
        Env { dir, db }
    }

    /// Runs `macat --db <db> ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        macat_cmd()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .output()
            .unwrap()
    }

    /// `macat sync` against a simulator with extra flags and environment.
    pub fn sync_env(&self, sim: &Sim, extra: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut args = vec!["sync", "--endpoint", &sim.url, "--project-id", "p1"];
        args.extend_from_slice(extra);
        macat_cmd()
            .envs(envs.iter().copied())
            .arg("--db")
            .arg(&self.db)
            .args(&args)
            .output()
            .unwrap()
    }

    /// `macat sync` against a simulator with extra flags.
    pub fn sync(&self, sim: &Sim, extra: &[&str]) -> Output {
        let mut args = vec!["sync", "--endpoint", &sim.url, "--project-id", "p1"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `macat sync` against a simulator, not started, output discarded (set stderr to read it).
    pub fn sync_command(&self, sim: &Sim, extra: &[&str]) -> Command {
        let mut cmd = macat_cmd();
        cmd.current_dir(self.dir.path())
            .arg("--db")
            .arg(&self.db)
            .args(["sync", "--endpoint", &sim.url, "--project-id", "p1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Starts `macat sync` against a simulator in the background (output discarded).
    pub fn spawn_sync(&self, sim: &Sim, extra: &[&str]) -> std::process::Child {
        self.sync_command(sim, extra).spawn().unwrap()
    }

    /// `macat export --as-of WHEN` parsed, keyed by id.
    pub fn export(&self, as_of: &str) -> BTreeMap<String, Value> {
        let out = self.run(&["export", "--as-of", as_of]);
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut ids = Vec::new();
        let map: BTreeMap<String, Value> = text
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let id = v["id"].as_str().unwrap().to_string();
                ids.push(id.clone());
                (id, v)
            })
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "export must be sorted by id");
        map
    }

    /// The raw export bytes (to check a mirror is unchanged).
    pub fn export_bytes(&self) -> Vec<u8> {
        let out = self.run(&["export"]);
        assert_ok(&out);
        out.stdout
    }

    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).unwrap()
    }
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Server flags for the paging dialect furthest from the default: `offset` counts pages from 0,
/// `current` is 0-based and `size` is the number of records returned.
pub const PAGES_FROM_0_SIZE_AS_COUNT: [&str; 6] = [
    "--offset-mode",
    "pages",
    "--current-base",
    "0",
    "--size-mode",
    "count",
];

/// A `macat simulate` child on 127.0.0.1:0, killed when dropped.
pub struct Sim {
    child: Child,
    pub url: String,
}

impl Sim {
    /// A simulator with environment variables set (the credentials it accepts).
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Sim {
        let mut all = vec!["simulate", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Sim::spawn(&all, envs)
    }

    /// `macat serve` over a mirror, on 127.0.0.1:0.
    pub fn serve(db: &Path, args: &[&str], envs: &[(&str, &str)]) -> Sim {
        let db = db.to_str().unwrap();
        let mut all = vec!["--db", db, "serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Sim::spawn(&all, envs)
    }

    /// Any `macat` server that prints its base URL on the first line of stdout.
    fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Sim {
        let mut child = macat_cmd()
            .envs(envs.iter().copied())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "server said {url:?}");
        Sim { child, url }
    }

    /// The simulator serving the shipped fixture days (day 1 first).
    pub fn days(extra: &[&str]) -> Sim {
        Sim::days_with_env(extra, &[])
    }

    /// [`Sim::days`] with environment variables (the credentials it accepts).
    pub fn days_with_env(extra: &[&str], envs: &[(&str, &str)]) -> Sim {
        let mut args = Vec::new();
        for d in 1..=3 {
            args.push("--catalog".to_string());
            args.push(fixture_day_path(d).to_string_lossy().into_owned());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Sim::start(&args.iter().map(String::as_str).collect::<Vec<_>>(), envs)
    }

    /// `POST /_sim/advance`: the next catalog day.
    pub fn advance(&self) {
        self.http("POST", "/_sim/advance");
    }

    /// A plain HTTP/1.1 request to the simulator; returns the body of a 200.
    pub fn http(&self, method: &str, path: &str) -> String {
        let (status, body) = self.request(method, path);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A plain HTTP/1.1 request; returns the status and the body.
    pub fn request(&self, method: &str, path: &str) -> (u16, String) {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// A client of a server started elsewhere (no child of its own is killed when it drops).
    pub fn at(url: &str) -> Client {
        Client {
            url: url.to_string(),
        }
    }

    /// The server's process id (to read its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The day the simulator serves now (1-based).
    pub fn day(&self) -> usize {
        let state: Value = serde_json::from_str(&self.http("GET", "/_sim/state")).unwrap();
        state["day"].as_u64().unwrap() as usize
    }
}

impl Sim {
    /// `GET path` on the simulator: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.url, path)
    }
}

/// A client of a server by its base URL, for threads (a [`Sim`] owns its process).
pub struct Client {
    pub url: String,
}

impl Client {
    /// `GET path`: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.url, path)
    }
}

/// `GET path` on the server at `url`: (status, body).
fn get(url: &str, path: &str) -> (u16, String) {
    {
        let addr = url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let resp = String::from_utf8(resp).unwrap();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
}

/// Percent-encodes a query value (the few characters the tests' values need).
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_day_path(day: usize) -> PathBuf {
    repo().join(format!("data/catalog-day{day}.json"))
}

/// A fixture day as the mirror should hold it after syncing workspace "0": id -> object.
pub fn day_in_workspace0(day: usize) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(fixture_day_path(day)).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .filter(|v| v.get("workspace_id").and_then(Value::as_str).unwrap_or("0") == "0")
        .map(|v| (v["id"].as_str().unwrap().to_string(), v))
        .collect()
}

/// Asserts two catalogs are equal, naming the first differences.
pub fn assert_same_catalog(got: &BTreeMap<String, Value>, want: &BTreeMap<String, Value>) {
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "catalogs differ: missing {missing:?}, extra {extra:?}, different {differ:?}"
    );
}

/// A mirror of the three fixture days, one default sync per day (runs 1, 2, 3), with the
/// simulator that served them (now on day 3).
pub fn three_day_mirror() -> (Sim, Env) {
    let sim = Sim::days(&[]);
    let env = Env::new();
    for day in 1..=3 {
        if day > 1 {
            sim.advance();
        }
        assert_ok(&env.sync(&sim, &[]));
    }
    (sim, env)
}

/// Asserts two JSON arrays of hits are equal; a difference is reported as the first hit that
/// differs, with both counts (not as two whole arrays). `what` names the two sides.
pub fn assert_same_hits(got: &Value, want: &Value, what: &str) {
    let lines = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("an array of hits")
            .iter()
            .map(|h| h.to_string())
            .collect()
    };
    let (got, want) = (lines(got), lines(want));
    let first = got.iter().zip(&want).position(|(g, w)| g != w);
    assert!(
        got.len() == want.len() && first.is_none(),
        "{what}: {} hits against {}; first difference at {first:?}:\n{:?}\n{:?}",
        got.len(),
        want.len(),
        first.map(|i| &got[i]),
        first.map(|i| &want[i]),
    );
}
