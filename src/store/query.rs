//! The API's query ([`Query`]) answered from `version_keys` (migration 8): filter, count, sort
//! and page on that narrow table, then read and parse only the objects of the page asked for.
//!
//! [`Query::select`] over parsed objects stays the definition; this is the same answer, faster.
//! The property test below runs random queries against both and compares ids in order.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::Connection;

use super::{LiveImage, Store};
use crate::api::types::Image;
use crate::catalog::{Paging, Query, SortDir, Window};
use crate::error::{Error, Result};

/// One page of a query's answer, with where it falls in the whole selection.
#[derive(Debug)]
pub struct Selection {
    pub window: Window,
    pub images: Vec<LiveImage>,
}

/// Registers the SQL functions the queries use on a connection: `macat_lower(text)`, the
/// lower-casing `Query` applies before a fuzzy name match (Unicode, as Rust's; SQLite's own
/// `lower` folds ASCII only).
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "macat_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get_raw(0).as_str_or_null()?.map(str::to_lowercase)),
    )
}

/// The SQL a sort key orders `version_keys` by, as [`Query`]'s sort value compares: missing is
/// NULL (SQLite puts NULL below every value; a missing create time is `q_has_create_at` 0),
/// numbers only when they are integers, text by bytes. Keys `version_keys` does not hold are
/// read from the version's object.
fn sort_terms(key: &str, dir: &str) -> Option<String> {
    let column = match key {
        "create_at" => return Some(format!("q_has_create_at {dir}, q_create_at {dir}")),
        "update_at" => "q_update_at".into(),
        "name" => "q_name".into(),
        "namespace" => "q_namespace".into(),
        "id" => "image_id".into(),
        "tag" => object_value("q_tag"),
        "size" => object_value(
            "CASE WHEN typeof(json_extract(raw, '$.size')) = 'integer' \
             THEN json_extract(raw, '$.size') END",
        ),
        "arch" | "description" | "flavor_type" | "origin" | "service_type" | "status"
        | "swr_path" | "type" | "visibility" | "workspace_id" => {
            object_value(&format!("json_extract(raw, '$.{key}')"))
        }
        _ => return None,
    };
    Some(format!("{column} {dir}"))
}

/// `expr` over the `versions` row of the `version_keys` row at hand.
fn object_value(expr: &str) -> String {
    format!("(SELECT {expr} FROM versions WHERE versions.id = version_keys.version_id)")
}

/// A query as SQL over `version_keys`: the filter (with its arguments) and the order.
struct Plan {
    filter: String,
    args: Vec<Value>,
    order: String,
}

impl Plan {
    fn new(run_id: i64, query: &Query, scopes: Option<&[i64]>) -> Result<Plan> {
        let mut cond = vec![
            "valid_from <= ?".to_string(),
            "(valid_to IS NULL OR valid_to > ?)".to_string(),
            "q_type = ?".to_string(),
            "q_workspace_id = ?".to_string(),
        ];
        let mut args: Vec<Value> = vec![
            Value::Integer(run_id),
            Value::Integer(run_id),
            Value::Text(query.image_type.to_ascii_uppercase()),
            Value::Text(query.workspace_id.clone()),
        ];
        if let Some(name) = &query.name {
            if query.name_fuzzy_match {
                cond.push("instr(macat_lower(q_name), ?) > 0".into());
                args.push(Value::Text(name.to_lowercase()));
            } else {
                cond.push("q_name = ?".into());
                args.push(Value::Text(name.clone()));
            }
        }
        if let Some(ns) = &query.namespace {
            cond.push("q_namespace = ?".into());
            args.push(Value::Text(ns.clone()));
        }
        if let Some(st) = &query.service_type {
            cond.push("q_service_type = ?".into());
            args.push(Value::Text(st.to_ascii_uppercase()));
        }
        if let Some(scopes) = scopes {
            let ids: Vec<String> = scopes.iter().map(i64::to_string).collect();
            cond.push(format!("scope_id IN ({})", ids.join(",")));
        }
        let dir = match query.sort_dir {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        };
        let keys: Vec<&str> = if query.sort_key.is_empty() {
            vec!["create_at"]
        } else {
            query.sort_key.iter().map(String::as_str).collect()
        };
        let mut order = Vec::new();
        for k in keys {
            order.push(
                sort_terms(k, dir)
                    .ok_or_else(|| Error::usage(format!("unknown sort key {k:?}")))?,
            );
        }
        // Ties by id, ascending whatever the direction; then by scope, for a stable order.
        order.push("image_id ASC, scope_id ASC".into());
        Ok(Plan {
            filter: cond.join(" AND "),
            args,
            order: order.join(", "),
        })
    }

