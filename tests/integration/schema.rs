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
