//! Talking to a server that checks credentials: AK/SK signatures (with and without a security
//! token), IAM tokens, profiles with several scopes, and secrets that never leak.

use std::path::Path;

use crate::util::*;

const AK: &str = "HPUA6BJNWFAKEEXAMPLE";
const SK: &str = "q9Zt1nFakeSecretKeyForSigningVectors0001";
const STS: &str = "sts-token-FAKE-0123456789abcdef";
const TOKEN: &str = "MIIfake-iam-token-abcdefghijklmnopqrstuvwxyz";

fn aksk_sim() -> Sim {
    Sim::days_with_env(
        &["--require-auth", "aksk"],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    )
}

#[test]
fn aksk_signed_sync_against_a_verifying_server() {
    let sim = aksk_sim();
    let env = Env::new();
    let out = env.sync_env(
        &sim,
        &[],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    );
    assert_ok(&out);
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(1));
    // The same server refuses an unsigned client.
    let env2 = Env::new();
    let out = env2.sync(&sim, &[]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("APIGW.0301"), "{}", stderr(&out));
}

#[test]
fn a_security_token_is_sent_and_signed() {
    let sim = aksk_sim();
    let env = Env::new();
    let creds = [
        ("HUAWEICLOUD_SDK_AK", AK),
        ("HUAWEICLOUD_SDK_SK", SK),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", STS),
    ];
    assert_ok(&env.sync_env(&sim, &["--type", "DEDICATED"], &creds));
}

#[test]
fn a_wrong_secret_key_exits_3_with_the_api_error_and_no_secret() {
    let sim = aksk_sim();
    let env = Env::new();
    let wrong = "WrongSecretKeyWrongSecretKeyWrong0000000";
    let out = env.sync_env(
        &sim,
        &["-vv"],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", wrong)],
    );
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("APIGW.0301") && err.contains("signature"),
        "{err}"
    );
    assert!(!err.contains(wrong));
    assert_no_secret_in_dir(env.dir.path(), &[wrong]);
}

#[test]
fn token_auth_from_a_file_and_from_the_environment() {
    let sim = Sim::days_with_env(&["--require-auth", "token"], &[("MACAT_AUTH_TOKEN", TOKEN)]);
    let env = Env::new();
    let file = env.dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap().to_string();
    assert_ok(&env.sync(&sim, &["--token-file", &file]));
    assert_ok(&env.sync_env(&sim, &[], &[("MACAT_AUTH_TOKEN", TOKEN)]));
    let out = env.sync_env(&sim, &[], &[("MACAT_AUTH_TOKEN", "not-the-token")]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("APIGW.0301"));
}

#[test]
fn secrets_never_reach_output_logs_or_files() {
    let sim = aksk_sim();
    let env = Env::new();
    let creds = [
        ("HUAWEICLOUD_SDK_AK", AK),
        ("HUAWEICLOUD_SDK_SK", SK),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", STS),
    ];
    let out = env.sync_env(&sim, &["-vv", "--format", "json"], &creds);
    assert_ok(&out);
    let all = [
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    ]
    .concat();
    assert!(all.contains("GET "), "-vv should log requests: {all}");
    for secret in [SK, STS] {
        assert!(!all.contains(secret));
    }
    let runs = env.run(&["runs", "--format", "json", "-vv"]);
    assert!(!String::from_utf8_lossy(&runs.stdout).contains(SK));
    assert_no_secret_in_dir(env.dir.path(), &[SK, STS]);
}

