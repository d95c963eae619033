//! `iocsync config check` through the real binary: broken configs exit 1 and name the key path
//! of every problem (unknown keys, bad values, missing secrets, unknown collections, unsafe
//! transport: plain http beyond loopback, secrets in URLs); secret values never appear in the
//! output; a valid config exits 0; `--json` says the same.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Written out, not built with `testkit::ConfigBuilder`: the file's text is the subject. The
/// tests break it with `replace`, and the errors name key paths by position (`targets[1]`)
/// and lines, so every test here keeps its TOML as the user would write it.
const VALID: &str = r#"
[library]
path = "iocsync.db"

[[targets]]
name = "v1"
product = "vision-one"
region = "eu"
api_key = "env:CHECK_TEST_V1_KEY"

[[targets]]
name = "ds"
product = "deep-security"
base_url = "https://dsm.example:4119/api"
api_key = "file:ds.key"
auth_header = "api-secret-key"

[[collections]]
name = "all"
min_score = 5

[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
schedule = "1h"

[[workflows]]
name = "ips"
collection = "all"
target = "ds"
action = "ip-list"
schedule = "0 */6 * * *"
"#;

const SECRET: &str = "s3cr3t-value-never-printed";

struct Check {
    code: i32,
    stdout: String,
}

fn check(dir: &Path, text: &str, json: bool) -> Check {
    std::fs::write(dir.join("iocsync.toml"), text).unwrap();
    let mut command = Command::cargo_bin("iocsync").unwrap();
    command
        .current_dir(dir)
        .env_remove("IOCSYNC_CONFIG")
        .env("CHECK_TEST_V1_KEY", SECRET)
        .args(["config", "check"]);
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains(SECRET));
    Check {
        code: output.status.code().unwrap_or(-1),
        stdout,
    }
}

/// The key paths `--json` reports.
fn keys(dir: &Path, text: &str) -> Vec<String> {
    let run = check(dir, text, true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], false);
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect()
}

fn with_key_file(dir: &TempDir) {
    std::fs::write(dir.path().join("ds.key"), format!("{SECRET}\n")).unwrap();
}

#[test]
fn a_valid_config_passes() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let run = check(dir.path(), VALID, false);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("valid (2 targets, 1 collection, 2 workflows, 0 triggers)")
    );
    let run = check(dir.path(), VALID, true);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["problems"], Value::Array(vec![]));
}

#[test]
fn every_structural_problem_is_named_by_its_key_path() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let broken = VALID
        .replace("region = \"eu\"", "region = \"eu\"\ncolour = \"blue\"")
        .replace(
            "auth_header = \"api-secret-key\"",
            "auth_header = \"cookie\"",
        )
        .replace(
            "schedule = \"1h\"",
            "schedule = \"every tuesday\"\nparameters = { expiry = 5 }",
        );
    assert_eq!(
        keys(dir.path(), &broken),
        [
            "targets[0].colour",
            "targets[1].auth_header",
            // The workflows name broken targets: their own checks wait for those fixes.
        ]
    );
    let broken = VALID.replace(
        "schedule = \"1h\"",
        "schedule = \"every tuesday\"\nparameters = { expiry = 5, flavour = 1 }",
    );
    let run = check(dir.path(), &broken, false);
    assert_eq!(run.code, 1);
    for expected in [
        "workflows[0].parameters.expiry: expected one of 7, 15, 30",
        "workflows[0].parameters.flavour: unknown parameter",
        "workflows[0].schedule: expected an interval",
    ] {
        assert!(run.stdout.contains(expected), "{expected}:\n{}", run.stdout);
    }
}

#[test]
fn every_feed_problem_is_named_and_workflows_name_only_missing_feeds() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let broken = format!(
        "{VALID}\n[[feeds]]\nname = \"feodo\"\nurl = \"https://feeds.example/f.csv\"\nheaders = {{ Authorization = \"{SECRET}\" }}\n\n[[feeds]]\nname = \"ok\"\nurl = \"list.txt\"\nmin_ratio = 3\n"
    )
    .replacen(
        "schedule = \"1h\"",
        "schedule = \"1h\"\nafter = [\"feodo\", \"ghost\"]",
        1,
    );
    assert_eq!(
        keys(dir.path(), &broken),
        [
            "feeds[0].headers.Authorization",
            "feeds[1].min_ratio",
            "workflows[0].after[1]",
        ]
    );
    let run = check(dir.path(), &broken, false);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
}

#[test]
fn inline_secrets_are_refused_without_being_echoed() {
    let dir = TempDir::new().unwrap();
    let broken = VALID.replace("env:CHECK_TEST_V1_KEY", SECRET);
    assert_eq!(keys(dir.path(), &broken), ["targets[0].api_key"]);
}

