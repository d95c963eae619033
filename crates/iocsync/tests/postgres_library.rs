//! The real binary on a PostgreSQL library (`[library] url`): import, collections and runs
//! work as on a file; the commands that act on targets refuse it cleanly in this version and
//! write nothing (a colleague's object on the list stays the only one); a database without a
//! library is refused rather than taken for an empty one. Skipped, saying
//! why, when PostgreSQL is absent here; CI requires it (`IOCSYNC_REQUIRE_POSTGRES=1`).

mod support;

use std::path::Path;

use support::{KEY, emulator, iocsync, key_ref, run_expecting, suspicious};
use testkit::ConfigBuilder;
use testkit::postgres::TestDatabase;

/// A Vision One target on `base_url`, collection `all` kept by workflow `block`, in a library
/// at `url`.
fn write_config(dir: &Path, url: &str, base_url: &str) {
    let rest = ConfigBuilder::fragment()
        .vision_one("v1", base_url, &key_ref(dir))
        .set("batch_size", 10)
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .toml();
    let text = format!("[library]\nurl = {url:?}\n\n{rest}");
    std::fs::write(dir.join("iocsync.toml"), text).unwrap();
}

fn feed(dir: &Path, n: u32) -> String {
    let path = dir.join("feed.txt");
    let lines: Vec<String> = (0..n).map(|i| format!("evil{i}.example.com")).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_string_lossy().into_owned()
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

// A plain test with a runtime of its own: the synchronous PostgreSQL client (the test
// database, the check at the end) must not run on an async worker thread.
#[test]
fn import_collections_and_runs_on_a_postgres_library_and_target_commands_refuse_it() {
    let Some(db) = testkit::postgres::database() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emu = runtime.block_on(emulator());
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), db.url(), &emu.base_url());
    // A colleague's object on the list, not iocsync's.
    let added = runtime
        .block_on(
            reqwest::Client::new()
                .post(format!("{}/v3.0/threatintel/suspiciousObjects", emu.base_url()))
                .bearer_auth(KEY)
                .json(&serde_json::json!([{"domain": "colleague.example.org", "description": "an analyst's"}]))
                .send(),
        )
        .unwrap();
    assert_eq!(added.status(), 207);

    // A database without a library is not taken for an empty one by a read.
    let refused = iocsync(dir.path()).args(["runs"]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("no library in the PostgreSQL database"),
        "{said}"
    );

    let file = feed(dir.path(), 25);
    let imported = run_expecting(dir.path(), &["import", &file, "--score", "8", "--json"], 0);
    assert_eq!(json(&imported)["new"], 25, "{}", json(&imported));
    let runs = json(&run_expecting(dir.path(), &["runs", "--json"], 0));
    assert_eq!(runs.as_array().unwrap().len(), 0, "{runs}");

    // Commands that act on targets refuse the library cleanly, and write nothing.
    for command in [["plan", "block"], ["run", "block"]] {
        let refused = iocsync(dir.path()).args(command).output().unwrap();
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && said.contains("library.url"),
            "{said}"
        );
    }
    let on_list = suspicious(&emu.emulator().snapshot());
    assert_eq!(on_list, vec!["colleague.example.org".to_owned()]);

    // The same library seen through `--library URL`, as a cron job would.
    let count = run_expecting(
        dir.path(),
        &[
            "collections",
            "show",
            "all",
            "--json",
            "--library",
            db.url(),
        ],
        0,
    );
    assert_eq!(String::from_utf8_lossy(&count.stdout).lines().count(), 25);
    assert_still_there(&db);
}

/// The test database outlives the binary's connections (nothing dropped it).
fn assert_still_there(db: &TestDatabase) {
    let library = store::Library::connect(db.url()).unwrap();
    assert_eq!(library.count().unwrap(), 25);
}
