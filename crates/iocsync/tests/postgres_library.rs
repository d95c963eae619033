//! The real binary on a PostgreSQL library (`[library] url`): import, collections, plan, run
//! and runs work as on a file (the engine calls the library from async code), leaving a
//! colleague's object on the list alone and finding nothing to do on a second run; a database
//! without a library is refused rather than taken for an empty one; `library copy` moves a
//! file library there and back. Skipped, saying why, when
//! PostgreSQL is absent here; CI requires it (`IOCSYNC_REQUIRE_POSTGRES=1`).

mod support;

use std::path::Path;

use support::{KEY, OnPostgres, iocsync, key_ref, on_postgres, run_expecting, suspicious};
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
fn import_plan_run_and_runs_on_a_postgres_library() {
    let Some(OnPostgres {
        db,
        runtime,
        emu,
        dir,
    }) = on_postgres()
    else {
        return;
    };
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

    // The engine drives the library from async code: plan and run work on it as on a file.
    let plan = json(&run_expecting(dir.path(), &["plan", "block", "--json"], 0));
    assert_eq!(plan["adds"].as_array().unwrap().len(), 25, "{plan}");
    let report = json(&run_expecting(dir.path(), &["run", "block", "--json"], 0));
    assert_eq!(report["added"], 25, "{report}");
    let on_list = suspicious(&emu.emulator().snapshot());
    assert_eq!(on_list.len(), 26, "{on_list:?}");
    assert!(
        on_list.contains(&"colleague.example.org".to_owned()),
        "{on_list:?}"
    );
    // The ledger the first run wrote is read back: nothing left to do.
    let again = json(&run_expecting(dir.path(), &["run", "block", "--json"], 0));
    assert_eq!(again["added"], 0, "{again}");
    assert_eq!(again["removed"], 0, "{again}");
    let runs = json(&run_expecting(dir.path(), &["runs", "--json"], 0));
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");

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

/// A SQLite library with a run behind it, moved to PostgreSQL with `library copy` (as a team
/// does before running several daemons): the copy knows what was pushed (a run on it finds
/// nothing to do), lists the same runs and members, refuses a second copy into the same
/// database, and copies back to a new file the same.
#[test]
fn library_copy_moves_a_file_library_to_postgres_and_back() {
    // The runtime serves the emulator: kept until the end.
    let Some(OnPostgres {
        db,
        runtime: _runtime,
        emu,
        dir,
    }) = on_postgres()
    else {
        return;
    };
    let rest = ConfigBuilder::fragment()
        .vision_one("v1", &emu.base_url(), &key_ref(dir.path()))
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .toml();
    let file = dir.path().join("library.db");
    let on_file = format!(
        "[library]\npath = {:?}\n\n{rest}",
        file.display().to_string()
    );
    std::fs::write(dir.path().join("iocsync.toml"), on_file).unwrap();
    let values = feed(dir.path(), 25);
    run_expecting(dir.path(), &["import", &values, "--score", "8"], 0);
    let first = json(&run_expecting(dir.path(), &["run", "block", "--json"], 0));
    assert_eq!(first["added"], 25, "{first}");
    let runs_before = json(&run_expecting(dir.path(), &["runs", "--json"], 0));

    let copied = json(&run_expecting(
        dir.path(),
        &["library", "copy", "--to", db.url(), "--json"],
        0,
    ));
    // `tables`: [name, rows] pairs in copy order.
    let rows = |table: &str| {
        let pairs = copied["tables"].as_array().unwrap();
        pairs.iter().find(|pair| pair[0] == table).unwrap()[1].clone()
    };
    assert_eq!(rows("indicators"), 25, "{copied}");
    assert_eq!(rows("ledger"), 25, "{copied}");
    assert_eq!(rows("runs"), 1, "{copied}");

    // The config moved to the copy: it knows what was pushed.
    write_config(dir.path(), db.url(), &emu.base_url());
    assert_eq!(
        json(&run_expecting(dir.path(), &["runs", "--json"], 0)),
        runs_before
    );
    let again = json(&run_expecting(dir.path(), &["run", "block", "--json"], 0));
    assert_eq!(
        (again["added"].clone(), again["removed"].clone()),
        (0.into(), 0.into()),
        "{again}"
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 25);

    // A second copy into a database that holds a library is refused.
    let refused = iocsync(dir.path())
        .args([
            "library",
            "copy",
            "--library",
            &file.display().to_string(),
            "--to",
            db.url(),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("not empty"),
        "{said}"
    );

    // And back to a new file: the same members.
    let back = dir.path().join("back.db");
    let back = back.display().to_string();
    run_expecting(dir.path(), &["library", "copy", "--to", &back], 0);
    let show = |library: &str| {
        let shown = run_expecting(
            dir.path(),
            &["collections", "show", "all", "--json", "--library", library],
            0,
        );
        String::from_utf8_lossy(&shown.stdout).into_owned()
    };
    assert_eq!(show(&back), show(db.url()));
    assert_eq!(show(&back).lines().count(), 25);
}
