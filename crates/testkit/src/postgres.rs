//! Throwaway PostgreSQL databases for tests: [`database()`] gives each test a fresh, uniquely
//! named database and drops it when the returned [`TestDatabase`] goes.
//!
//! Where the databases live:
//! - on the server `IOCSYNC_TEST_POSTGRES_URL` names (a libpq URL or key-value string whose
//!   user may create databases), when that variable is set;
//! - else on one cluster per test process, in a temporary folder (a copy of a data folder
//!   `initdb` made once, kept in the temporary folder as `iocsync-testkit-initdb-*`),
//!   listening on a unix socket in that folder and, where `openssl` can make certificates,
//!   with TLS on a free loopback port ([`TestDatabase::tls`]). The binaries are found through `pg_config --bindir`, then
//!   `/usr/lib/postgresql/<version>/bin` (or `IOCSYNC_TEST_POSTGRES_BINDIR`). As root
//!   (initdb and postgres refuse root) they run as the `postgres` user through `runuser`, the
//!   folder chowned to it.
//!
//! The cluster is stopped when the test process ends, however it ends: a small guardian
//! shell started with the cluster reads a pipe whose only writer is the test process, and
//! when the kernel closes that pipe (exit, panic, abort, kill) it stops the cluster
//! (`pg_ctl stop -m immediate`) and removes its folder. Nothing is left running after
//! `cargo test`.
//!
//! Without PostgreSQL the tests that asked for a database are skipped: [`database()`] returns
//! `None` and says so on stderr, unless `IOCSYNC_REQUIRE_POSTGRES=1`, where it panics with the
//! same reason (CI that must run them sets it).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The variable naming an existing server to create the test databases on.
pub const URL_VAR: &str = "IOCSYNC_TEST_POSTGRES_URL";
/// The variable that turns a skip (no PostgreSQL) into a failure.
pub const REQUIRE_VAR: &str = "IOCSYNC_REQUIRE_POSTGRES";
/// The variable naming the folder of `initdb` and `pg_ctl`, over the usual search (a folder
/// without them means no PostgreSQL: how the skip itself is tested).
pub const BINDIR_VAR: &str = "IOCSYNC_TEST_POSTGRES_BINDIR";

/// Why no PostgreSQL database can be had here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// A fresh database, dropped (with its connections ended) when this goes.
pub struct TestDatabase {
    name: String,
    url: String,
    admin: String,
    tls: Option<TlsAccess>,
}

/// How the throwaway cluster is reached over TLS: TCP on loopback, a server certificate for
/// `localhost` and `127.0.0.1` signed by a CA made for the cluster.
#[derive(Debug, Clone)]
struct TlsAccess {
    port: u16,
    ca_file: PathBuf,
}

impl TestDatabase {
    /// The connection string of this database (key-value form for the throwaway cluster,
    /// the form of `IOCSYNC_TEST_POSTGRES_URL` for a given server).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A key-value connection string to this database over TCP on `host` (`localhost` or
    /// `127.0.0.1`), where the server offers TLS, without an `sslmode`; and the PEM file of the
    /// CA that signed the server's certificate. `None` on a server given by
    /// `IOCSYNC_TEST_POSTGRES_URL`, or where no `openssl` made the certificates.
    pub fn tls(&self, host: &str) -> Option<(String, PathBuf)> {
        self.tls.as_ref().map(|tls| {
            (
                format!(
                    "host={host} port={} user=postgres dbname={}",
                    tls.port, self.name
                ),
                tls.ca_file.clone(),
            )
        })
    }

    /// A connection string for the same server with the database `name` (made with
    /// [`create_database`](Self::create_database) or by the test).
    pub fn url_of(&self, name: &str) -> String {
        with_dbname(&self.admin, name)
    }

    /// Runs `sql` as the server's admin (connected to the admin's own database): to change
    /// this database from outside, say to stop it taking connections.
    pub fn admin(&self, sql: &str) {
        admin_execute(&self.admin, sql).unwrap_or_else(|e| panic!("cannot run `{sql}`: {e}"));
    }

    /// Creates another empty database on the same server, named after this one plus
    /// `suffix`; it is dropped with this one. Returns its connection string.
    pub fn create_database(&self, suffix: &str) -> String {
        let name = format!("{}_{suffix}", self.name);
        admin_execute(&self.admin, &format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        self.url_of(&name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The extra databases of `create_database` first, then this one. FORCE ends the
        // connections a failed test may have left open.
        let like = format!("{}\\_%", self.name.replace('_', "\\_"));
        let extra: Vec<String> = postgres::Client::connect(&self.admin, postgres::NoTls)
            .and_then(|mut c| {
                c.query(
                    "SELECT datname FROM pg_database WHERE datname LIKE $1",
                    &[&like],
                )
            })
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default();
        for name in extra.iter().chain(std::iter::once(&self.name)) {
            if let Err(e) = admin_execute(
                &self.admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            ) {
                let _ = writeln!(
                    std::io::stderr(),
                    "testkit: could not drop test database {name}: {e}"
                );
            }
        }
    }
}

/// A fresh database, or `None` when PostgreSQL cannot be had here (the reason is printed
/// once per process on stderr). Panics instead of skipping when `IOCSYNC_REQUIRE_POSTGRES=1`,
/// and when PostgreSQL is there but the database cannot be made (a real failure).
pub fn database() -> Option<TestDatabase> {
    match try_database() {
        Ok(db) => Some(db),
        Err(why) => {
            if required() {
                panic!("PostgreSQL tests cannot run: {why} ({REQUIRE_VAR}=1 requires them)");
            }
            let line = format!("skipped: {why}");
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                // Straight to stderr, past the test harness's capture, once per process.
                let _ = writeln!(std::io::stderr(), "testkit: PostgreSQL tests {line}");
            });
            eprintln!("{line}");
            None
        }
    }
}

