//! Whole files read by [`Config::from_toml`]: every section together, and the key paths of
//! what is refused.

use std::time::Duration;

use store::Class;

use super::*;

const BASE: &str = r#"
[library]
path = "lib.db"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "http://127.0.0.1:1"
api_key = "env:V1_KEY"

[[targets]]
name = "ds"
product = "deep-security"
base_url = "http://127.0.0.1:1/api"
api_key = "file:/run/secrets/ds"
auth_header = "api-secret-key"

[[collections]]
name = "all"
"#;

fn with(extra: &str) -> Result<Config, ConfigError> {
    Config::from_toml(&format!("{BASE}{extra}"))
}

#[test]
fn reads_a_full_file() {
    let config = with(
        r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
schedule = "15m"
parameters = { expiry = "never", risk_level = "high", url_scheme = "both", objects_per_run = 500 }

[[workflows]]
name = "ips"
collection = "all"
target = "ds"
action = "ip-list"
schedule = "0 */6 * * *"
parameters = { list_name = "Blocked", include = ["asset"] }
"#,
    )
    .unwrap();
    let Parameters::Blocklist(p) = &config.workflow("block").unwrap().parameters else {
        panic!("not a blocklist");
    };
    assert_eq!(p.expiry, ExpirySetting::Never);
    assert_eq!(p.url_scheme, UrlScheme::Both);
    assert_eq!(p.objects_per_run, Some(500));
    let Parameters::IpList(p) = &config.workflow("ips").unwrap().parameters else {
        panic!("not an ip list");
    };
    assert_eq!(p.include, vec![Class::Asset]);
    assert!(p.aggregate);
    assert!(matches!(
        config.workflow("ips").unwrap().schedule,
        Some(Schedule::Cron(_))
    ));
}

#[test]
fn feeds_are_read_with_their_modes_credentials_and_the_workflows_that_follow_them() {
    let config = with(
        r#"
[[feeds]]
name = "feodo"
url = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
schedule = "1h"
score = 8
tags = ["c2"]
expire_after = "14d"
headers = { "X-Key" = "env:FEODO_KEY" }

[[feeds]]
name = "intel"
url = "taxii+https://taxii.example/api1/collections/91a7b528/"
format = "taxii"
bearer = "env:TAXII_TOKEN"

[[feeds]]
name = "local"
url = "lists/blocked.txt"
min_ratio = 0.9

[[workflows]]
name = "follow"
collection = "all"
target = "v1"
action = "blocklist"
after = ["feodo"]

[[workflows]]
name = "every"
collection = "all"
target = "v1"
action = "exceptions"
schedule = "after-feeds"
"#,
    )
    .unwrap();
    let feodo = config.feed("feodo").unwrap();
    assert_eq!(feodo.mode, store::FeedMode::Snapshot);
    assert_eq!(feodo.expire_after, Some(Duration::from_secs(14 * 86_400)));
    assert!(matches!(feodo.location, Location::Url(_)));
    let intel = config.feed("intel").unwrap();
    assert_eq!(intel.mode, store::FeedMode::Incremental);
    assert_eq!(intel.auth, FeedAuth::Bearer("env:TAXII_TOKEN".into()));
    assert_eq!(config.feed("local").unwrap().min_ratio, 0.9);
    assert!(config.workflow("follow").unwrap().after.follows("feodo"));
    assert!(!config.workflow("follow").unwrap().after.follows("intel"));
    assert_eq!(config.workflow("every").unwrap().after, After::AnyFeed);
    assert!(config.workflow("every").unwrap().schedule.is_none());
    assert!(
        config
            .feed("nope")
            .unwrap_err()
            .to_string()
            .contains("feodo, intel, local")
    );
}

