//! A synthetic but realistic catalog of any size, deterministic for a seed, for benchmarks.
//!
//! Images look like the real catalog: built-in images named like
//! `pytorch_2.1.0-cann_8.0.rc1-py_3.10-euler_2.10.7-aarch64-snt9b` with build-stamped tags and
//! `swr_path`s, dedicated team images in their own organizations and workspaces, English and
//! Chinese descriptions, optional fields left out as often as real responses leave them out.
//! [`evolve`] turns one day into the next with a given share of additions, removals and changes.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

const FRAMEWORKS: &[(&str, &[&str])] = &[
    (
        "pytorch",
        &["1.8.0", "1.11.0", "2.1.0", "2.3.1", "2.5.1", "2.7.1"],
    ),
    (
        "mindspore",
        &["1.10.0", "2.0.0", "2.2.0", "2.3.0", "2.6.0", "2.7.1"],
    ),
    ("tensorflow", &["1.15.0", "2.6.0", "2.10.0"]),
    ("mindie", &["1.0.0", "2.0.rc1", "2.1.rc2"]),
    ("verl", &["0.5.0", "0.7.0", "0.8.0"]),
    ("mindspeed_llm", &["1.0.0", "2.2.0"]),
    ("modelbox", &["1.3.0", "1.5.2"]),
    ("conda3", &["4.12", "23.1"]),
];
const CANN: &[&str] = &["6.3.2", "7.0.1", "8.0.rc1", "8.2.rc1", "8.3.rc1", "8.5.1"];
const CUDA: &[&str] = &["10.2", "11.1", "11.8", "12.1", "12.4"];
const PY: &[&str] = &["3.7", "3.9", "3.10", "3.11", "3.12"];
const OS: &[&str] = &[
    "euler_2.10.7",
    "hce_2.0.2509",
    "ubuntu_20.04",
    "ubuntu_22.04",
    "euler_2.8.3",
];
const CHIPS: &[&str] = &["snt9b", "snt9b23", "snt3", "snt9"];
const TEAMS: &[&str] = &[
    "nlp-research",
    "cv-platform",
    "ml-infra",
    "llm-serving",
    "speech-lab",
    "recsys-prod",
    "ai4science",
    "edu-lab",
    "dev-custom",
    "llm-train",
    "autodrive-perception",
];
const PURPOSES: &[&str] = &[
    "training",
    "inference",
    "fine-tuning",
    "notebook development",
    "batch evaluation",
    "distributed training",
    "model serving",
];
const ZH: &[&str] = &[
    "预置AI引擎的开发环境镜像,支持远程SSH连接",
    "昇腾推理基础镜像,适用于大模型部署",
    "用于训练作业的自定义镜像",
    "包含常用数据处理工具的开发镜像",
];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    xs.choose(rng).expect("non-empty table")
}