/// Whether `IOCSYNC_REQUIRE_POSTGRES` asks for PostgreSQL tests to fail rather than skip.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// A fresh database, or why there is none. Panics when PostgreSQL is there but fails.
pub fn try_database() -> Result<TestDatabase, Unavailable> {
    let (admin, tls) = server()?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000_000);
    let name = format!(
        "iocsync_test_{}_{stamp}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    admin_execute(&admin, &format!("CREATE DATABASE \"{name}\""))
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    Ok(TestDatabase {
        url: with_dbname(&admin, &name),
        name,
        admin,
        tls,
    })
}

fn admin_execute(admin: &str, sql: &str) -> Result<(), postgres::Error> {
    let mut client = postgres::Client::connect(admin, postgres::NoTls)?;
    client.batch_execute(sql)
}

/// The admin connection string of the server: the given one, or the throwaway cluster's
/// (started on first use), with the cluster's TLS access.
fn server() -> Result<(String, Option<TlsAccess>), Unavailable> {
    if let Ok(url) = std::env::var(URL_VAR)
        && !url.trim().is_empty()
    {
        return Ok((url, None));
    }
    static CLUSTER: OnceLock<Result<Cluster, Unavailable>> = OnceLock::new();
    CLUSTER
        .get_or_init(Cluster::start)
        .as_ref()
        .map(|c| (c.admin_url(), c.tls.clone()))
        .map_err(Clone::clone)
}

/// `conn` (URL or key-value) with its database replaced by `name`.
fn with_dbname(conn: &str, name: &str) -> String {
    for scheme in ["postgresql://", "postgres://"] {
        if let Some(rest) = conn.strip_prefix(scheme) {
            let (main, query) = match rest.split_once('?') {
                Some((main, query)) => (main, Some(query)),
                None => (rest, None),
            };
            let authority = main.split_once('/').map_or(main, |(a, _)| a);
            let mut out = format!("{scheme}{authority}/{name}");
            if let Some(query) = query {
                out.push('?');
                out.push_str(query);
            }
            return out;
        }
    }
    // Key-value form: a later key wins.
    format!("{conn} dbname={name}")
}

/// The throwaway cluster of this test process.
struct Cluster {
    dir: PathBuf,
    port: u16,
    tls: Option<TlsAccess>,
    /// The write end of the guardian's pipe: held until the process ends, never written.
    _guardian: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Cluster {
    fn admin_url(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.display(),
            self.port
        )
    }

    fn start() -> Result<Cluster, Unavailable> {
        let bindir = bindir().ok_or_else(|| {
            Unavailable(format!(
                "PostgreSQL not found (install postgresql, or set {URL_VAR} to a server's URL)"
            ))
        })?;
        let as_root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("iocsync-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot make the cluster's folder: {e}"))
            .keep();
        let fail = |what: &str, detail: String| -> ! {
            let _ = std::fs::remove_dir_all(&dir);
            panic!("cannot start a throwaway PostgreSQL cluster: {what}: {detail}")
        };
        if as_root {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))
                .unwrap_or_else(|e| fail("chown to the postgres user", e));
        }
        let data = dir.join("data");
        let tool = |name: &str| -> Command {
            let program = bindir.join(name);
            let mut cmd = if as_root {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "postgres", "--"]).arg(program);
                cmd
            } else {
                Command::new(program)
            };
            cmd.current_dir(&dir);
            cmd
        };
        // The guardian first, so even a failure below leaves nothing behind.
        let stop = tool("pg_ctl");
        let guardian = spawn_guardian(&dir, &data, &stop)
            .unwrap_or_else(|e| fail("start the guardian", e.to_string()));
        // A copy of a data folder initdb made once for this PostgreSQL (and user), kept in the
        // temporary folder: initdb is most of a cluster's start, and each test binary starts one.
        let template =
            initdb_template(&bindir, as_root, &tool).unwrap_or_else(|e| fail("initdb", e));
        run(Command::new("cp").arg("-a").arg(&template).arg(&data))
            .unwrap_or_else(|e| fail("copy the initdb template", e));
        // Durability off (the data is thrown away), a unix socket in the folder, room for the
        // tests' parallel connections; and TLS on loopback when openssl can make certificates.
        let port = free_port().unwrap_or(5432);
        let tls = make_certificates(&dir, as_root).map(|ca_file| TlsAccess { port, ca_file });
        let mut options = format!(
            "-p {port} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB",
            dir.display()
        );
        if tls.is_some() {
            options.push_str(&format!(
                " -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} \
                 -c ssl_key_file={}",
                dir.join("server.crt").display(),
                dir.join("server.key").display()
            ));
        } else {
            options.push_str(" -c listen_addresses=''");
        }
        run(tool("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]))
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            fail("pg_ctl start", format!("{e}\n{log}"))
        });
        let cluster = Cluster {
            dir: dir.clone(),
            port,
            tls,
            _guardian: Mutex::new(guardian.0),
            _child: Mutex::new(guardian.1),
        };
        // Wait for it to answer (pg_ctl -w already did; a second check costs little).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match postgres::Client::connect(&cluster.admin_url(), postgres::NoTls) {
                Ok(_) => break,
                Err(e) if Instant::now() > deadline => fail("connect", e.to_string()),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        Ok(cluster)
    }
}