#[test]
fn bad_feeds_name_their_key() {
    let feed = |extra: &str| {
        with(&format!(
            "[[feeds]]\nname = \"f\"\nurl = \"https://feeds.example/x\"\n{extra}\n"
        ))
        .unwrap_err()
        .to_string()
    };
    assert!(
        feed("headers = { Authorization = \"abc123\" }")
            .starts_with("feeds[0].headers.Authorization: secrets are never written")
    );
    assert!(!feed("headers = { Authorization = \"abc123\" }").contains("abc123"));
    assert!(feed("min_ratio = 2.0").starts_with("feeds[0].min_ratio:"));
    assert!(feed("mode = \"sometimes\"").starts_with("feeds[0].mode:"));
    assert!(feed("colour = 1").contains("colour"));
    assert!(feed("basic_user = \"u\"").starts_with("feeds[0].basic_password:"));
    let url = with("[[feeds]]\nname = \"f\"\nurl = \"https://u:secret@feeds.example/x\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        url.starts_with("feeds[0].url:") && !url.contains("secret@"),
        "{url}"
    );
    let taxii = with("[[feeds]]\nname = \"t\"\nurl = \"taxii+https://h.example/api/collections/1/\"\nmode = \"snapshot\"\n")
        .unwrap_err()
        .to_string();
    assert!(taxii.starts_with("feeds[0].mode:"), "{taxii}");
    let after = with("[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nafter = [\"ghost\"]\n")
        .unwrap_err()
        .to_string();
    assert_eq!(after, "workflows[0].after[0]: no feed `ghost` in [[feeds]]");
    let clear =
        with("[[feeds]]\nname = \"f\"\nurl = \"http://feeds.example/x\"\nbearer = \"env:T\"\n")
            .unwrap_err()
            .to_string();
    assert!(clear.starts_with("feeds[0].url: plain http://"), "{clear}");
    assert!(
        with("[[feeds]]\nname = \"f\"\nurl = \"http://127.0.0.1:8/x\"\nbearer = \"env:T\"\n")
            .is_ok()
    );
    assert!(with("[[feeds]]\nname = \"f\"\nurl = \"http://feeds.example/x\"\n").is_ok());
    let taxii = |host: &str| {
        with(&format!(
            "[[feeds]]\nname = \"t\"\nurl = \"taxii+http://{host}/api/collections/1/\"\nbearer = \"env:T\"\n"
        ))
    };
    assert!(taxii("127.0.0.1:5000").is_ok());
    assert!(
        taxii("taxii.example")
            .unwrap_err()
            .to_string()
            .contains("clear text")
    );
}

#[test]
fn bad_values_name_their_key_path() {
    let flow = |params: &str| {
        with(&format!(
            "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nparameters = {{ {params} }}\n"
        ))
        .unwrap_err()
        .to_string()
    };
    let error = flow("expiry = 5");
    assert_eq!(
        error,
        "workflows[0].parameters.expiry: expected one of 7, 15, 30, 45, 60, 75, 90, \"never\", \"customer\", \"valid-until\""
    );
    assert!(flow("colour = 1").starts_with("workflows[0].parameters.colour:"));
    assert!(flow("scan_action = \"nuke\"").contains("\"block\", \"log\", \"customer\""));
}

#[test]
fn inline_secrets_are_refused_without_echoing_them() {
    let text = BASE.replace("env:V1_KEY", "sk-live-abcdef");
    let error = Config::from_toml(&text).unwrap_err().to_string();
    assert!(error.starts_with("targets[0].api_key:"), "{error}");
    assert!(!error.contains("sk-live-abcdef"), "{error}");
}

#[test]
fn removal_templates_belong_to_http_targets_and_need_a_payload() {
    let http = |keys: &str| {
        with(&format!(
            "[[targets]]\nname = \"hook\"\nproduct = \"http\"\nbase_url = \"http://127.0.0.1:9/add\"\npayload = '{{}}'\n{keys}\n"
        ))
    };
    let config =
        http("remove_url = \"http://127.0.0.1:9/del\"\nremove_payload = '[\"$value\"]'").unwrap();
    let target = config.target("hook").unwrap();
    let crate::Settings::Http(settings) = &target.settings else {
        panic!("an http target reads as {:?}", target.product());
    };
    let template = settings.config(target);
    assert_eq!(template.remove_url.unwrap().path(), "/del");
    assert_eq!(template.remove_payload.as_deref(), Some("[\"$value\"]"));
    let error = http("remove_method = \"DELETE\"").unwrap_err().to_string();
    assert!(error.contains(".remove_payload: is required"), "{error}");
    let error = http("remove_url = \"not a url\"\nremove_payload = '{}'")
        .unwrap_err()
        .to_string();
    assert!(error.contains(".remove_url:"), "{error}");
    let error = BASE.replacen(
        "api_key = \"env:V1_KEY\"",
        "api_key = \"env:V1_KEY\"\nremove_payload = '{}'",
        1,
    );
    let error = Config::from_toml(&error).unwrap_err().to_string();
    assert!(error.contains("apply to http targets only"), "{error}");
}

#[test]
fn the_status_token_is_a_reference_that_must_resolve() {
    let open = with("").unwrap();
    assert!(open.serve.resolve_token().unwrap().is_none());
    let error = with("[serve]\ntoken = \"hunter2\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("serve.token:"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    let missing = with("[serve]\ntoken = \"env:IOCSYNC_TEST_NO_SUCH_VARIABLE\"\n").unwrap();
    let error = missing.serve.resolve_token().unwrap_err().to_string();
    assert!(error.starts_with("serve.token:"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "s3cret\n").unwrap();
    let text = format!("[serve]\ntoken = \"file:{}\"\n", file.display());
    let token = with(&text).unwrap().serve.resolve_token().unwrap().unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "s3cret");
    assert!(with("[serve]\nlisten = \"0.0.0.0:1\"\n").is_err());
}

