//! `macat serve`: the mirror as the same API. A sync from it reproduces the source mirror, in
//! every paging dialect it can speak and at any point in time.

use serde_json::Value;

use crate::util::*;

/// A mirror holding the three fixture days (runs 1, 2, 3).
fn three_day_mirror() -> Env {
    crate::util::three_day_mirror().1
}

#[test]
fn sync_from_serve_reproduces_the_mirror_in_every_paging_dialect() {
    let source = three_day_mirror();
    let want = source.export_bytes();
    for dialect in [
        vec![],
        PAGES_FROM_0_SIZE_AS_COUNT.to_vec(),
        vec!["--offset-mode", "pages1", "--max-limit", "7"],
    ] {
        let server = Sim::serve(&source.db, &dialect, &[]);
        let copy = Env::new();
        assert_ok(&copy.sync(&server, &["--page-size", "20", "--concurrency", "4"]));
        assert_eq!(copy.export_bytes(), want, "dialect {dialect:?}");
    }
}

#[test]
fn serve_answers_at_any_point_in_time() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &["--as-of", "run:1"], &[]);
    let copy = Env::new();
    assert_ok(&copy.sync(&server, &[]));
    assert_same_catalog(&copy.export("latest"), &day_in_workspace0(1));
    // The as_of parameter overrides the server's default per request.
    let (status, body) =
        server.request("GET", "/v1/p1/images?as_of=run:3&type=DEDICATED&limit=500");
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let want = day_in_workspace0(3)
        .values()
        .filter(|v| v["type"] == "DEDICATED")
        .count();
    assert_eq!(page["total"], want);
    assert_eq!(page["data"].as_array().unwrap().len(), want);
}

#[test]
fn serve_errors_are_modelarts_shaped() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    for (path, status, code) in [
        ("/v1/unknown-project/images", 404, "ModelArts.0104"),
        ("/v1/p1/images?limit=0", 400, "ModelArts.4204"),
        ("/v1/p1/images?sort_key=bogus", 400, "ModelArts.4204"),
        ("/v1/p1/images?as_of=yesterday", 400, "ModelArts.4204"),
        ("/v1/p1/images?as_of=1999-01-01", 400, "ModelArts.4204"),
        ("/v1/p1/images?as_of=run:99", 400, "ModelArts.4204"),
    ] {
        let (got, body) = server.request("GET", path);
        assert_eq!(got, status, "{path}: {body}");
        let err: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(err["error_code"], code, "{path}");
        assert!(err["error_msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn serve_requires_credentials_when_told() {
    let source = three_day_mirror();
    let token = "serve-token-0123456789";
    let tokens = source.dir.path().join("tokens");
    std::fs::write(&tokens, format!("other\n{token}\n")).unwrap();
    let server = Sim::serve(
        &source.db,
        &[
            "--require-auth",
            "token",
            "--token-file",
            tokens.to_str().unwrap(),
        ],
        &[],
    );
    for path in ["/v1/p1/images", "/v1/p1/images/search?q=pytorch"] {
        let (status, body) = server.request("GET", path);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("APIGW.0301"), "{body}");
    }
    let copy = Env::new();
    assert_ok(&copy.sync_env(&server, &[], &[("MACAT_AUTH_TOKEN", token)]));
    assert_eq!(copy.export_bytes(), source.export_bytes());
    let ak = ("HUAWEICLOUD_SDK_AK", "AKSERVE");
    let sk = ("HUAWEICLOUD_SDK_SK", "serve-secret-key");
    let signed = Sim::serve(&source.db, &["--require-auth", "aksk"], &[ak, sk]);
    let copy = Env::new();
    assert_ok(&copy.sync_env(&signed, &[], &[ak, sk]));
    let copy = Env::new();
    assert_exit(
        &copy.sync_env(&signed, &[], &[ak, ("HUAWEICLOUD_SDK_SK", "wrong")]),
        3,
    );
}

#[test]
fn reads_are_not_blocked_by_a_running_sync_and_see_committed_runs() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    let slow = Sim::days(&["--latency-ms", "100"]);
    let mut sync = source.spawn_sync(&slow, &["--page-size", "10"]);
    // While the sync holds its write transaction, reads still answer from run 3; once it has
    // committed, from run 4 (day 1 again, fetched from another endpoint).
    let want = day_in_workspace0(3)
        .values()
        .filter(|v| v["type"] == "BUILD_IN")
        .count();
    let mut answered = 0;
    while sync.try_wait().unwrap().is_none() {
        let (status, body) = server.request("GET", "/v1/p1/images?limit=1");
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        let total = page["total"].as_u64().unwrap() as usize;
        let day1 = day_in_workspace0(1)
            .values()
            .filter(|v| v["type"] == "BUILD_IN")
            .count();
        assert!(
            total == want || total == day1,
            "a read saw {total} images: not a committed run"
        );
        answered += 1;
    }
    assert!(sync.wait().unwrap().success());
    assert!(answered > 0);
}

