//! The schema version: older mirrors migrate forward, newer ones are refused.

use macat::store::schema;

use crate::util::*;

#[test]
fn an_unknown_newer_schema_is_refused() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    env.sqlite()
        .execute_batch(&format!(
            "PRAGMA user_version = {}",
            schema::latest_version() + 1
        ))
        .unwrap();
    for args in [vec!["runs"], vec!["export"]] {
        let out = env.run(&args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("newer than this macat supports"),
            "{}",
            stderr(&out)
        );
    }
    let out = env.sync(&sim, &[]);
    assert_exit(&out, 2);
}

#[test]
fn an_older_schema_migrates_forward_keeping_its_data() {
    let env = Env::new();
    {
        let conn = env.sqlite();
        schema::migrate_to(&conn, 1).unwrap();
        conn.execute_batch(
            r#"INSERT INTO scopes (id, endpoint, project_id, workspace_id, type) VALUES (1, 'http://127.0.0.1:1', 'p1', '0', 'BUILD_IN');
               INSERT INTO runs (id, started_at, finished_at, status, seen, added) VALUES (1, 1000, 2000, 'committed', 1, 1);
               INSERT INTO run_scopes VALUES (1, 1);
               INSERT INTO versions (scope_id, image_id, valid_from, hash, raw)
                 VALUES (1, 'img-1', 1, x'00000000000000000000000000000000', '{"id":"img-1","name":"pytorch","tag":"1.8"}');"#,
        )
        .unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }
    let out = env.run(&["export"]);
    assert_ok(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"id\":\"img-1\",\"name\":\"pytorch\",\"tag\":\"1.8\"}\n"
    );
    let conn = env.sqlite();
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::latest_version());
    let (valid_from, valid_to): (i64, Option<i64>) = conn
        .query_row(
            "SELECT valid_from, valid_to FROM versions WHERE image_id = 'img-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((valid_from, valid_to), (1, None));
    // From each older version, the migrations reach the same schema.
    for start in 1..schema::latest_version() {
        let older = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate_to(&older, start).unwrap();
        schema::migrate(&older).unwrap();
        let v: u32 = older
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema::latest_version());
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_a_clear_error() {
    let env = Env::new();
    std::fs::write(&env.db, b"this is not a database, just some text that is long enough...............................................").unwrap();
    let out = env.run(&["runs"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("not a macat database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mirror_of_the_previous_schema_gains_the_query_indexes_in_place() {
    let env = Env::new();
    {
        let conn = env.sqlite();
        // Migration 5 is the schema before the query columns and their indexes.
        schema::migrate_to(&conn, 5).unwrap();
        conn.execute_batch(
            r#"INSERT INTO scopes (id, endpoint, project_id, workspace_id, type) VALUES (1, 'http://127.0.0.1:1', 'p1', '0', 'BUILD_IN');
               INSERT INTO runs (id, started_at, finished_at, status) VALUES (1, 1000, 2000, 'committed'), (2, 3000, 4000, 'committed');
               INSERT INTO run_scopes (run_id, scope_id) VALUES (1, 1), (2, 1);
               INSERT INTO versions (scope_id, image_id, valid_from, valid_to, hash, raw) VALUES
                 (1, 'a', 1, NULL, x'00', '{"id":"a","name":"PyTorch","tag":"2.1","type":"build_in","create_at":3}'),
                 (1, 'b', 1, 2, x'00', '{"id":"b","name":"镜像","type":"BUILD_IN","create_at":9}'),
                 (1, 'c', 2, NULL, x'00', '{"id":"c","name":"pytorch","type":"BUILD_IN","workspace_id":"0","create_at":1.5}'),
                 (1, 'd', 1, NULL, x'00', '{"id":"d","name":"pytorch","type":"DEDICATED","create_at":5}');"#,
        )
        .unwrap();
    }
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list", "--format", "ndjson"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        assert_ok(&out);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&[]), ["a", "c"]);
    assert_eq!(ids(&["--as-of", "run:1"]), ["b", "a"]);
    assert_eq!(ids(&["--name", "TORCH", "--type", "dedicated"]), ["d"]);
    assert_eq!(
        ids(&["--name", "pytorch", "--name-fuzzy-match", "false"]),
        ["c"]
    );
    let v: u32 = env
        .sqlite()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::latest_version());
    // The listing reads version_keys alone (its primary key is the default order), never the
    // stored objects; and it holds one row per version, equal to what versions hold.
    let plan: String = env
        .sqlite()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM version_keys WHERE q_type = 'BUILD_IN'
             AND q_workspace_id = '0' AND valid_from <= 2 AND (valid_to IS NULL OR valid_to > 2)",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("version_keys USING PRIMARY KEY"), "{plan}");
    let apart: i64 = env
        .sqlite()
        .query_row(
            "SELECT count(*) FROM versions v LEFT JOIN version_keys k ON k.version_id = v.id
              AND k.valid_from = v.valid_from AND k.valid_to IS v.valid_to
              AND k.q_name IS v.q_name AND k.image_id = v.image_id
             WHERE k.version_id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(apart, 0);
}