#[test]
fn unknown_fields_and_wrong_products_are_refused() {
    assert!(with("[oops]\n").is_err());
    let error = with(
        "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"ds\"\naction = \"blocklist\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("workflows[0].action:"), "{error}");
    let error = with(
        "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"nope\"\naction = \"blocklist\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("workflows[0].target:"), "{error}");
}

/// The key paths of every error [`Config::check`] reports.
fn keys(text: &str) -> Vec<String> {
    Config::check(text)
        .unwrap_err()
        .into_vec()
        .into_iter()
        .map(|error| match error {
            ConfigError::Invalid { key, .. } => key,
            other => format!("({other})"),
        })
        .collect()
}

const TARGET: &str = "[[targets]]\nname = \"v1\"\nproduct = \"vision-one\"\nbase_url = \"http://127.0.0.1:1\"\napi_key = \"env:K\"\n";

#[test]
fn every_bad_entry_and_key_is_named() {
    let text = format!(
        "[library]\npath = \"x.db\"\ncolour = 1\n{TARGET}{}colour = 2\n\
         [[workflows]]\nname = \"w\"\ncollection = \"c\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
         parameters = {{ expiry = 5, flavour = 1 }}\n\
         [[workflows]]\nname = \"w2\"\ncollection = \"c\"\ntarget = \"v1\"\naction = \"nuke\"\n",
        TARGET.replace("\"v1\"", "\"v2\"")
    );
    assert_eq!(
        keys(&text),
        [
            "library.colour",
            "targets[1].colour",
            "workflows[0].parameters.expiry",
            "workflows[0].parameters.flavour",
            "workflows[1].action",
        ]
    );
    // One error reads as itself; several, one a line.
    let several = Config::from_toml(&text).unwrap_err().to_string();
    assert_eq!(several.lines().count(), 5, "{several}");
    assert!(
        several.starts_with("library.colour: unknown field `colour`"),
        "{several}"
    );
}

#[test]
fn missing_fields_name_their_entry_once() {
    assert_eq!(
        keys("[library]\npath = \"x\"\n[[targets]]\nproduct = \"vision-one\"\n"),
        ["targets[0]"]
    );
    assert_eq!(keys("[[collections]]\nname = \"c\"\n"), ["library"]);
}

#[test]
fn an_error_in_one_entry_hides_nothing_after_it() {
    let text = format!(
        "[library]\npath = \"x.db\"\n{TARGET}region = \"us\"\ncolour = 1\n{}\n\
         [[feeds]]\nname = \"f\"\nurl = \"https://u:pw@feeds.example/x\"\n\
         [[feeds]]\nname = \"f\"\nurl = \"x.txt\"\nmin_ratio = 3\n\
         [[triggers]]\nname = \"t\"\ntarget = \"v1\"\naction = \"blocklist\"\ntoken = \"env:T\"\nvalues = [\"$X\"]\n\
         [[workflows]]\nname = \"w\"\ncollection = \"c\"\ntarget = \"v3\"\naction = \"blocklist\"\nafter = [\"f\", \"g\"]\n",
        TARGET
            .replace("\"v1\"", "\"v3\"")
            .replace("env:K", "plain-key")
    );
    assert_eq!(
        keys(&text),
        [
            // The trigger and the workflow name broken targets: they wait for those fixes.
            "targets[0].colour",
            "targets[1].api_key",
            "feeds[0].url",
            "feeds[1].min_ratio",
            "feeds[1].name",
        ]
    );
}

#[test]
fn a_key_of_another_product_says_which() {
    let text = TARGET.replace("api_key", "auth_header = \"authorization\"\napi_key");
    let errors = Config::check(&format!("[library]\npath = \"x.db\"\n{text}"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        errors,
        "targets[0].auth_header: vision-one targets take no `auth_header`: it and the keys like it apply to deep-security targets only"
    );
}

#[test]
fn every_bad_key_of_a_feed_and_a_trigger_is_named() {
    let text = format!(
        "[library]\npath = \"x.db\"\n{TARGET}\
         [[feeds]]\nname = \"f\"\nurl = \"https://feeds.example/x\"\nscore = 11\nmin_ratio = 2.0\nbearer = \"abc\"\n\
         [[triggers]]\nname = \"t t\"\ntarget = \"v1\"\naction = \"blocklist\"\ntoken = \"env:T\"\n\
         max_body = 0\nvalues = [\"$X\", \"x\"]\n"
    );
    assert_eq!(
        keys(&text),
        [
            "feeds[0].score",
            "feeds[0].bearer",
            "feeds[0].min_ratio",
            "triggers[0].name",
            "triggers[0].max_body",
            "triggers[0].values[0]",
            "triggers[0].values[1]",
        ]
    );
}

/// Every leaf of a document, by key path.
fn leaves(value: &toml::Value, path: String, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                leaves(inner, read::join(&path, key), out);
            }
        }
        toml::Value::Array(items)
            if !items.is_empty() && items.iter().all(toml::Value::is_table) =>
        {
            for (i, inner) in items.iter().enumerate() {
                leaves(inner, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(path),
    }
}

/// The value at a key path (`targets[0].headers.X`, `values[1]`), if the path names one.
fn lookup<'a>(mut value: &'a toml::Value, path: &str) -> Option<&'a toml::Value> {
    for part in path.split('.') {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        value = value.get(name)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            value = value.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(value)
}

fn any_value() -> impl proptest::strategy::Strategy<Value = toml::Value> {
    use proptest::prelude::*;
    prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        "[ -~]{0,12}".prop_map(toml::Value::String),
        prop::collection::vec("[a-z]{0,5}".prop_map(toml::Value::String), 0..3)
            .prop_map(toml::Value::Array),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any one value of the example file replaced by any other: no panic, and every key path
    /// reported names something in the file (or the whole file).
    #[test]
    fn reported_key_paths_exist_in_the_file(
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        new in any_value(),
    ) {
        let mut doc: toml::Value =
            toml::from_str(include_str!("../../../examples/iocsync.toml")).unwrap();
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        let path = pick.get(&paths).clone();
        let (parent, last) = path.rsplit_once('.').unwrap_or(("", &path));
        let table = if parent.is_empty() { Some(&mut doc) } else { lookup_mut(&mut doc, parent) };
        if let Some(toml::Value::Table(table)) = table {
            table.insert(last.to_owned(), new);
        }
        let text = toml::to_string(&doc).unwrap();
        if let Err(errors) = Config::check(&text) {
            for error in errors.into_vec() {
                if let ConfigError::Invalid { key, .. } = &error {
                    proptest::prop_assert!(
                        key.is_empty() || lookup(&doc, key).is_some(),
                        "{error} names nothing (changed {path})"
                    );
                }
            }
        }
    }
}

fn lookup_mut<'a>(mut value: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Value> {
    for part in path.split('.') {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        value = value.get_mut(name)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            value = value.get_mut(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(value)
}

#[test]
fn an_apex_central_target_takes_its_keys_and_the_udso_action_only() {
    let apex = |keys: &str| {
        with(&format!(
            "[[targets]]\nname = \"apex\"\nproduct = \"apex-central\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"env:APEX\"\n{keys}\n"
        ))
    };
    let config = apex("application_id = \"APP-1\"").unwrap();
    let target = config.target("apex").unwrap();
    assert_eq!(target.product(), Product::ApexCentral);
    assert_eq!(target.key_ref(), Some("env:APEX"));

    let error = apex("").unwrap_err().to_string();
    assert!(
        error.contains("targets[2].application_id: is required"),
        "{error}"
    );
    let error = apex("application_id = \"APP-1\"\nauth_header = \"api-secret-key\"")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("apply to deep-security targets only"),
        "{error}"
    );

    let error = with(
        "[[workflows]]\nname = \"u\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"udso\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("workflows[0].action: action Udso does not apply to target `v1`"),
        "{error}"
    );
    let flow = "[[workflows]]\nname = \"u\"\ncollection = \"all\"\ntarget = \"apex\"\naction = \"udso\"\nparameters = { scan_action = \"quarantine\" }\n";
    let error = apex(&format!("application_id = \"APP-1\"\n{flow}"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("workflows[0].parameters.scan_action: expected one of \"block\", \"log\""),
        "{error}"
    );
}

#[test]
fn taxii_collections_need_readers_with_password_references() {
    let config = with(
        "[taxii]\n[[taxii.collections]]\nname = \"feed\"\ncollection = \"all\"\nreaders = [{ user = \"v1\", password = \"env:TAXII\" }]\n",
    )
    .unwrap();
    assert_eq!(config.taxii.title, "iocsync");
    let served = &config.taxii.collections[0];
    assert!(served.guard, "the guard is on unless turned off");
    assert_eq!(served.readers[0].user, "v1");

    let error = with(
        "[taxii]\n[[taxii.collections]]\nname = \"feed\"\ncollection = \"all\"\n[[taxii.collections]]\nname = \"feed\"\ncollection = \"all\"\nreaders = [{ user = \"a:b\", password = \"hunter2\" }]\n",
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "taxii.collections[0].readers: name at least one reader",
        "taxii.collections[1].name: `feed` is served twice",
        "taxii.collections[1].readers[0].user: must be a non-empty name without `:`",
        "taxii.collections[1].readers[0].password:",
    ] {
        assert!(error.contains(expected), "{expected} in {error}");
    }
    assert!(!error.contains("hunter2"), "{error}");
}
