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
        vec![
            "--offset-mode",
            "pages",
            "--current-base",
            "0",
            "--size-mode",
            "count",
        ],
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
    let (status, body) = server.request("GET", "/v1/p1/images");
    assert_eq!(status, 401, "{body}");
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
