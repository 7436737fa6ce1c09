//! `GET /v1/{project_id}/images/{id}` (the official SDK's `show_image`) against `macat serve`,
//! requested as the SDK sends it (path, headers, SDK-HMAC-SHA256 signature), and against
//! `macat simulate`.

use std::io::{Read, Write};
use std::net::TcpStream;

use macat::api::sign;
use serde_json::Value;

use crate::util::*;

const AK: &str = "AKSHOWIMAGEFAKE00001";
const SK: &str = "show-image-secret-key-FAKE-000000000001";

/// A GET signed as the Python SDK signs it: `Content-Type: application/json`, `X-Sdk-Date`,
/// the SDK's User-Agent, `Host`, and the `Authorization` header over them.
fn sdk_get(server: &Sim, path: &str, query: &[(&str, &str)]) -> (u16, String) {
    let host = server.url.trim_start_matches("http://");
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let date = sign::sdk_date(chrono::Utc::now());
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "User-Agent".to_string(),
            "huaweicloud-usdk-python/3.0".to_string(),
        ),
        ("X-Sdk-Date".to_string(), date.clone()),
    ];
    let req = sign::Request {
        method: "GET",
        host,
        path,
        query: &query,
        headers: &headers,
        body: b"",
    };
    let sig = sign::sign(&req, AK, SK, &date);
    let mut s = TcpStream::connect(host).unwrap();
    let mut head = format!("GET {} HTTP/1.1\r\nHost: {host}\r\n", sig.request_uri);
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Authorization: {}\r\nConnection: close\r\n\r\n",
        sig.authorization
    ));
    s.write_all(head.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// An id of `from` that `to` no longer holds, and one that both hold.
fn gone_and_kept(from: usize, to: usize) -> (String, String) {
    let (a, b) = (day_in_workspace0(from), day_in_workspace0(to));
    let gone = a.keys().find(|id| !b.contains_key(*id)).unwrap().clone();
    let kept = a.keys().find(|id| b.contains_key(*id)).unwrap().clone();
    (gone, kept)
}

#[test]
fn serve_answers_show_image_signed_as_the_sdk_sends_it() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(
        &env.db,
        &["--require-auth", "aksk"],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    );
    let (day1, day3) = (day_in_workspace0(1), day_in_workspace0(3));
    let (gone, kept) = gone_and_kept(1, 3);

    // The latest run: the object exactly as listed (unknown fields and nulls included).
    let (status, body) = sdk_get(&server, &format!("/v1/p1/images/{kept}"), &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), day3[&kept]);
    // Unsigned: refused before the route.
    let (status, body) = server.request("GET", &format!("/v1/p1/images/{kept}"));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("APIGW.0301"), "{body}");
    // Gone by run 3: 404 in ModelArts' shape; there at run 1 (`as_of`, signed with the query).
    let (status, body) = sdk_get(&server, &format!("/v1/p1/images/{gone}"), &[]);
    assert_eq!(status, 404, "{body}");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert!(err["error_code"]
        .as_str()
        .unwrap()
        .starts_with("ModelArts."));
    assert!(err["error_msg"].as_str().unwrap().contains(&gone));
    let (status, body) = sdk_get(
        &server,
        &format!("/v1/p1/images/{gone}"),
        &[("as_of", "run:1")],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), day1[&gone]);
    // Another project does not hold it; /images/search is still the search.
    let (status, body) = sdk_get(&server, &format!("/v1/p2/images/{kept}"), &[]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("ModelArts.0104"), "{body}");
    let (status, body) = sdk_get(&server, "/v1/p1/images/search", &[("q", "pytorch")]);
    assert_eq!(status, 200, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap().is_array());
}

#[test]
fn serve_show_image_gives_every_image_as_listed() {
    let (_sim, env) = three_day_mirror();
    let server = Sim::serve(&env.db, &[], &[]);
    for (id, want) in day_in_workspace0(3) {
        let (status, body) = server.get(&format!("/v1/p1/images/{id}"));
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), want, "{id}");
    }
}

#[test]
fn the_simulator_answers_show_image_from_the_day_it_serves() {
    let sim = Sim::days(&["--project-id", "p1"]);
    let (gone, kept) = gone_and_kept(1, 2);
    let day1 = day_in_workspace0(1);
    for id in [&gone, &kept] {
        let (status, body) = sim.get(&format!("/v1/p1/images/{id}"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), day1[id]);
    }
    let (status, body) = sim.get("/v1/p1/images/no-such-image");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no-such-image"), "{body}");
    let (status, body) = sim.get(&format!("/v1/p2/images/{kept}"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("ModelArts.0104"), "{body}");
    sim.advance();
    assert_eq!(sim.get(&format!("/v1/p1/images/{gone}")).0, 404);
    assert_eq!(sim.get(&format!("/v1/p1/images/{kept}")).0, 200);
}

#[test]
fn the_simulator_checks_show_image_signatures_too() {
    let sim = Sim::days_with_env(
        &["--require-auth", "aksk"],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    );
    let (_, kept) = gone_and_kept(1, 2);
    let path = format!("/v1/p1/images/{kept}");
    let (status, body) = sim.get(&path);
    assert_eq!(status, 401, "{body}");
    let (status, body) = sdk_get(&sim, &path, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        day_in_workspace0(1)[&kept]
    );
}
