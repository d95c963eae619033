//! `iocsync completions SHELL` through the real binary: a script for every shell, naming the
//! subcommands, and a usage error for an unknown shell.

use assert_cmd::Command;

fn completions(shell: &str) -> (i32, String) {
    let output = Command::cargo_bin("iocsync")
        .unwrap()
        .args(["completions", shell])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn every_shell_gets_a_script_that_knows_the_commands() {
    let markers = [
        ("bash", "complete -F"),
        ("zsh", "#compdef iocsync"),
        ("fish", "complete -c iocsync"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[iocsync]"),
    ];
    for (shell, marker) in markers {
        let (code, script) = completions(shell);
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains(marker), "{shell}: no `{marker}`");
        for command in ["quickstart", "import", "serve", "completions"] {
            assert!(script.contains(command), "{shell}: no `{command}`");
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = Command::cargo_bin("iocsync")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("bash") && stderr.contains("zsh"),
        "{stderr}"
    );
}