/// `q=...&k=v...` with every reserved byte percent-encoded.
fn query_string(params: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /v1/{project}/images/search` parsed.
fn search_over_http(server: &Sim, project: &str, params: &[(&str, &str)]) -> Value {
    let path = format!("/v1/{project}/images/search?{}", query_string(params));
    let (status, body) = server.request("GET", &path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A query, the flags of `macat search`, and the same as request parameters.
type SearchCase<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn search_endpoint_gives_the_hits_of_macat_search() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    let cases: &[SearchCase] = &[
        ("pytorch", &[], &[]),
        ("mindspore 2.2", &["--limit", "5"], &[("limit", "5")]),
        ("pytroch cuda", &[], &[]),
        ("*", &["--limit", "500"], &[("limit", "500")]),
        ("snt9b", &["--arch", "AARCH64"], &[("arch", "AARCH64")]),
        (
            "*",
            &[
                "--category",
                "ASCEND",
                "--type",
                "dedicated",
                "--limit",
                "50",
            ],
            &[
                ("category", "ascend"),
                ("type", "dedicated"),
                ("limit", "50"),
            ],
        ),
        (
            "name:tensorflow OR tag:cann*",
            &["--service-type", "TRAIN"],
            &[("service_type", "TRAIN")],
        ),
        (
            "*",
            &["--as-of", "run:1", "--limit", "500"],
            &[("as_of", "run:1"), ("limit", "500")],
        ),
        (
            "*",
            &["--include-removed", "--limit", "1000"],
            &[("include_removed", "true"), ("limit", "1000")],
        ),
        (
            "\"ubuntu 18.04\"",
            &["--status", "active"],
            &[("status", "active")],
        ),
    ];
    for (query, flags, params) in cases {
        let mut args = vec!["search", query, "--format", "json"];
        args.extend_from_slice(flags);
        let out = source.run(&args);
        assert_ok(&out);
        let want: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut all = vec![("q", *query)];
        all.extend_from_slice(params);
        let got = search_over_http(&server, "p1", &all);
        assert!(
            want.as_array().is_some_and(|a| !a.is_empty()),
            "{query} {flags:?} finds nothing: the case checks nothing"
        );
        if *query == "*" {
            // Every image matches `*` equally, filtered or not.
            assert!(
                want.as_array().unwrap().iter().all(|h| h["score"] == 1.0),
                "{flags:?}"
            );
        }
        assert_same_hits(
            &got,
            &want,
            &format!("{query} {flags:?}, over HTTP against macat search"),
        );
    }
}

#[test]
fn search_endpoint_takes_plus_as_a_space_as_forms_send_it() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    let plus = server.http("GET", "/v1/p1/images/search?q=tensorflow+2.1+x86_64");
    let spaces = server.http("GET", "/v1/p1/images/search?q=tensorflow%202.1%20x86_64");
    assert_eq!(plus, spaces);
    assert_ne!(plus, "[]");
}

#[test]
fn search_endpoint_searches_one_project_and_follows_syncs() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    let (status, body) = server.request("GET", "/v1/p2/images/search?q=pytorch");
    assert_eq!(status, 404, "{body}");
    // A second project synced while the server runs: its search sees it, and only it.
    let other = Sim::start(
        &["--generate", "300", "--seed", "7", "--project-id", "p2"],
        &[],
    );
    let p2 = source.run(&["sync", "--endpoint", &other.url, "--project-id", "p2"]);
    assert_ok(&p2);
    let ids = |hits: &Value| -> std::collections::BTreeSet<String> {
        hits.as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    let everything = [("q", "*"), ("limit", "10000")];
    let in_p2 = ids(&search_over_http(&server, "p2", &everything));
    let in_p1 = ids(&search_over_http(&server, "p1", &everything));
    let p1_now: std::collections::BTreeSet<String> = day_in_workspace0(3).keys().cloned().collect();
    assert_eq!(in_p1, p1_now);
    assert_eq!(in_p2.len(), 300);
    assert!(in_p1.is_disjoint(&in_p2));
    // `macat search` (no project) sees both.
    let out = source.run(&["search", "*", "--limit", "10000", "--format", "json"]);
    assert_ok(&out);
    let all = ids(&serde_json::from_slice(&out.stdout).unwrap());
    assert_eq!(all, in_p1.union(&in_p2).cloned().collect());
}

#[test]
fn search_endpoint_refuses_bad_requests_in_modelarts_shape() {
    let source = three_day_mirror();
    let server = Sim::serve(&source.db, &[], &[]);
    for (path, status) in [
        ("/v1/unknown-project/images/search?q=pytorch", 404),
        ("/v1/p1/images/search", 400),
        ("/v1/p1/images/search?q=%20", 400),
        ("/v1/p1/images/search?q=%22unclosed", 400),
        ("/v1/p1/images/search?q=pytorch%20AND", 400),
        ("/v1/p1/images/search?q=pytorch&limit=0", 400),
        ("/v1/p1/images/search?q=pytorch&limit=many", 400),
        ("/v1/p1/images/search?q=pytorch&category=TPU", 400),
        ("/v1/p1/images/search?q=pytorch&include_removed=maybe", 400),
        ("/v1/p1/images/search?q=pytorch&as_of=1999-01-01", 400),
        ("/v1/p1/images/search?q=pytorch&as_of=someday", 400),
    ] {
        let (got, body) = server.request("GET", path);
        assert_eq!(got, status, "{path}: {body}");
        let err: Value = serde_json::from_str(&body).unwrap();
        let code = if status == 404 {
            "ModelArts.0104"
        } else {
            "ModelArts.4204"
        };
        assert_eq!(err["error_code"], code, "{path}");
        assert!(err["error_msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
}
