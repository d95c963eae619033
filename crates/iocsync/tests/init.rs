//! `iocsync init` through the real binary: it writes the example config, never overwrites
//! without `--force`, and what it writes passes `iocsync config check` once the secrets it
//! names exist.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn iocsync(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("iocsync").unwrap();
    command.current_dir(dir).env_remove("IOCSYNC_CONFIG");
    command
}

/// The environment variables the file's `env:NAME` and `${env:NAME}` references name.
fn env_references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("env:") {
            rest = &rest[at + 4..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names
}

#[test]
fn init_writes_the_example_and_it_passes_config_check() {
    let dir = TempDir::new().unwrap();
    let out = iocsync(dir.path()).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(dir.path().join("iocsync.toml")).unwrap();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/iocsync.toml"),
    )
    .unwrap();
    assert_eq!(written, example);
    // The example's own text is the subject here: the sections are looked for as written.
    for section in [
        "[[targets]]",
        "[[collections]]",
        "[guard]",
        "[[workflows]]",
        "[[triggers]]",
    ] {
        assert!(written.contains(section), "{section}");
    }

    // Without its secrets the file is refused, naming each one.
    let names = env_references(&written);
    assert!(names.len() >= 4, "{names:?}");
    let mut check = iocsync(dir.path());
    for name in &names {
        check.env_remove(name);
    }
    let out = check.args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for name in &names {
        assert!(
            stdout.contains(name.as_str()),
            "{name} not named:\n{stdout}"
        );
    }

    // With them, it is valid.
    let mut check = iocsync(dir.path());
    for name in &names {
        check.env(name, "not-a-real-secret");
    }
    let out = check.args(["config", "check"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(!stdout.contains("not-a-real-secret"));
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "# my own config\n").unwrap();
    let out = iocsync(dir.path())
        .args(["init", "mine.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("mine.toml exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my own config\n");

    let out = iocsync(dir.path())
        .args(["init", "mine.toml", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("[[targets]]")
    );
}

#[test]
fn init_follows_the_config_flag_and_reports_unwritable_paths() {
    let dir = TempDir::new().unwrap();
    let out = iocsync(dir.path())
        .args(["--config", "other.toml", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("other.toml").exists());
    let out = iocsync(dir.path())
        .args(["init", "no/such/folder/iocsync.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot write no/such/folder/iocsync.toml"),
        "{stderr}"
    );
}
