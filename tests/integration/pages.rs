//! The pages for people in `macat serve`, and `macat report`: read with a real HTML parser and
//! compared with what the commands print as JSON.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use scraper::{Html, Selector};
use serde_json::Value;

use crate::util::*;

/// One HTTP/1.1 exchange: (status, headers lower-cased, body).
pub fn exchange(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8(resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn page(server: &Sim, path: &str) -> Html {
    let (status, headers, body) = exchange(&server.url, "GET", path, &[], "");
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    Html::parse_document(&body)
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn attrs(doc: &Html, selector: &str, attr: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .map(|e| e.value().attr(attr).unwrap_or_default().to_string())
        .collect()
}

fn json(out: std::process::Output) -> Value {
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_search_page_shows_the_hits_of_macat_search_in_order() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    let cases: [(&str, &[&str]); 10] = [
        ("pytorch", &[]),
        ("pytorch 1.8", &[]),
        ("mindspore 2.0", &[]),
        ("pytroch", &[]),
        ("cuda10.2 conda", &[]),
        ("arch:aarch64 mindsp*", &[]),
        ("昇腾", &[]),
        ("mlstudio", &["--include-removed"]),
        (
            "*",
            &["--as-of", "run:1", "--arch", "x86_64", "--limit", "50"],
        ),
        (
            "(pytorch OR mindspore) -cuda",
            &["--type", "BUILD_IN", "--limit", "7"],
        ),
    ];
    for (q, flags) in cases {
        let mut args = vec!["search", q, "--format", "json"];
        args.extend_from_slice(flags);
        let want: Vec<String> = json(env.run(&args))
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        // The flags as the form sends them: `--as-of run:1` is `as_of=run%3A1`.
        let mut path = format!("/?q={}", encode(q));
        let mut it = flags.iter();
        while let Some(flag) = it.next() {
            let name = flag.trim_start_matches("--").replace('-', "_");
            if name == "include_removed" {
                path.push_str("&include_removed=true");
            } else {
                path.push_str(&format!("&{name}={}", encode(it.next().unwrap())));
            }
        }
        // Empty form fields are "not given".
        path.push_str("&status=&category=");
        let doc = page(&server, &path);
        let got = attrs(&doc, "ol.hits li.hit", "data-id");
        assert_eq!(got, want, "{path}");
        assert!(!want.is_empty(), "{q} finds something");
        let count = doc
            .select(&sel("#count"))
            .next()
            .unwrap()
            .text()
            .collect::<String>();
        assert!(count.starts_with(&want.len().to_string()), "{count}");
        // Each hit links to its image page, keeping the point in time asked for.
        let links = attrs(&doc, "li.hit h2 a", "href");
        for (link, id) in links.iter().zip(&want) {
            assert!(
                link.starts_with(&format!("/images/{}", encode(id))),
                "{link}"
            );
            if flags.contains(&"--as-of") {
                assert!(link.ends_with("?as_of=run%3A1"), "{link}");
            }
        }
        // The as_of in effect is on the page.
        if flags.contains(&"--as-of") {
            let shown: String = doc
                .select(&sel(".asof-run"))
                .next()
                .unwrap()
                .text()
                .collect();
            assert_eq!(shown, "run:1");
        }
    }
    // Matched words are highlighted.
    let doc = page(&server, "/?q=pytorch");
    let marks: Vec<String> = doc
        .select(&sel("li.hit h2 mark"))
        .map(|m| m.text().collect::<String>().to_lowercase())
        .collect();
    assert!(marks.iter().any(|m| m.contains("pytorch")), "{marks:?}");
}

#[test]
fn a_bad_query_or_point_in_time_is_a_400_page_saying_why() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    for path in [
        "/?q=%22unclosed",
        "/?q=x&as_of=yesterday",
        "/?q=x&limit=0",
        "/diff?from=run:99",
    ] {
        let (status, headers, body) = exchange(&server.url, "GET", path, &[], "");
        assert_eq!(status, 400, "{path}");
        assert_eq!(
            header(&headers, "content-security-policy"),
            Some("default-src 'self'")
        );
        let doc = Html::parse_document(&body);
        let msg: String = doc.select(&sel(".error")).next().unwrap().text().collect();
        assert!(!msg.is_empty(), "{path}");
    }
    let (status, _, _) = exchange(&server.url, "GET", "/images/no-such-image", &[], "");
    assert_eq!(status, 404);
}

/// The id of an image by name, from `macat history`.
fn history_of(env: &Env, name: &str) -> Vec<Value> {
    json(env.run(&["history", name, "--format", "json"]))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn the_image_page_shows_every_field_and_every_version() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    // Delisted on day 2, back on day 3; and one renamed on day 2.
    for name in [
        "mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3",
        "mindstudio5.0.rc1-ascendsnt9-cann5.1.0-euler2.8.3-aarch64",
    ] {
        let history = history_of(&env, name);
        let id = history[0]["id"].as_str().unwrap();
        let doc = page(&server, &format!("/images/{}", encode(id)));
        let rows: Vec<(String, String)> = doc
            .select(&sel("table.history tr.event"))
            .map(|r| {
                let a = |k| r.value().attr(k).unwrap().to_string();
                (a("data-run"), a("data-event"))
            })
            .collect();
        let want: Vec<(String, String)> = history
            .iter()
            .map(|e| {
                (
                    e["run_id"].to_string(),
                    e["event"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(rows, want, "{name}");
        // Changed fields by their API names.
        let fields: Vec<String> = attrs(&doc, "table.history li[data-field]", "data-field");
        let want_fields: Vec<String> = history
            .iter()
            .flat_map(|e| e["changes"].as_array().unwrap().iter())
            .map(|c| c["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, want_fields, "{name}");
        // Every field of the image as `show` has it, unknown ones too.
        let shown = json(env.run(&["show", id, "--format", "json"]));
        let shown = if shown.is_array() {
            shown[0].clone()
        } else {
            shown
        };
        let names: Vec<String> = doc
            .select(&sel("table.fields th"))
            .map(|t| t.text().collect())
            .collect();
        let mut want_names: Vec<String> = shown.as_object().unwrap().keys().cloned().collect();
        want_names.sort();
        assert_eq!(names, want_names, "{name}");
        // The pull line, as text.
        let swr = shown["swr_path"].as_str().unwrap();
        let pull: String = doc.select(&sel("#pull")).next().unwrap().text().collect();
        assert_eq!(pull, format!("docker pull {swr}"));
    }
}

#[test]
fn the_diff_page_shows_what_macat_diff_shows() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    for (from, to) in [("run:1", "run:3"), ("run:2", "run:3"), ("run:3", "run:1")] {
        let want = json(env.run(&["diff", "--from", from, "--to", to, "--format", "json"]));
        let doc = page(&server, &format!("/diff?from={from}&to={to}"));
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            attrs(&doc, "section.added tr[data-id]", "data-id"),
            ids(&want["added"])
        );
        assert_eq!(
            attrs(&doc, "section.removed tr[data-id]", "data-id"),
            ids(&want["removed"])
        );
        assert_eq!(
            attrs(&doc, "article.change", "data-id"),
            ids(&want["changed"])
        );
        for c in want["changed"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let article = doc
                .select(&sel("article.change"))
                .find(|a| a.value().attr("data-id") == Some(id))
                .unwrap();
            let fields: Vec<&str> = article
                .select(&sel("li[data-field]"))
                .map(|l| l.value().attr("data-field").unwrap())
                .collect();
            let want_fields: Vec<&str> = c["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, want_fields, "{id}");
            // Each changed image links to its page.
            let href = article
                .select(&sel("h3 a"))
                .next()
                .unwrap()
                .value()
                .attr("href");
            assert_eq!(href, Some(format!("/images/{}", encode(id)).as_str()));
        }
    }
}

/// A mirror of the hostile fixture: markup, `javascript:` URLs and control characters in
/// values, and an id that is markup.
pub fn hostile_mirror() -> (Sim, Env) {
    let fixture = repo().join("tests/fixtures/hostile-catalog.json");
    let sim = Sim::start(&["--catalog", fixture.to_str().unwrap()], &[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--type", "BUILD_IN"]));
    (sim, env)
}

/// No script but ours, no event handler attribute, no link off our own paths.
fn assert_inert(doc: &Html, what: &str) {
    let scripts = attrs(doc, "script", "src");
    assert_eq!(scripts, ["/static/macat.js"], "{what}");
    for e in doc.select(&sel("*")) {
        for (name, value) in e.value().attrs() {
            assert!(!name.starts_with("on"), "{what}: {name}={value}");
            if name == "href" || name == "src" || name == "action" {
                assert!(
                    value.starts_with('/') && !value.starts_with("//"),
                    "{what}: {name}={value}"
                );
            }
        }
        assert!(
            !["img", "svg", "iframe", "object", "embed"].contains(&e.value().name())
                || e.value()
                    .attr("src")
                    .is_some_and(|s| s.starts_with("/runs/")),
            "{what}: <{}>",
            e.value().name()
        );
    }
}

#[test]
fn hostile_catalog_values_are_text_on_every_page() {
    let (_sim, env) = hostile_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    let search = page(&server, "/?q=*&limit=50");
    assert_inert(&search, "search");
    let ids = attrs(&search, "li.hit", "data-id");
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let doc = page(&server, &format!("/images/{}", encode(id)));
        assert_inert(&doc, id);
        let text: String = doc.root_element().text().collect();
        if id == "hostile-0001" {
            assert!(text.contains("<script>alert(1)</script>"), "shown as text");
            assert!(text.contains("docker pull javascript:alert(3)"));
            // Bidi and control characters are visible escapes.
            assert!(text.contains("\\x{202e}") && !text.contains('\u{202e}'));
            assert!(text.contains("\\x{7}") && text.contains("\\x{1b}"));
        } else {
            assert!(text.contains("\"><img src=x onerror=alert(6)>"));
        }
    }
    for path in ["/runs", "/diff?to=run:1"] {
        assert_inert(&page(&server, path), path);
    }
}

#[test]
fn every_page_carries_the_security_headers() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    for path in [
        "/",
        "/?q=pytorch",
        "/runs",
        "/runs/sizes.svg",
        "/runs/changes.svg",
        "/diff",
        "/images/nope",
        "/?q=%22",
        "/static/macat.css",
        "/static/macat.js",
    ] {
        let (_, headers, _) = exchange(&server.url, "GET", path, &[], "");
        assert_eq!(
            header(&headers, "content-security-policy"),
            Some("default-src 'self'"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let (_, headers, body) = exchange(&server.url, "GET", "/runs/sizes.svg", &[], "");
    assert_eq!(header(&headers, "content-type"), Some("image/svg+xml"));
    assert!(body.contains("<svg") && body.contains("BUILD_IN"));
}

#[test]
fn pages_require_auth_too_and_a_browser_signs_in_with_a_form() {
    let (_sim, env) = three_day_mirror();
    let tokens = env.dir.path().join("tokens");
    std::fs::write(&tokens, "page-token-0123456789\n").unwrap();
    let server = Sim::serve(
        &env.db,
        &[
            "--require-auth",
            "token",
            "--token-file",
            tokens.to_str().unwrap(),
        ],
        &[],
    );
    for path in [
        "/",
        "/runs",
        "/runs/sizes.svg",
        "/diff",
        "/images/x?as_of=run:1",
    ] {
        let (status, headers, _) = exchange(&server.url, "GET", path, &[], "");
        assert_eq!(status, 303, "{path}");
        let to = header(&headers, "location").unwrap();
        assert!(to.starts_with("/login?next="), "{to}");
    }
    // The API's own header works for pages.
    let (status, _, _) = exchange(
        &server.url,
        "GET",
        "/runs",
        &[("X-Auth-Token", "page-token-0123456789")],
        "",
    );
    assert_eq!(status, 200);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, _, _) = exchange(
        &server.url,
        "POST",
        "/login",
        &form,
        "token=wrong&next=%2Fruns",
    );
    assert_eq!(status, 401);
    // An open redirect is not possible: `next` stays on this server.
    let (status, headers, _) = exchange(
        &server.url,
        "POST",
        "/login",
        &form,
        "token=page-token-0123456789&next=%2F%2Fevil.example",
    );
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/"));
    let cookie = header(&headers, "set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("page-token"),
        "the token itself is not in the cookie"
    );
    let session = cookie.split(';').next().unwrap();
    let (status, _, body) = exchange(&server.url, "GET", "/runs", &[("Cookie", session)], "");
    assert_eq!(status, 200, "{body}");
    // The cookie is not a credential for the API.
    let (status, _, _) = exchange(
        &server.url,
        "GET",
        "/v1/p1/images",
        &[("Cookie", session)],
        "",
    );
    assert_eq!(status, 401);
}

/// Every relative link of the HTML files under `dir` names a file that exists.
fn assert_links_resolve(dir: &Path) -> usize {
    let mut checked = 0;
    for sub in ["", "images", "diff"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let doc = Html::parse_document(&std::fs::read_to_string(&path).unwrap());
            for e in doc.select(&sel("[href], [src]")) {
                let link = e.value().attr("href").or(e.value().attr("src")).unwrap();
                assert!(
                    !link.starts_with('/') && !link.contains("://"),
                    "{link} in {path:?}"
                );
                let decoded = percent_encoding::percent_decode_str(link)
                    .decode_utf8()
                    .unwrap();
                let target = path.parent().unwrap().join(decoded.as_ref());
                assert!(
                    target.exists(),
                    "{link} in {} -> {target:?}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn report_writes_the_pages_as_static_files_with_relative_links() {
    let (_sim, env) = three_day_mirror();
    let out = env.dir.path().join("report");
    let o = env.run(&["report", "--out", out.to_str().unwrap(), "--format", "json"]);
    let summary = json(o);
    assert_eq!(summary["diff_pages"], 3);
    // Under 10,000 images: a page for each image of the catalog, and for those the runs
    // changed (removed ones too).
    let live = env.export("latest").len();
    let pages = std::fs::read_dir(out.join("images")).unwrap().count();
    assert!(pages >= live, "{pages} pages for {live} images");
    assert_eq!(summary["image_pages"], pages);
    for run in 1..=3 {
        assert!(out.join(format!("diff/run-{run}.html")).exists());
    }
    assert!(assert_links_resolve(&out) > live);
    // The index: the runs and the catalog as a table.
    let index = Html::parse_document(&std::fs::read_to_string(out.join("index.html")).unwrap());
    assert_eq!(
        attrs(&index, "table.runs tr.run", "data-run"),
        ["3", "2", "1"]
    );
    let mut ids = attrs(&index, "table.catalog tr[data-id]", "data-id");
    ids.sort();
    assert_eq!(
        ids,
        env.export("latest").keys().cloned().collect::<Vec<_>>()
    );
    // The diff pages are what `macat diff` shows.
    let want = json(env.run(&[
        "diff", "--from", "run:2", "--to", "run:3", "--format", "json",
    ]));
    let doc = Html::parse_document(&std::fs::read_to_string(out.join("diff/run-3.html")).unwrap());
    assert_eq!(
        attrs(&doc, "article.change", "data-id").len(),
        want["changed"].as_array().unwrap().len()
    );

    // At an earlier point, without image pages.
    let early = env.dir.path().join("early");
    assert_ok(&env.run(&[
        "report",
        "--out",
        early.to_str().unwrap(),
        "--as-of",
        "run:1",
        "--no-image-pages",
    ]));
    assert_eq!(std::fs::read_dir(early.join("images")).unwrap().count(), 0);
    assert!(early.join("diff/run-1.html").exists() && !early.join("diff/run-2.html").exists());
    assert_links_resolve(&early);
}

#[test]
fn report_of_a_hostile_catalog_stays_inert_and_in_its_directory() {
    let (_sim, env) = hostile_mirror();
    let out = env.dir.path().join("report");
    assert_ok(&env.run(&["report", "--out", out.to_str().unwrap()]));
    // The id that is markup is one file inside images/.
    assert_eq!(std::fs::read_dir(out.join("images")).unwrap().count(), 2);
    assert_links_resolve(&out);
    for entry in std::fs::read_dir(out.join("images")).unwrap() {
        let doc = Html::parse_document(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        assert_eq!(attrs(&doc, "script", "src"), ["../macat.js"]);
        assert!(doc.select(&sel("[onerror], [onload]")).next().is_none());
    }
}

#[test]
fn the_watches_page_shows_each_watch_and_the_events_it_made() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.run(&["watch", "add", "ms", "mindspore"]));
    assert_ok(&env.run(&["watch", "add", "arm", "pytorch", "--arch", "aarch64"]));
    for day in 1..=3 {
        if day > 1 {
            sim.advance();
        }
        assert_ok(&env.sync(&sim, &[]));
    }
    let server = Sim::serve(&env.db, &[], &[]);
    let doc = page(&server, "/watches?as_of=run:2");
    assert_eq!(attrs(&doc, "section.watch", "data-watch"), ["arm", "ms"]);
    for name in ["arm", "ms"] {
        // The events the outbox holds up to run 2 (the point in time asked), newest first.
        let conn = env.sqlite();
        let mut stmt = conn
            .prepare(
                "SELECT e.run_id, e.event_id FROM watch_events e JOIN watches w ON w.id = e.watch_id
                 WHERE w.name = ?1 AND e.run_id <= 2 ORDER BY e.run_id DESC",
            )
            .unwrap();
        let want: Vec<(String, String)> = stmt
            .query_map([name], |r| Ok((r.get::<_, i64>(0)?.to_string(), r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let section = doc
            .select(&sel("section.watch"))
            .find(|s| s.value().attr("data-watch") == Some(name))
            .unwrap();
        let got: Vec<(String, String)> = section
            .select(&sel("tr.event"))
            .map(|r| {
                let a = |k| r.value().attr(k).unwrap().to_string();
                (a("data-run"), a("data-event"))
            })
            .collect();
        assert_eq!(got, want, "{name}");
        // The query links to the search page with its filters, keeping the point in time;
        // each event to the diff it reports.
        let query = section.select(&sel("a.query")).next().unwrap();
        let href = query.value().attr("href").unwrap();
        assert!(href.starts_with("/?q="), "{href}");
        assert!(href.ends_with("as_of=run%3A2"), "{href}");
        if name == "arm" {
            assert!(href.contains("arch=aarch64"), "{href}");
        }
        let diffs = attrs(
            &doc,
            &format!("section[data-watch={name}] tr.event a"),
            "href",
        );
        assert_eq!(diffs.len(), want.len());
        assert!(
            diffs.iter().all(|h| h.starts_with("/diff?from=run")),
            "{diffs:?}"
        );
    }
    // mindspore images changed on day 2 of the fixture: the watch has something to show, and
    // one more event at the latest run.
    let at_2 = doc.select(&sel("section[data-watch=ms] tr.event")).count();
    assert!(at_2 > 0);
    let latest = page(&server, "/watches");
    assert_eq!(
        latest
            .select(&sel("section[data-watch=ms] tr.event"))
            .count(),
        at_2 + 1
    );
    // Every page links to it.
    assert!(attrs(&page(&server, "/runs"), "nav a", "href").contains(&"/watches".to_string()));
}
