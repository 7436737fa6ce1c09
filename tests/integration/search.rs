//! `macat search` and the index beside the mirror: relevance over the fixture catalog, the
//! query language, history, and the index kept in step with the database (caught up after a
//! missed update, rebuilt when missing or corrupt, `macat reindex`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

/// A mirror of the three fixture days (runs 1, 2, 3).
fn three_days() -> Env {
    three_day_mirror().1
}

fn index_dir(env: &Env) -> PathBuf {
    let mut s = env.db.clone().into_os_string();
    s.push(".index");
    PathBuf::from(s)
}

/// `macat search ARGS --format json`, parsed.
fn hits(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["search"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = env.run(&all);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

fn names(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// `tag:` and `swr_path:` find exactly the images whose tag or path has the word, though the
/// index keeps only what those add to the name: compared, word by word, with the analysis of
/// the whole text. The words come from names (found through the name), from build stamps,
/// hashes, registries and namespaces (kept in the field), and from names whose tag glues a
/// build stamp to them (`...-snt9b-2026...`, indexed whole).
#[test]
fn fielded_tag_and_path_find_exactly_the_images_whose_text_has_the_word() {
    use tantivy::tokenizer::TokenStream;
    let env = three_days();
    let text = std::fs::read_to_string(repo().join("data/catalog-day3.json")).unwrap();
    let catalog: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut ident = macat::index::analyze::ident_analyzer();
    // A word of several segments (`snt9b`) is a code: exactly itself, not the longer codes it
    // begins (`snt9b23`, found by the typo pass only).
    let mut has = |text: &str, word: &str| {
        let mut words = ident.token_stream(text);
        let mut found = false;
        while let Some(t) = words.next() {
            found |= t.text == word;
        }
        found
    };
    let cases = [
        ("tag", "pytorch"),
        ("tag", "aarch64"),
        ("tag", "snt9b"),
        ("tag", "8.3"),
        ("tag", "ubuntu"),
        ("tag", "20230404095316"),
        ("tag", "7fcd503"),
        ("swr_path", "pytorch"),
        ("swr_path", "myhuaweicloud"),
        ("swr_path", "atelier"),
        ("swr_path", "x86"),
        ("swr_path", "2.7.1"),
        ("swr_path", "0688ab8"),
    ];
    for (field, word) in cases {
        let want: std::collections::BTreeSet<String> = catalog
            .iter()
            .filter(|i| i["workspace_id"] == "0")
            .filter(|i| i[field].as_str().is_some_and(|t| has(t, word)))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!want.is_empty(), "{field}:{word} checks nothing");
        let found = hits(&env, &[&format!("{field}:{word}"), "--limit", "1000"]);
        // Exact matches only (score of at least 1000): the typo pass adds look-alikes.
        let got: std::collections::BTreeSet<String> = found
            .iter()
            .filter(|h| h["score"].as_f64().unwrap() >= 1000.0)
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{field}:{word}");
    }
}

/// Recall@5 and MRR of one group of the relevance set, for one ranker.
#[derive(Default)]
struct Figures {
    queries: usize,
    found: usize,
    wanted: usize,
    rr_sum: f64,
}

impl Figures {
    /// Adds a query's top 5 against the ids it must have.
    fn add(&mut self, top: &[String], must: &[&str]) {
        if must.is_empty() {
            return;
        }
        self.queries += 1;
        self.wanted += must.len();
        self.found += must.iter().filter(|m| top.iter().any(|g| g == *m)).count();
        if let Some(rank) = top.iter().position(|g| must.contains(&g.as_str())) {
            self.rr_sum += 1.0 / (rank + 1) as f64;
        }
    }

    fn recall(&self) -> f64 {
        self.found as f64 / self.wanted.max(1) as f64
    }

    fn mrr(&self) -> f64 {
        self.rr_sum / self.queries.max(1) as f64
    }
}

/// The baseline the relevance set compares with: the images of the latest run ranked by the
/// number of query words found as case-insensitive substrings of their name, tag or
/// description, then by id (operators, quotes, fields and flags ignored; `-word` dropped).
fn baseline_top5(catalog: &std::collections::BTreeMap<String, Value>, query: &str) -> Vec<String> {
    let words: Vec<String> = query
        .split_whitespace()
        .filter(|w| !matches!(*w, "AND" | "OR" | "NOT") && !w.starts_with('-'))
        .map(|w| {
            let w = w.trim_matches(|c| matches!(c, '"' | '(' | ')' | '*'));
            w.rsplit(':').next().unwrap_or(w).to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut scored: Vec<(usize, &String)> = catalog
        .iter()
        .map(|(id, image)| {
            let text = ["name", "tag", "description"]
                .iter()
                .map(|f| image[f].as_str().unwrap_or("").to_lowercase())
                .collect::<Vec<_>>()
                .join(" ");
            (
                words.iter().filter(|w| text.contains(w.as_str())).count(),
                id,
            )
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(5)
        .map(|(_, id)| id.clone())
        .collect()
}

/// The relevance set (`tests/fixtures/relevance.json`), in groups (names, description
/// keywords, chips, ties): for each query, the ids that must be among the first five hits
/// (`must`), that must not (`must_not`), and the one that must come first (`first`). Reports
/// recall@5 and MRR (reciprocal rank of the first must-have hit, averaged over queries) per
/// group, beside a substring-counting baseline ([`baseline_top5`]) that macat must beat in
/// every group.
#[test]
fn search_relevance_set_recall_and_mrr() {
    let env = three_days();
    let catalog = day_in_workspace0(3);
    let text = std::fs::read_to_string(repo().join("tests/fixtures/relevance.json")).unwrap();
    let set: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(set.len() >= 60, "the set should have at least 60 queries");
    let mut groups: std::collections::BTreeMap<String, (Figures, Figures)> = Default::default();
    let mut misses = Vec::new();
    let list = |case: &Value, key: &str| -> Vec<String> {
        case.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    for case in &set {
        let query = case["query"].as_str().unwrap();
        let group = case["group"].as_str().unwrap().to_string();
        let mut args = vec![query, "--limit", "5"];
        let extra = list(case, "args");
        args.extend(extra.iter().map(String::as_str));
        let got = ids(&hits(&env, &args));
        let must = list(case, "must");
        let must: Vec<&str> = must.iter().map(String::as_str).collect();
        for m in &must {
            if !got.iter().any(|g| g == m) {
                misses.push(format!("{query:?} misses {m}"));
            }
        }
        for m in list(case, "must_not") {
            if got.contains(&m) {
                misses.push(format!("{query:?} has {m}"));
            }
        }
        if let Some(first) = case.get("first").and_then(Value::as_str) {
            if got.first().map(String::as_str) != Some(first) {
                misses.push(format!(
                    "{query:?} starts with {:?}, not {first}",
                    got.first()
                ));
            }
        }
        let (ours, base) = groups.entry(group).or_default();
        ours.add(&got, &must);
        base.add(&baseline_top5(&catalog, query), &must);
    }
    for (group, (ours, base)) in &groups {
        eprintln!(
            "relevance {group}: {} queries, recall@5 {:.3} ({}/{}), MRR {:.3}; \
             baseline recall@5 {:.3}, MRR {:.3}",
            ours.queries,
            ours.recall(),
            ours.found,
            ours.wanted,
            ours.mrr(),
            base.recall(),
            base.mrr()
        );
    }
    assert!(misses.is_empty(), "{misses:#?}");
    for (group, (ours, base)) in &groups {
        assert!(
            ours.recall() >= base.recall()
                && ours.mrr() >= base.mrr()
                && (ours.recall() > base.recall() || ours.mrr() > base.mrr()),
            "{group}: macat does not beat the baseline"
        );
        assert!(ours.mrr() >= 0.95, "{group}: MRR fell to {:.3}", ours.mrr());
    }
}

#[test]
fn search_tokenization_finds_names_by_their_parts() {
    let env = three_days();
    for (query, must_contain) in [
        ("pytorch", vec!["pytorch"]),
        ("cuda 11.1", vec!["cuda", "11.1"]),
        ("mindspore 2.2", vec!["mindspore", "2.2"]),
        ("cann", vec!["cann"]),
        ("snt9b", vec!["snt9b"]),
        ("aarch64", vec!["aarch64"]),
        ("cuda10.2", vec!["cuda", "10.2"]),
        ("pytorch 1.8", vec!["pytorch", "1.8"]),
    ] {
        let got = hits(&env, &[query, "--limit", "5"]);
        assert!(!got.is_empty(), "{query} found nothing");
        // Partial matches (fewer than five images have every word) come after the full ones.
        let full = got.iter().take_while(|h| h["partial"] == false).count();
        assert!(full > 0, "{query} has no full match");
        assert!(got[full..].iter().all(|h| h["partial"] == true), "{query}");
        for h in &got[..full] {
            let hay = format!(
                "{} {}",
                h["name"].as_str().unwrap_or(""),
                h["tag"].as_str().unwrap_or("")
            )
            .to_lowercase();
            for part in &must_contain {
                assert!(hay.contains(part), "{query}: {hay} lacks {part}");
            }
        }
    }
    // The whole version finds the image too, glued or not.
    let got = names(&hits(
        &env,
        &["pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"],
    ));
    assert_eq!(got[0], "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64");
}

#[test]
fn search_ranks_words_together_in_the_name_first() {
    let env = three_days();
    let got = names(&hits(&env, &["mindspore 2.0", "--limit", "10"]));
    let first_other = got
        .iter()
        .position(|n| !n.starts_with("mindspore_2.0.0"))
        .unwrap();
    assert!(
        got[..first_other].len() >= 3
            && got[first_other..]
                .iter()
                .all(|n| !n.starts_with("mindspore_2.0.0")),
        "{got:#?}"
    );
    // Name and tag over description: "pytorch" images before images whose only pytorch is in
    // the description.
    let got = hits(&env, &["pytorch", "--limit", "60"]);
    let in_name = |h: &Value| {
        let n = format!("{} {}", h["name"], h["tag"]).to_lowercase();
        n.contains("pytorch")
    };
    let first_desc_only = got.iter().position(|h| !in_name(h)).unwrap_or(got.len());
    assert!(got[first_desc_only..].iter().all(|h| !in_name(h)));
}

#[test]
fn search_tolerates_typos_but_ranks_exact_matches_first() {
    let env = three_days();
    // One typo (a transposition) from 5 characters, two from 9.
    assert!(names(&hits(&env, &["pytroch"]))
        .iter()
        .all(|n| n.to_lowercase().contains("pytorch")));
    assert!(!hits(&env, &["tensorflwo"]).is_empty());
    assert!(!hits(&env, &["mindspre"]).is_empty());
    // Under 5 characters, no typo is tolerated.
    assert!(hits(&env, &["cnan"]).is_empty());
    // An exact match beats a fuzzy one.
    let got = hits(&env, &["mlstudio"]);
    assert_eq!(got[0]["name"], "mlstudio-pyspark2.4.5-ubuntu18.04");
    assert!(got
        .iter()
        .any(|h| h["name"].as_str().unwrap().starts_with("rlstudio")));
    let exact = got[0]["score"].as_f64().unwrap();
    for h in &got[1..] {
        if h["name"].as_str().unwrap().starts_with("rlstudio") {
            assert!(h["score"].as_f64().unwrap() < exact);
        }
    }
}

#[test]
fn search_field_values_are_case_insensitive() {
    let env = three_days();
    let lower = hits(&env, &["arch:aarch64", "--limit", "1000"]);
    let upper = hits(&env, &["arch:AARCH64", "--limit", "1000"]);
    assert_eq!(ids(&lower), ids(&upper));
    let archs: std::collections::BTreeSet<&str> =
        lower.iter().map(|h| h["arch"].as_str().unwrap()).collect();
    assert_eq!(archs, ["AARCH64", "aarch64"].into_iter().collect());
    // Flags filter the same way.
    let flag = hits(&env, &["*", "--arch", "X86_64", "--limit", "1000"]);
    let archs: std::collections::BTreeSet<&str> =
        flag.iter().map(|h| h["arch"].as_str().unwrap()).collect();
    assert_eq!(archs, ["X86_64", "x86_64"].into_iter().collect());
    for h in hits(
        &env,
        &[
            "tensorflow",
            "--category",
            "gpu",
            "--service-type",
            "inference",
        ],
    ) {
        assert_eq!(h["service_type"], "INFERENCE");
    }
    for h in hits(&env, &["type:dedicated status:active", "--limit", "1000"]) {
        assert_eq!(h["type"], "DEDICATED");
        assert_eq!(h["status"], "ACTIVE");
    }
    for h in hits(
        &env,
        &["pytorch", "--type", "DEDICATED", "--dev-service", "ssh"],
    ) {
        assert_eq!(h["type"], "DEDICATED");
    }
}

#[test]
fn search_boolean_operators_phrases_and_prefixes() {
    let env = three_days();
    let either = names(&hits(&env, &["horovod OR veomni", "--limit", "10"]));
    assert!(either.iter().any(|n| n.starts_with("horovod")));
    assert!(either.iter().any(|n| n.starts_with("veomni")));
    for n in names(&hits(&env, &["tensorflow NOT aarch64", "--limit", "100"])) {
        assert!(!n.contains("aarch64"), "{n}");
    }
    for n in names(&hits(&env, &["tensorflow -cuda", "--limit", "100"])) {
        assert!(!n.contains("cuda"), "{n}");
    }
    let got = hits(&env, &["\"cuda 11.1\""]);
    assert!(!got.is_empty());
    for h in &got {
        let hay = format!("{} {}", h["name"], h["tag"]);
        assert!(hay.contains("cuda_11.1"), "{hay}");
    }
    let got = names(&hits(&env, &["mindsp*", "--limit", "100"]));
    assert!(got.iter().any(|n| n.starts_with("mindspore")));
    assert!(got.iter().any(|n| n.starts_with("mindspeed")));
}

#[test]
fn search_json_and_ndjson_hits_have_the_contract_fields() {
    let env = three_days();
    let got = hits(&env, &["pytorch", "--limit", "3"]);
    assert_eq!(got.len(), 3);
    for h in &got {
        for key in ["id", "name", "tag", "score", "description"] {
            assert!(h.get(key).is_some(), "{key} missing from {h}");
        }
        assert!(h["score"].is_number());
    }
    let out = env.run(&["search", "pytorch", "--limit", "3", "--format", "ndjson"]);
    assert_ok(&out);
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, got);
}

#[test]
fn search_malformed_queries_are_one_line_and_exit_2() {
    let env = three_days();
    for q in [
        "\"pytorch 1.8",
        "(pytorch",
        "pytorch)",
        "pytorch OR",
        "AND cuda",
        "NOT",
        "name:",
        "nmae:pytorch",
        "mind*spore",
        "\"\"",
        "+++",
    ] {
        let out = env.run(&["search", "--", q]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{q:?}: {err}");
        assert!(err.starts_with("macat: error: "), "{q:?}: {err}");
        assert!(!err.contains("panicked"), "{q:?}: {err}");
    }
}

#[test]
fn search_history_with_as_of_and_include_removed() {
    let env = three_days();
    // Removed on day 2 (run 2).
    let gone = "mlstudio-pyspark2.3.2-ubuntu16.04";
    assert!(!names(&hits(&env, &["mlstudio"])).contains(&gone.to_string()));
    let then = hits(&env, &["mlstudio", "--as-of", "run:1"]);
    let h = then.iter().find(|h| h["name"] == gone).unwrap();
    assert_eq!(h["live"], true);
    let all = hits(&env, &["mlstudio", "--include-removed"]);
    let h = all.iter().find(|h| h["name"] == gone).unwrap();
    assert_eq!(h["live"], false);
    assert_eq!(h["valid_to"], 2);
    // One hit per image even when several of its versions match.
    let all = hits(&env, &["*", "--include-removed", "--limit", "10000"]);
    let unique: std::collections::BTreeSet<String> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len());
    // A point before the first run is an error.
    let out = env.run(&["search", "pytorch", "--as-of", "2000-01-01"]);
    assert_exit(&out, 2);
}

#[test]
fn search_before_any_sync_says_what_to_do() {
    let env = Env::new();
    let out = env.run(&["search", "pytorch"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("macat sync"), "{}", stderr(&out));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The process died between the database commit and the index commit: the next search sees
/// the index behind the database and catches up.
#[test]
fn index_catches_up_after_a_missed_update() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let dir = index_dir(&env);
    assert!(
        dir.join("meta.json").exists(),
        "sync should build the index"
    );
    let saved = env.db.with_extension("saved-index");
    copy_dir(&dir, &saved);
    sim.advance();
    assert_ok(&env.sync(&sim, &[]));
    // Put back the index as it was before run 2's update.
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&saved, &dir);
    let out = env.run(&["-v", "search", "verl", "--format", "json"]);
    assert_ok(&out);
    assert!(stderr(&out).contains("caught up"), "{}", stderr(&out));
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        names(&got).iter().any(|n| n.starts_with("verl_0.7.0")),
        "added on day 2: {got:?}"
    );
    // And a removal of run 2 is seen too.
    assert!(!names(&hits(&env, &["mlstudio"]))
        .contains(&"mlstudio-pyspark2.3.2-ubuntu16.04".to_string()));
    // Now it is level: no more work.
    let out = env.run(&["-v", "search", "verl"]);
    assert_ok(&out);
    assert!(!stderr(&out).contains("caught up") && !stderr(&out).contains("building"));
}

/// The same, with the process really killed right after the database commit (the failpoint a
/// `kill -9` there would leave): the next search catches up.
#[test]
fn index_catches_up_after_a_sync_killed_after_its_commit() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    let out = env.sync_env(&sim, &[], &[("MACAT_CRASH_AT", "after-commit")]);
    assert!(!out.status.success(), "the sync should have been killed");
    let out = env.run(&["-v", "search", "verl", "--format", "json"]);
    assert_ok(&out);
    assert!(stderr(&out).contains("caught up"), "{}", stderr(&out));
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(names(&got).iter().any(|n| n.starts_with("verl_0.7.0")));
}

/// Killed in the middle of the index update (segments written, the writer lock taken, nothing
/// committed): the next search takes the lock, catches up and ignores the leftovers.
#[test]
fn index_catches_up_after_a_sync_killed_while_updating_it() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    let out = env.sync_env(&sim, &[], &[("MACAT_CRASH_AT", "index-before-commit")]);
    assert!(!out.status.success(), "the sync should have been killed");
    assert!(
        stderr(&out).contains("index-before-commit"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["-v", "search", "verl", "--format", "json"]);
    assert_ok(&out);
    assert!(stderr(&out).contains("caught up"), "{}", stderr(&out));
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(names(&got).iter().any(|n| n.starts_with("verl_0.7.0")));
    // and the next sync's update works on top of it
    sim.advance();
    let out = env.sync(&sim, &["-v"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("search index caught up"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sync_updates_the_index_incrementally() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    let out = env.sync(&sim, &["-v"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("search index caught up"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["-v", "search", "verl"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        !err.contains("caught up") && !err.contains("rebuilding") && !err.contains("building"),
        "{err}"
    );
}

/// The index's files other than its `meta.json`, with their contents.
fn segment_files(env: &Env) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(index_dir(env))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n != "meta.json" && n != ".managed.json" && n != "macat-checked.json"
            })
        })
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().ends_with(".lock"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn an_unchanged_resync_does_not_rewrite_the_index() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let before = segment_files(&env);
    assert!(!before.is_empty());
    assert_ok(&env.sync(&sim, &[]));
    assert_eq!(
        segment_files(&env),
        before,
        "an unchanged re-sync rewrote the index"
    );
    // The index records the new run all the same: searching needs no catch-up.
    let out = env.run(&["-v", "search", "verl"]);
    assert_ok(&out);
    assert!(!stderr(&out).contains("caught up"), "{}", stderr(&out));
    // A run with changes writes a segment.
    sim.advance();
    assert_ok(&env.sync(&sim, &[]));
    assert_ne!(segment_files(&env), before);
}

#[test]
fn index_is_rebuilt_when_missing_or_corrupt() {
    let env = three_days();
    let dir = index_dir(&env);
    let want = ids(&hits(&env, &["pytorch 2.1", "--limit", "50"]));
    assert!(!want.is_empty());
    // Missing.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(ids(&hits(&env, &["pytorch 2.1", "--limit", "50"])), want);
    // meta.json garbled.
    std::fs::write(dir.join("meta.json"), b"{ not json").unwrap();
    let out = env.run(&["search", "pytorch 2.1", "--limit", "50", "--format", "json"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("was rebuilt from the mirror"),
        "{}",
        stderr(&out)
    );
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&got), want);
    // A segment file gone.
    let victim = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    std::fs::remove_file(victim).unwrap();
    assert_eq!(ids(&hits(&env, &["pytorch 2.1", "--limit", "50"])), want);
    // A file that is not a directory where the index should be.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"junk").unwrap();
    assert_eq!(ids(&hits(&env, &["pytorch 2.1", "--limit", "50"])), want);
}

/// An index copied from another mirror (same run numbers, other history) is not trusted.
#[test]
fn index_of_another_mirror_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("one.json");
    let one = serde_json::json!([{
        "id": "00000000-0000-4000-8000-000000000002",
        "name": "only-image-here",
        "tag": "v1",
        "type": "BUILD_IN",
        "status": "ACTIVE",
        "workspace_id": "0"
    }]);
    std::fs::write(&catalog, serde_json::to_vec(&one).unwrap()).unwrap();
    let small = Env::new();
    let sim = Sim::start(&["--catalog", catalog.to_str().unwrap()], &[]);
    assert_ok(&small.sync(&sim, &[]));
    let big = Env::new();
    assert_ok(&big.sync(&Sim::days(&[]), &[]));
    // Put the fixture mirror's index (run 1 too) beside the one-image mirror.
    std::fs::remove_dir_all(index_dir(&small)).unwrap();
    copy_dir(&index_dir(&big), &index_dir(&small));
    let out = small.run(&["search", "*", "--format", "json"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("was rebuilt from the mirror"),
        "{}",
        stderr(&out)
    );
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names(&got), ["only-image-here"]);
}

#[test]
fn reindex_rebuilds_from_the_database() {
    let env = three_days();
    let out = env.run(&["reindex", "--format", "json"]);
    assert_ok(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["action"], "rebuilt");
    assert_eq!(r["run_id"], 3);
    let versions: i64 = env
        .sqlite()
        .query_row("SELECT count(*) FROM versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r["documents"], versions);
    let out = env.run(&["reindex"]);
    assert_ok(&out);
    assert!(stderr(&out).contains("search index rebuilt"));
}

#[test]
fn builds_abandoned_by_killed_processes_are_cleaned_up() {
    let env = three_days();
    let build_dir = |name: &str| {
        let db_name = env.db.file_name().unwrap().to_string_lossy().into_owned();
        let dir = env
            .db
            .with_file_name(format!(".{db_name}.index.new-{name}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("meta.json"), "{}").unwrap();
        dir
    };
    let abandoned = build_dir("killed");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::open(&abandoned)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let in_progress = build_dir("running");
    assert_ok(&env.run(&["reindex"]));
    assert!(!abandoned.exists(), "an abandoned build was left");
    assert!(
        in_progress.exists(),
        "a recent build (another process's) was removed"
    );
}

/// Data is never printed raw: escapes in names and descriptions come out as text, and colour
/// codes appear only for highlights, only when asked for.
#[test]
fn search_output_is_terminal_safe() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("evil.json");
    let evil = serde_json::json!([{
        "id": "00000000-0000-4000-8000-000000000001",
        "name": "evil\u{1b}[2Jpytorch",
        "tag": "v1\u{7}",
        "type": "BUILD_IN",
        "arch": "x86_64",
        "description": "pytorch \u{1b}]0;title\u{7} and \r carriage",
        "status": "ACTIVE",
        "swr_path": "swr.example/evil/evil:v1",
        "workspace_id": "0"
    }]);
    std::fs::write(&catalog, serde_json::to_vec(&evil).unwrap()).unwrap();
    let sim = Sim::start(&["--catalog", catalog.to_str().unwrap()], &[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let out = env.run(&["search", "pytorch"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("evil"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    let out = env.run(&["--color", "always", "search", "pytorch"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\x1b[1;33mpytorch\x1b[0m"), "{text:?}");
    let stripped = text.replace("\x1b[1;33m", "").replace("\x1b[0m", "");
    assert!(
        !stripped.chars().any(|c| c.is_control() && c != '\n'),
        "{stripped:?}"
    );
}

#[test]
fn secrets_never_reach_the_index() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let secret = "tok-9f8e7d6c5b4a-never-stored";
    let out = env.sync_env(&sim, &[], &[("MACAT_AUTH_TOKEN", secret)]);
    assert_ok(&out);
    let dir = index_dir(&env);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
    assert!(files > 0);
}

/// Plain words that no image has all of still answer, with the closest images marked
/// (`partial`, `missing` in JSON; a MISSING column in the table); quoted, they answer nothing.
#[test]
fn search_fills_up_with_partial_matches_marked_as_such() {
    let env = three_days();
    let got = hits(&env, &["operations research Solver"]);
    assert!(!got.is_empty());
    assert_eq!(got[0]["id"], "b9933af0-3119-4045-a427-5e668327dafd");
    assert_eq!(got[0]["missing"], serde_json::json!(["Solver"]));
    assert!(got.iter().all(|h| h["partial"] == true));
    let full = hits(&env, &["distributed training horovod", "--limit", "8"]);
    assert_eq!(full.len(), 8);
    assert_eq!(full[0]["partial"], false);
    assert_eq!(full[0]["missing"], serde_json::json!([]));
    assert!(full.iter().any(|h| h["partial"] == true));
    let out = env.run(&["search", "operations research Solver"]);
    assert_ok(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    let header = table.lines().next().unwrap();
    assert!(header.contains("MISSING"), "{table}");
    let first = table.lines().nth(1).unwrap();
    assert!(
        first.contains("cylp0.91.4") && first.contains("Solver"),
        "{table}"
    );
    assert!(hits(&env, &["\"operations research solver\""]).is_empty());
    assert!(hits(&env, &["operations AND research AND solver"]).is_empty());
}

/// Equal matches: ACTIVE first, then the newer `create_at`, `update_at`, then `id`.
#[test]
fn search_equal_matches_rank_active_then_newer() {
    let env = three_days();
    let catalog = day_in_workspace0(3);
    let got = hits(&env, &["*", "--limit", "1000"]);
    assert_eq!(got.len(), catalog.len());
    let keys: Vec<(bool, i64, i64, String)> = got
        .iter()
        .map(|h| {
            let id = h["id"].as_str().unwrap();
            let i = &catalog[id];
            (
                i["status"] == "ACTIVE",
                i["create_at"].as_i64().unwrap_or(0),
                i["update_at"].as_i64().unwrap_or(0),
                id.to_string(),
            )
        })
        .collect();
    for w in keys.windows(2) {
        assert!(w[0] >= w[1], "{:?} before {:?}", w[0], w[1]);
    }
    // Two images of one name: the newer first.
    let got = ids(&hits(&env, &["pytorch_1_8"]));
    assert_eq!(
        got[..2],
        [
            "a5a43175-30a6-43d2-9596-38bee562f8c0",
            "689c81b3-15dd-4500-b63e-1871e24eb391"
        ]
    );
}