fn uuid(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn stamp(rng: &mut StdRng, t_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default();
    let sha: u32 = rng.gen();
    format!("{}-{:07x}", t.format("%Y%m%d%H%M%S"), sha & 0x0fff_ffff)
}

/// One new image; `t_ms` is its creation time.
fn image(rng: &mut StdRng, t_ms: i64) -> Value {
    let mut m = Map::new();
    let built_in = rng.gen_bool(0.7);
    let (fw, versions) = pick(rng, FRAMEWORKS);
    let version = pick(rng, versions);
    let ascend = rng.gen_bool(0.55);
    let arch = if ascend || rng.gen_bool(0.2) {
        "aarch64"
    } else {
        "x86_64"
    };
    let mut parts = vec![format!("{fw}_{version}")];
    if ascend {
        parts.push(format!("cann_{}", pick(rng, CANN)));
    } else {
        parts.push(format!("cuda_{}", pick(rng, CUDA)));
    }
    parts.push(format!("py_{}", pick(rng, PY)));
    parts.push(pick(rng, OS).to_string());
    parts.push(arch.to_string());
    if ascend {
        parts.push(pick(rng, CHIPS).to_string());
    }
    let long_name = parts.join("-");
    let st = stamp(rng, t_ms);
    let (name, tag, namespace, repo) = if built_in {
        let repo = if ascend {
            format!("{fw}_ascend")
        } else {
            fw.to_string()
        };
        (
            long_name.clone(),
            format!("{long_name}-{st}"),
            "atelier".to_string(),
            repo,
        )
    } else {
        let team = pick(rng, TEAMS);
        let purpose = pick(rng, &["train", "infer", "sft", "serving", "dev", "eval"]);
        let name = format!("{fw}-{purpose}-{}", rng.gen_range(1..400));
        let tag = format!(
            "v{}.{}.{}",
            rng.gen_range(0..4),
            rng.gen_range(0..20),
            rng.gen_range(0..10)
        );
        (name.clone(), tag, team.to_string(), name)
    };
    let arch_field = if rng.gen_bool(0.8) {
        arch.to_uppercase()
    } else {
        arch.to_string()
    };
    m.insert("id".into(), json!(uuid(rng)));
    m.insert("name".into(), json!(name));
    m.insert("tag".into(), json!(tag));
    m.insert("arch".into(), json!(arch_field));
    m.insert(
        "swr_path".into(),
        json!(format!(
            "swr.cn-southwest-2.myhuaweicloud.com/{namespace}/{repo}:{tag}"
        )),
    );
    m.insert(
        "type".into(),
        json!(if built_in { "BUILD_IN" } else { "DEDICATED" }),
    );
    m.insert(
        "service_type".into(),
        json!(pick(
            rng,
            &["COMMON", "TRAIN", "INFERENCE", "DEV", "UNKNOWN"]
        )),
    );
    let description = if rng.gen_bool(0.15) {
        pick(rng, ZH).to_string()
    } else if rng.gen_bool(0.05) {
        String::new()
    } else {
        format!(
            "{} image for {} with {} {version}{}, Python {}",
            if ascend { "Ascend" } else { "GPU" },
            pick(rng, PURPOSES),
            fw,
            if ascend {
                ", CANN preset"
            } else {
                ", CUDA preset"
            },
            pick(rng, PY)
        )
    };
    m.insert("description".into(), json!(description));
    let categories = if ascend {
        vec!["ASCEND"]
    } else if rng.gen_bool(0.5) {
        vec!["GPU", "CPU"]
    } else {
        vec!["GPU"]
    };
    if rng.gen_bool(0.9) {
        m.insert("resource_categories".into(), json!(categories));
    }
    if rng.gen_bool(0.8) {
        let mut ds = vec!["NOTEBOOK", "SSH"];
        if rng.gen_bool(0.1) {
            ds.push("AI_FLOW");
        }
        ds.shuffle(rng);
        m.insert("dev_services".into(), json!(ds));
    }
    if ascend && rng.gen_bool(0.6) {
        m.insert(
            "flavor_type".into(),
            json!(format!("ASCEND_{}", pick(rng, CHIPS).to_uppercase())),
        );
    }
    if !built_in || rng.gen_bool(0.85) {
        m.insert("create_at".into(), json!(t_ms));
        m.insert(
            "update_at".into(),
            json!(t_ms + rng.gen_range(0..86_400_000)),
        );
    }
    if !built_in || rng.gen_bool(0.5) {
        m.insert("size".into(), json!(rng.gen_range(1_300_000..33_000_000)));
    }
    m.insert(
        "status".into(),
        json!(if rng.gen_bool(0.95) {
            "ACTIVE"
        } else {
            *pick(rng, &["INIT", "CREATING", "CREATE_FAILED", "ERROR"])
        }),
    );
    m.insert("workspace_id".into(), json!("0"));
    m.insert("tags".into(), json!([]));
    if built_in {
        if rng.gen_bool(0.3) {
            m.insert("visibility".into(), json!("PUBLIC"));
        }
        if rng.gen_bool(0.4) {
            m.insert("show_name".into(), json!(fw));
            m.insert(
                "show_tag".into(),
                json!(long_name.split_once('-').map_or("", |x| x.1)),
            );
        }
    } else {
        m.insert("namespace".into(), json!(namespace));
        m.insert(
            "origin".into(),
            json!(if rng.gen_bool(0.7) {
                "CUSTOMIZE"
            } else {
                "IMAGE_SAVE"
            }),
        );
        m.insert("visibility".into(), json!("PRIVATE"));
        m.insert("swr_instance_id".into(), Value::Null);
        if rng.gen_bool(0.3) {
            m.insert("tags".into(), json!([{"key": "team", "value": namespace}]));
        }
    }
    Value::Object(m)
}

const START_MS: i64 = 1_600_000_000_000;
const DAY_MS: i64 = 86_400_000;

/// A catalog of `n` images, the same for the same `(n, seed)`.
pub fn generate(n: usize, seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let t = START_MS + (i as i64 * 2_000_000) % (1_500 * DAY_MS);
            image(&mut rng, t)
        })
        .collect()
}