#[test]
fn missing_secrets_collections_and_folders_are_named() {
    let dir = TempDir::new().unwrap();
    let broken = VALID
        .replace("env:CHECK_TEST_V1_KEY", "env:CHECK_TEST_UNSET_VARIABLE")
        .replace(
            "collection = \"all\"\ntarget = \"ds\"",
            "collection = \"gone\"\ntarget = \"ds\"",
        )
        .replace(
            "path = \"iocsync.db\"",
            "path = \"no-such-folder/iocsync.db\"",
        )
        .replace("min_score = 5", "min_score = 11")
        + "\n[serve]\ntoken = \"env:CHECK_TEST_UNSET_STATUS_TOKEN\"\n";
    let run = check(dir.path(), &broken, false);
    assert_eq!(run.code, 1);
    for expected in [
        "targets[0].api_key: cannot resolve secret `env:CHECK_TEST_UNSET_VARIABLE`",
        "serve.token: cannot resolve secret `env:CHECK_TEST_UNSET_STATUS_TOKEN`",
        "targets[1].api_key: cannot resolve secret `file:ds.key`",
        "collections[0].min_score: 11 is above the maximum score 10",
        "workflows[1].collection: no collection `gone`",
        "library.path: folder",
    ] {
        assert!(run.stdout.contains(expected), "{expected}:\n{}", run.stdout);
    }
}

#[test]
fn unsafe_transport_is_named_by_its_key_path() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let hook = |urls: &str| {
        format!(
            "\n[[targets]]\nname = \"hook\"\nproduct = \"http\"\n{urls}\npayload = '{{}}'\n\
             remove_payload = '{{}}'\n"
        )
    };
    let broken = VALID.replace(
        "https://dsm.example:4119/api",
        "http://dsm.example:4119/api",
    ) + &hook("base_url = \"https://soar.example/add\"\nremove_url = \"http://soar.example/del\"")
        + &hook("base_url = \"https://soar.example/${env:SOAR_TOKEN}\"").replace("\"hook\"", "\"hook2\"")
        + &hook(&format!(
            "base_url = \"https://soar.example/add\"\nproxy = \"http://iocsync:{SECRET}@proxy.example:3128\""
        ))
        .replace("\"hook\"", "\"hook3\"");
    let run = check(dir.path(), &broken, false);
    assert_eq!(run.code, 1, "{}", run.stdout);
    for expected in [
        "targets[1].base_url: plain http:// to a non-loopback host sends the API key in clear \
         text; use https:// or set allow_plain_http = true",
        "targets[2].remove_url: plain http:// to a non-loopback host",
        "targets[3].base_url: secret references (`${env:…}`, `${file:…}`, `env:`, `file:`) are \
         not expanded in URLs",
        "targets[4].proxy: a password in the proxy URL",
    ] {
        assert!(run.stdout.contains(expected), "{expected}:\n{}", run.stdout);
    }
    // Loopback needs no TLS (the emulator), and a target may opt out explicitly.
    let fine = VALID.replace("https://dsm.example:4119/api", "http://127.0.0.1:4119/api")
        + &hook("base_url = \"http://soar.corp/add\"\nallow_plain_http = true");
    let run = check(dir.path(), &fine, false);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_proxy_password_is_a_reference_that_must_resolve() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let proxied = |password: &str| {
        VALID.replace(
            "region = \"eu\"",
            &format!(
                "region = \"eu\"\nproxy = \"http://iocsync@proxy.example:3128\"\nproxy_password = \"{password}\""
            ),
        )
    };
    assert_eq!(
        keys(dir.path(), &proxied(SECRET)),
        ["targets[0].proxy_password"]
    );
    let run = check(
        dir.path(),
        &proxied("env:CHECK_TEST_UNSET_PROXY_PASSWORD"),
        false,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "targets[0].proxy_password: cannot resolve secret `env:CHECK_TEST_UNSET_PROXY_PASSWORD`"
        ),
        "{}",
        run.stdout
    );
    // The password file exists: valid, and its content is never printed (see `check`).
    std::fs::write(dir.path().join("proxy.pw"), format!("{SECRET}\n")).unwrap();
    let run = check(dir.path(), &proxied("file:proxy.pw"), true);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_webhook_template_that_is_no_json_is_named() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let webhook = "\n[[targets]]\nname = \"hook\"\nproduct = \"http\"\n\
                   base_url = \"https://soar.example/api\"\npayload = '{\"value\": \"$value\"'\n\
                   remove_payload = '[$value]'\n";
    let run = check(dir.path(), &format!("{VALID}{webhook}"), false);
    assert_eq!(run.code, 1);
    for key in ["payload", "remove_payload"] {
        assert!(
            run.stdout.contains(&format!(
                "targets[2].{key}: payload template is not valid JSON"
            )),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_collection_saved_in_the_library_counts() {
    let dir = TempDir::new().unwrap();
    with_key_file(&dir);
    let config = VALID.replace(
        "collection = \"all\"\ntarget = \"ds\"",
        "collection = \"saved\"\ntarget = \"ds\"",
    );
    assert_eq!(keys(dir.path(), &config), ["workflows[1].collection"]);
    let mut library = store::Library::open(dir.path().join("iocsync.db")).unwrap();
    let saved: store::Collection = toml::from_str("name = \"saved\"").unwrap();
    library.save_collection(&saved, false).unwrap();
    drop(library);
    assert_eq!(check(dir.path(), &config, false).code, 0);
}

#[test]
fn syntax_errors_and_unreadable_files_are_reported() {
    let dir = TempDir::new().unwrap();
    let run = check(
        dir.path(),
        "[library]\npath = \"x.db\"\n[[targets]\n",
        false,
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("line 3, column"), "{}", run.stdout);
    let output = Command::cargo_bin("iocsync")
        .unwrap()
        .current_dir(dir.path())
        .args(["--config", "missing.toml", "config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("cannot read missing.toml")
    );
}