#[test]
fn a_profile_with_several_scopes_walks_them_all_into_one_mirror() {
    let sim = aksk_sim();
    let env = Env::new();
    let creds = env.dir.path().join("credentials.toml");
    std::fs::write(&creds, format!("ak = \"{AK}\"\nsk = \"{SK}\"\n")).unwrap();
    let team_ws = "234f3f3c3867ec4b4413ec33ada65814";
    let config = env.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[profiles.fixtures]
endpoint = "{url}"
project_id = "p1"
credentials_file = "{creds}"

[[profiles.fixtures.scopes]]
workspace_id = "0"

[[profiles.fixtures.scopes]]
workspace_id = "{team_ws}"
type = "DEDICATED"
"#,
            url = sim.url,
            creds = creds.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = env.run(&[
        "sync",
        "--config",
        config,
        "--profile",
        "fixtures",
        "--format",
        "json",
    ]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("readable by others"),
        "{}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scopes"].as_array().unwrap().len(), 3);
    let text = std::fs::read_to_string(fixture_day_path(1)).unwrap();
    let day1: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let want = day1
        .into_iter()
        .filter(|v| v["workspace_id"] == "0" || v["workspace_id"] == team_ws)
        .map(|v| (v["id"].as_str().unwrap().to_string(), v))
        .collect();
    assert_same_catalog(&env.export("latest"), &want);
    // Flags beat the profile: an explicit project id the server does not know is used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let sim2 = Sim::days_with_env(
        &["--require-auth", "aksk", "--project-id", "p1"],
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    );
    let out = env.run(&[
        "sync",
        "--config",
        config,
        "--profile",
        "fixtures",
        "--endpoint",
        &sim2.url,
        "--project-id",
        "nope",
    ]);
    assert_exit(&out, 3);
    assert!(!stderr(&out).contains("readable by others"));
    // A missing profile or config file is a usage error.
    assert_exit(
        &env.run(&["sync", "--config", config, "--profile", "missing"]),
        2,
    );
    assert_exit(
        &env.run(&["runs", "--config", "/nonexistent/macat.toml"]),
        2,
    );
}

#[test]
fn unknown_regions_are_usage_errors() {
    let env = Env::new();
    let out = env.run(&["sync", "--region", "mars-1", "--project-id", "p"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("cn-north-4"));
}

/// No file under `dir` (database, WAL, lock, index) contains any of the secrets.
fn assert_no_secret_in_dir(dir: &Path, secrets: &[&str]) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        for s in secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{} contains a secret",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p
            .file_name()
            .is_some_and(|n| n != "credentials.toml" && n != "token")
        {
            out.push(p);
        }
    }
    out
}

/// Without `--db` or `--config`, the mirror and the config live in the XDG directories
/// (`$XDG_DATA_HOME`, `$XDG_CONFIG_HOME`, else under `$HOME`), and `~` in a profile is `$HOME`.
#[test]
fn default_paths_follow_xdg_and_tilde_is_home() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("token"), "a-token\n").unwrap();
    let profile = format!(
        "[profiles.default]\nendpoint = \"{}\"\nproject_id = \"p1\"\ntoken_file = \"~/token\"\n",
        sim.url
    );
    let run = |envs: &[(&str, &Path)], args: &[&str]| {
        let mut c = macat_cmd();
        c.env_remove("XDG_DATA_HOME").env_remove("XDG_CONFIG_HOME");
        c.env("HOME", &home).envs(envs.iter().copied()).args(args);
        c.output().unwrap()
    };

    let data = env.dir.path().join("data");
    let config = env.dir.path().join("config");
    std::fs::create_dir_all(config.join("macat")).unwrap();
    std::fs::write(config.join("macat/config.toml"), &profile).unwrap();
    let xdg = [
        ("XDG_DATA_HOME", data.as_path()),
        ("XDG_CONFIG_HOME", &config),
    ];
    assert_ok(&run(&xdg, &["sync"]));
    assert!(data.join("macat/catalog.db").is_file());
    assert_ok(&run(&xdg, &["runs"]));

    std::fs::create_dir_all(home.join(".config/macat")).unwrap();
    std::fs::write(home.join(".config/macat/config.toml"), &profile).unwrap();
    assert_ok(&run(&[], &["sync"]));
    assert!(home.join(".local/share/macat/catalog.db").is_file());

    std::fs::remove_file(home.join("token")).unwrap();
    let out = run(&[], &["sync"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("token"), "{}", stderr(&out));
}

#[test]
fn no_credentials_for_the_cloud_is_a_usage_error_before_any_request() {
    let env = Env::new();
    for args in [
        vec!["sync", "--region", "cn-north-4", "--project-id", "abc"],
        vec![
            "sync",
            "--endpoint",
            "https://modelarts.cn-north-4.myhuaweicloud.com",
            "--project-id",
            "abc",
        ],
    ] {
        let out = env.run(&args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        for names in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "--token-file",
            "MACAT_AUTH_TOKEN",
            "credentials_file",
        ] {
            assert!(err.contains(names), "{err}");
        }
        // Nothing was attempted: no run was recorded.
        let runs = env.run(&["runs", "--format", "json"]);
        if runs.status.success() {
            let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
            assert_eq!(runs.as_array().map_or(0, Vec::len), 0, "{runs}");
        }
    }
    // A loopback server without credentials is asked as before.
    let sim = Sim::days(&[]);
    assert_ok(&env.sync(&sim, &[]));
}
