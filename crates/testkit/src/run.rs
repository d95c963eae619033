//! [`Test`]: the `iocsync` binary run over a config in a folder, in the style of just's
//! `tests/test.rs`.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use crate::ConfigBuilder;

/// One run of `iocsync --config <dir>/iocsync.toml ARGS` in `dir`, and what it must give:
/// exit status 0 unless [`status`](Self::status) says otherwise, and exactly the
/// [`stdout`](Self::stdout) and [`stderr`](Self::stderr) given (each checked only when given).
/// [`run`](Self::run) panics on a difference, showing the command and both streams.
///
/// ```ignore
/// let out = Test::in_dir(dir).args(["plan", "block", "--json"]).run();
/// Test::in_dir(dir).args(["run", "nope"]).status(1).stderr("error: ...\n").run();
/// ```
#[must_use]
pub struct Test {
    dir: PathBuf,
    /// The folder [`Test::new`] made, removed when the test is done with it.
    tempdir: Option<TempDir>,
    config: bool,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    open_files: Option<u32>,
    stdin: Option<Vec<u8>>,
    status: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

impl Test {
    /// A run in a fresh temporary folder (see [`dir`](Self::dir)), kept until the `Test` and
    /// what [`finish`](Self::finish) returns are dropped.
    pub fn new() -> Test {
        let tempdir = tempfile::tempdir().expect("a temporary directory");
        let mut test = Test::in_dir(tempdir.path());
        test.tempdir = Some(tempdir);
        test
    }

    /// A run in `dir`, over `dir/iocsync.toml`.
    pub fn in_dir(dir: &Path) -> Test {
        Test {
            dir: dir.to_owned(),
            tempdir: None,
            config: true,
            args: Vec::new(),
            env: Vec::new(),
            open_files: None,
            stdin: None,
            status: 0,
            stdout: None,
            stderr: None,
        }
    }

    /// The folder the command runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `config` to the folder's `iocsync.toml`.
    pub fn config(self, config: &ConfigBuilder) -> Test {
        config.write(&self.dir);
        self
    }

    /// No `--config` flag: the command finds its config as a user's would (and the
    /// environment's `IOCSYNC_CONFIG` is removed).
    pub fn no_config_flag(mut self) -> Test {
        self.config = false;
        self.env_remove("IOCSYNC_CONFIG")
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        let value = Some(value.as_ref().to_owned());
        self.env.push((key.as_ref().to_owned(), value));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Test {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Runs the binary by `sh` after `ulimit -n open_files`: a process that may hold only that
    /// many file descriptors.
    pub fn open_files(mut self, open_files: u32) -> Test {
        self.open_files = Some(open_files);
        self
    }

    /// What the command reads on stdin (nothing, a closed stdin, when not given).
    pub fn stdin(mut self, stdin: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(stdin.into());
        self
    }

    /// The exit status the command must end with (0 when not given).
    pub fn status(mut self, status: i32) -> Test {
        self.status = status;
        self
    }

    /// Exactly what the command must print on stdout.
    pub fn stdout(mut self, stdout: impl Into<String>) -> Test {
        self.stdout = Some(stdout.into());
        self
    }

    /// Exactly what the command must print on stderr.
    pub fn stderr(mut self, stderr: impl Into<String>) -> Test {
        self.stderr = Some(stderr.into());
        self
    }

    /// The command, not yet run (to spawn it and talk to it while it runs). Stdin, stdout
    /// and stderr are left to the caller.
    pub fn command(&self) -> Command {
        let binary = assert_cmd::cargo::cargo_bin("iocsync");
        let mut command = match self.open_files {
            None => Command::new(binary),
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$@\""))
                    .arg("sh")
                    .arg(binary);
                sh
            }
        };
        command.current_dir(&self.dir);
        if self.config {
            command.arg("--config").arg(self.dir.join("iocsync.toml"));
        }
        command.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Runs the command to its end and checks it; returns what it printed.
    pub fn run(self) -> Output {
        self.finish().1
    }

    /// [`run`](Self::run), also returning the folder [`Test::new`] made (`None` for
    /// [`in_dir`](Self::in_dir)) for a look at what the command left there.
    pub fn finish(self) -> (Option<TempDir>, Output) {
        let mut command = self.command();
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("iocsync starts");
        if let Some(input) = self.stdin.clone() {
            let mut writer = child.stdin.take().expect("a piped stdin");
            // A thread: the command may print more than a pipe holds before it reads it all.
            std::thread::spawn(move || {
                let _ = writer.write_all(&input);
            });
        }
        let output = child.wait_with_output().expect("iocsync ends");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = self
            .args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>();
        assert_eq!(
            output.status.code(),
            Some(self.status),
            "iocsync {shown:?}\nstdout: {stdout}\nstderr: {stderr}",
        );
        if let Some(expected) = &self.stdout {
            assert_eq!(
                &stdout, expected,
                "stdout of iocsync {shown:?}\nstderr: {stderr}"
            );
        }
        if let Some(expected) = &self.stderr {
            assert_eq!(
                &stderr, expected,
                "stderr of iocsync {shown:?}\nstdout: {stdout}"
            );
        }
        (self.tempdir, output)
    }
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}