/// The catalog one day later: about `fraction` of the images changed (a tag bump, a status or
/// description change, a size change), and as many added as removed (each `fraction / 4`).
/// Every change moves `update_at` forward.
pub fn evolve(prev: &[Value], day: u32, fraction: f64, seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed ^ (u64::from(day) << 32) ^ 0x5eed);
    let now = START_MS + 1_600 * DAY_MS + i64::from(day) * DAY_MS;
    let churn = fraction / 4.0;
    let mut out = Vec::with_capacity(prev.len());
    for v in prev {
        if rng.gen_bool(churn) {
            continue;
        }
        let mut v = v.clone();
        if rng.gen_bool((fraction - 2.0 * churn).clamp(0.0, 1.0)) {
            if let Some(m) = v.as_object_mut() {
                match rng.gen_range(0..4) {
                    0 => {
                        let st = stamp(&mut rng, now);
                        let name = m
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("x")
                            .to_string();
                        m.insert("tag".into(), json!(format!("{name}-{st}")));
                    }
                    1 => {
                        m.insert(
                            "status".into(),
                            json!(pick(&mut rng, &["ACTIVE", "DELETED", "ERROR"])),
                        );
                    }
                    2 => {
                        m.insert(
                            "description".into(),
                            json!(format!(
                                "Updated on day {day}: {}",
                                pick(&mut rng, PURPOSES)
                            )),
                        );
                    }
                    _ => {
                        m.insert("size".into(), json!(rng.gen_range(1_300_000..33_000_000)));
                    }
                }
                m.insert("update_at".into(), json!(now));
            }
        }
        out.push(v);
    }
    let added = ((prev.len() as f64) * churn).round() as usize;
    for _ in 0..added {
        out.push(image(&mut rng, now));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::Item;

    #[test]
    fn deterministic_valid_and_varied() {
        let a = generate(500, 7);
        assert_eq!(a, generate(500, 7));
        assert_ne!(a, generate(500, 8));
        for v in &a {
            Item::from_value(v).unwrap();
        }
        let ids: std::collections::HashSet<_> =
            a.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 500);
        assert!(a.iter().any(|v| v["type"] == "DEDICATED"));
        assert!(a.iter().any(|v| v.get("create_at").is_none()));
    }

    #[test]
    fn evolve_changes_about_the_fraction() {
        let a = generate(4000, 1);
        let b = evolve(&a, 1, 0.01, 1);
        let before: std::collections::HashMap<_, _> =
            a.iter().map(|v| (v["id"].as_str().unwrap(), v)).collect();
        let touched = b
            .iter()
            .filter(|v| before.get(v["id"].as_str().unwrap()) != Some(v))
            .count();
        assert!((20..=70).contains(&touched), "{touched}");
        assert!(b.len().abs_diff(a.len()) < 30);
    }
}