    /// The selection's version ids in order, `LIMIT`/`OFFSET` appended when given. Only ids:
    /// a sort carries what it selects, so selecting the objects here would read every
    /// candidate's.
    fn ids(&self, conn: &Connection, range: Option<(u64, u64)>) -> Result<Vec<i64>> {
        let mut args = self.args.clone();
        let mut sql = format!(
            "SELECT version_id FROM version_keys WHERE {} ORDER BY {}",
            self.filter, self.order
        );
        if let Some((start, end)) = range {
            sql.push_str(" LIMIT ? OFFSET ?");
            args.push(Value::Integer((end - start) as i64));
            args.push(Value::Integer(start as i64));
        }
        let ids = conn
            .prepare(&sql)?
            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }
}

impl Store {
    /// The page of images `query` selects at committed run `run_id`, among the scopes given
    /// (every scope when `None`), paged as `paging` pages: what [`Query::select`] and
    /// [`Paging::page`] answer over [`Store::live_images`], from `version_keys`.
    pub fn select(
        &self,
        run_id: i64,
        query: &Query,
        paging: &Paging,
        scopes: Option<&[i64]>,
    ) -> Result<Selection> {
        let plan = Plan::new(run_id, query, scopes)?;
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM version_keys WHERE {}", plan.filter),
            rusqlite::params_from_iter(plan.args.iter()),
            |r| r.get(0),
        )?;
        let window = paging.window(query, total as u64);
        if window.start >= window.end {
            return Ok(Selection {
                window,
                images: Vec::new(),
            });
        }
        let ids = plan.ids(&self.conn, Some((window.start, window.end)))?;
        Ok(Selection {
            window,
            images: self.versions(&ids)?,
        })
    }

    /// Every version `query` selects at run `run_id` (its paging aside), as version ids in the
    /// query's order: a selection to cut many pages from ([`Store::versions`] reads a page).
    pub fn select_all(
        &self,
        run_id: i64,
        query: &Query,
        scopes: Option<&[i64]>,
    ) -> Result<Vec<i64>> {
        Plan::new(run_id, query, scopes)?.ids(&self.conn, None)
    }

    /// The versions of `ids`, in that order, parsed.
    pub fn versions(&self, ids: &[i64]) -> Result<Vec<LiveImage>> {
        self.objects(ids)?
            .into_iter()
            .map(|(scope_id, raw)| {
                let image: Image = serde_json::from_str(&raw)
                    .map_err(|e| Error::internal(format!("a stored image does not parse: {e}")))?;
                Ok(LiveImage {
                    scope_id,
                    image,
                    raw,
                })
            })
            .collect()
    }

    /// The stored objects (scope, object as stored) of versions, in the order of `ids`.
    pub fn objects(&self, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        // One read transaction for the page: each statement outside one takes and releases
        // the database's read lock (system calls), which cost more than the reads.
        let tx = self.conn.unchecked_transaction()?;
        let objects = {
            let mut object =
                tx.prepare_cached("SELECT scope_id, raw FROM versions WHERE id = ?1")?;
            ids.iter()
                .map(|&id| Ok(object.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?))
                .collect::<Result<Vec<_>>>()?
        };
        tx.finish()?;
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{OffsetMode, SizeMode};
    use proptest::prelude::*;
    use serde_json::{json, Map};

    /// An awkward image: any field may be missing or null, enums in any case, names repeated,
    /// Chinese and non-ASCII case (Kelvin sign, dotted I), numbers that are not integers.
    fn image(id: usize) -> impl Strategy<Value = serde_json::Value> {
        let text = |choices: &'static [&'static str]| {
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(serde_json::Value::Null)),
                8 => prop::sample::select(choices).prop_map(|s| Some(json!(s))),
            ]
        };
        let number = prop_oneof![
            2 => Just(None),
            1 => Just(Some(serde_json::Value::Null)),
            1 => Just(Some(json!(1.5))),
            8 => (0i64..6).prop_map(|n| Some(json!(1_700_000_000_000i64 + n))),
        ];
        (
            text(&[
                "pytorch",
                "PyTorch_2.1",
                "mindspore",
                "MindSpore-晟腾",
                "镜像",
                "\u{212A}ernel",
                "\u{130}stanbul",
                "tensorflow",
                "py",
                "",
            ]),
            text(&["1.0", "2.1", "latest", "最新"]),
            text(&["BUILD_IN", "build_in", "Build_In", "DEDICATED", "dedicated"]),
            text(&["0", "0", "0", "ab12ab12ab12ab12ab12ab12ab12ab12"]),
            text(&["modelarts", "ns-a", "命名空间"]),
            text(&["TRAIN", "train", "INFERENCE", "dev", "COMMON", "UNKNOWN"]),
            (number.clone(), number.clone(), number),
            text(&["x86_64", "aarch64", "AARCH64"]),
        )
            .prop_map(move |(name, tag, ty, ws, ns, st, (c, u, size), arch)| {
                let mut m = Map::new();
                m.insert("id".into(), json!(format!("img-{:03}", id % 37)));
                for (k, v) in [
                    ("name", name),
                    ("tag", tag),
                    ("type", ty),
                    ("workspace_id", ws),
                    ("namespace", ns),
                    ("service_type", st),
                    ("create_at", c),
                    ("update_at", u),
                    ("size", size),
                    ("arch", arch),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                serde_json::Value::Object(m)
            })
    }

    /// Versions of images over 3 runs in 2 scopes: (scope, valid_from, valid_to, object).
    fn catalog() -> impl Strategy<Value = Vec<(i64, i64, Option<i64>, serde_json::Value)>> {
        prop::collection::vec(
            (0usize..60, 1i64..=2, 1i64..=3, 0i64..4).prop_flat_map(|(id, scope, from, life)| {
                image(id).prop_map(move |v| {
                    let to = (life < 3).then_some(from + life + 1).filter(|&t| t <= 4);
                    (scope, from, to, v)
                })
            }),
            0..60,
        )
    }

    fn query() -> impl Strategy<Value = (Vec<(&'static str, String)>, i64, Paging)> {
        let p = |k: &'static str, vs: &'static [&'static str]| {
            prop::option::of(prop::sample::select(vs).prop_map(move |v| (k, v.to_string())))
        };
        (
            (
                p(
                    "name",
                    &[
                        "torch",
                        "PY",
                        "晟",
                        "镜像",
                        "k",
                        "i\u{307}",
                        "pytorch",
                        "MindSpore-晟腾",
                    ],
                ),
                p("name_fuzzy_match", &["true", "false", "FALSE"]),
                p("namespace", &["modelarts", "ns-a", "命名空间"]),
                p("service_type", &["TRAIN", "train", "Dev", "unknown"]),
                p("type", &["BUILD_IN", "dedicated"]),
                p("workspace_id", &["0", "ab12ab12ab12ab12ab12ab12ab12ab12"]),
            ),
            (
                p(
                    "sort_key",
                    &[
                        "create_at",
                        "name",
                        "update_at",
                        "name,create_at",
                        "tag,update_at",
                        "size",
                        "id",
                        "arch,namespace",
                        "service_type",
                        "type",
                        "workspace_id",
                    ],
                ),
                p("sort_dir", &["ASC", "DESC", "asc"]),
                p("limit", &["1", "3", "7", "200"]),
                p("offset", &["0", "2", "5", "40", "18446744073709551615"]),
            ),
            1i64..=4,
            (0usize..3, 0u64..2, any::<bool>(), prop::option::of(1u64..5)),
        )
            .prop_map(
                |((a, b, c, d, e, f), (g, h, i, j), run, (mode, base, count, max))| {
                    let params = [a, b, c, d, e, f, g, h, i, j]
                        .into_iter()
                        .flatten()
                        .collect();
                    let paging = Paging {
                        offset_mode: [
                            OffsetMode::Records,
                            OffsetMode::Pages,
                            OffsetMode::PagesFrom1,
                        ][mode],
                        current_base: base,
                        size_mode: if count {
                            SizeMode::Count
                        } else {
                            SizeMode::Page
                        },
                        max_limit: max,
                    };
                    (params, run, paging)
                },
            )
    }

    fn store_with(versions: &[(i64, i64, Option<i64>, serde_json::Value)]) -> Store {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        register_functions(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO scopes (id, endpoint, project_id, workspace_id, type)
               VALUES (1, 'e', 'p1', '0', 'BUILD_IN'), (2, 'e', 'p2', '0', 'DEDICATED');
             INSERT INTO runs (id, started_at, finished_at, status)
               VALUES (1, 1, 1, 'committed'), (2, 2, 2, 'committed'), (3, 3, 3, 'committed'),
                      (4, 4, 4, 'committed');",
        )
        .unwrap();
        let mut seen = std::collections::HashSet::new();
        for (scope, from, to, v) in versions {
            let id = v["id"].as_str().unwrap().to_string();
            // One version of an image per scope and run start (the table's unique key).
            if !seen.insert((*scope, id.clone(), *from)) {
                continue;
            }
            let raw = serde_json::to_string(v).unwrap();
            // Written as a sync writes it: the version starts open and is ended by an update
            // (version_keys follows through its triggers).
            conn.execute(
                "INSERT INTO versions (scope_id, image_id, valid_from, hash, raw)
                 VALUES (?1, ?2, ?3, x'00', ?4)",
                rusqlite::params![scope, id, from, raw],
            )
            .unwrap();
            if to.is_some() {
                conn.execute(
                    "UPDATE versions SET valid_to = ?1 WHERE id = last_insert_rowid()",
                    [to],
                )
                .unwrap();
            }
        }
        Store {
            conn,
            path: "memory".into(),
        }
    }

    /// version_keys as versions imply it: one row per version with the same keys.
    fn keys_apart(store: &Store) -> i64 {
        store
            .conn
            .query_row(super::super::check::KEYS_APART, [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn version_keys_follow_every_write_to_versions() {
        let store = store_with(&[
            (
                1,
                1,
                None,
                json!({"id": "a", "name": "x", "type": "BUILD_IN", "create_at": 5}),
            ),
            (1, 1, Some(2), json!({"id": "b", "name": "y"})),
        ]);
        assert_eq!(keys_apart(&store), 0);
        for sql in [
            "UPDATE versions SET valid_to = 3 WHERE image_id = 'a'",
            "UPDATE versions SET valid_to = NULL WHERE image_id = 'b'",
            r#"UPDATE versions SET raw = '{"id":"a","name":"z","type":"DEDICATED"}' WHERE image_id = 'a'"#,
            "UPDATE versions SET valid_from = 2, image_id = 'c' WHERE image_id = 'b'",
            "DELETE FROM versions WHERE image_id = 'a'",
        ] {
            store.conn.execute_batch(sql).unwrap();
            assert_eq!(keys_apart(&store), 0, "after {sql}");
        }
        let left: i64 = store
            .conn
            .query_row("SELECT count(*) FROM version_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_index_answers_as_the_reference(
            versions in catalog(),
            queries in prop::collection::vec(query(), 1..6),
            scoped in any::<bool>(),
        ) {
            let store = store_with(&versions);
            for (params, run, paging) in queries {
                let q = match Query::from_params(params.iter().map(|(k, v)| (*k, v.as_str()))) {
                    Ok(q) => q,
                    Err(_) => continue,
                };
                let scopes = scoped.then_some(&[2i64][..]);
                let all = store.live_images(run).unwrap();
                let mut live: Vec<_> = all
                    .iter()
                    .filter(|l| scopes.is_none_or(|s| s.contains(&l.scope_id)))
                    .collect();
                // The reference breaks ties by id, then keeps its input's order: the same id in
                // two scopes (two projects listed together) comes in scope order, as the
                // index path orders them.
                live.sort_by(|a, b| a.image.id.cmp(&b.image.id).then(a.scope_id.cmp(&b.scope_id)));
                let reference = q.select(&live, |l| &l.image);
                let page = paging.page(&reference, &q);
                let got = store.select(run, &q, &paging, scopes).unwrap();
                let want_ids: Vec<_> = page.data.iter().map(|l| (l.scope_id, l.image.id.clone())).collect();
                let got_ids: Vec<_> = got.images.iter().map(|l| (l.scope_id, l.image.id.clone())).collect();
                prop_assert_eq!(&got_ids, &want_ids, "query {:?} at run {}", params, run);
                // The same page cut from the whole selection (what serve caches).
                let all_ids = store.select_all(run, &q, scopes).unwrap();
                let w = paging.window(&q, all_ids.len() as u64);
                let cut = store.versions(&all_ids[w.start as usize..w.end as usize]).unwrap();
                let cut_ids: Vec<_> = cut.iter().map(|l| (l.scope_id, l.image.id.clone())).collect();
                prop_assert_eq!(&cut_ids, &want_ids, "whole selection of {:?} at run {}", params, run);
                prop_assert_eq!(
                    (got.window.current, got.window.pages, got.window.size, got.window.total),
                    (page.current, page.pages, page.size, page.total)
                );
            }
        }
    }
}