/// A data folder made by `initdb` for the PostgreSQL in `bindir`, made once and kept under the
/// temporary folder (`iocsync-testkit-initdb-...`); clusters start from copies of it. Made
/// aside and renamed into place, so concurrent test processes never see half of one.
fn initdb_template(
    bindir: &Path,
    as_root: bool,
    tool: &dyn Fn(&str) -> Command,
) -> Result<PathBuf, String> {
    let tag: String = bindir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let user = if as_root { "postgres" } else { "user" };
    let home = std::env::temp_dir().join(format!("iocsync-testkit-initdb-{user}{tag}"));
    let template = home.join("data");
    if template.join("PG_VERSION").is_file() && template.join("global").is_dir() {
        return Ok(template);
    }
    let aside = tempfile::Builder::new()
        .prefix("iocsync-testkit-initdb-new-")
        .tempdir()
        .map_err(|e| format!("cannot make a folder for initdb: {e}"))?
        .keep();
    if as_root {
        run(Command::new("chown").arg("postgres:postgres").arg(&aside))?;
    }
    let result = run(tool("initdb").arg("-D").arg(aside.join("data")).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]))
    .and_then(|()| {
        // Another process may have put its template in place meanwhile: either will do. A
        // broken one (a run killed half-way through this) is replaced.
        if home.exists() && !template.join("PG_VERSION").is_file() {
            let _ = std::fs::remove_dir_all(&home);
        }
        if std::fs::rename(&aside, &home).is_err() && !template.join("PG_VERSION").is_file() {
            return Err(format!(
                "cannot put the initdb template at {}",
                home.display()
            ));
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&aside);
    result.map(|()| template)
}

/// A TCP port free on loopback now (for the cluster's TLS listener; also names its socket).
fn free_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    Some(listener.local_addr().ok()?.port())
}

/// A CA and a server certificate for `localhost` / `127.0.0.1` signed by it, made with
/// `openssl` in `dir` (the key readable by the server only); returns the CA's PEM file.
fn make_certificates(dir: &Path, as_root: bool) -> Option<PathBuf> {
    let openssl = |args: &[&str]| -> Option<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then_some(())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2"],
        ]
        .concat()
        .into_iter()
        .chain(["-subj", "/CN=iocsync test CA"])
        .collect::<Vec<_>>(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat()
        .into_iter()
        .chain(["-subj", "/CN=localhost"])
        .collect::<Vec<_>>(),
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    if as_root {
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(dir.join("server.key"))
            .arg(dir.join("server.crt")))
        .ok()?;
    }
    run(Command::new("chmod").arg("600").arg(dir.join("server.key"))).ok()?;
    Some(dir.join("ca.crt"))
}

/// Starts the shell that stops the cluster and removes `dir` once its stdin closes.
fn spawn_guardian(
    dir: &Path,
    data: &Path,
    pg_ctl: &Command,
) -> std::io::Result<(ChildStdin, Child)> {
    let mut stop: Vec<String> = vec![shell_quote(&pg_ctl.get_program().to_string_lossy())];
    stop.extend(pg_ctl.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    let script = format!(
        "trap '' INT TERM HUP; cat >/dev/null; \
         if [ -f {data}/postmaster.pid ]; then {stop} -D {data} -m immediate -w stop; fi; \
         rm -rf {dir}",
        data = shell_quote(&data.to_string_lossy()),
        dir = shell_quote(&dir.to_string_lossy()),
        stop = stop.join(" "),
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    Ok((stdin, child))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `cmd`, returning its output on failure.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} exited with {}: {}{}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Where `initdb`, `pg_ctl` and `postgres` are.
fn bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os(BINDIR_VAR) {
        let dir = PathBuf::from(dir);
        return has_tools(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_swapped_in_either_form() {
        assert_eq!(
            with_dbname("postgres://u:p@h:5/old?sslmode=disable", "new"),
            "postgres://u:p@h:5/new?sslmode=disable"
        );
        assert_eq!(with_dbname("postgresql://h", "new"), "postgresql://h/new");
        assert_eq!(
            with_dbname("host=/tmp user=x dbname=a", "b"),
            "host=/tmp user=x dbname=a dbname=b"
        );
    }
}
