//! The embedded default database: a private PostgreSQL cluster that Elysium creates and starts
//! itself with the machine's `initdb` and `pg_ctl`, under a folder of its own, listening only on a
//! Unix socket (never on TCP, so it cannot clash with a server on port 5432).
//!
//! Other accounts on the machine must not reach it: the socket's folder is private (mode 0700)
//! and every connection needs the superuser's password (scram-sha-256), a random one generated
//! when the cluster is initialised and kept in `superuser-password` (mode 0600) beside it;
//! [`EmbeddedPostgres::url`] carries it. Clusters created by older versions, which trusted every
//! local connection, are converted when they are next started.
//!
//! PostgreSQL refuses to run as root; when Elysium runs as root the cluster runs as the
//! `postgres` system user (which Debian's `postgresql` package creates).

use std::{
    ffi::{OsStr, OsString},
    fs::{DirBuilder, OpenOptions, Permissions},
    io::{Read, Write},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Unix socket paths are limited to about 107 bytes; longer folders get their socket in /tmp.
const MAX_SOCKET_DIR_LEN: usize = 90;
const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";
/// The superuser's password, in the cluster's root folder (beside `data/`, not in it, so that
/// PostgreSQL's own backups of the data folder do not carry it).
const PASSWORD_FILE: &str = "superuser-password";
/// 32 random bytes, written as 64 hex digits (URL-safe as they are).
const PASSWORD_BYTES: usize = 32;
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;
/// What a converted cluster's `pg_hba.conf` says: only the Unix socket, only with the password.
const PASSWORD_HBA: &str = "\
# Written by Elysium (server/db/src/embedded.rs) when it converted this cluster from `trust`:
# only connections on the private Unix socket, each with the superuser's password, which is
# kept in ../superuser-password.
# TYPE  DATABASE  USER  METHOD
local   all       all   scram-sha-256
";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL's `{0}` was not found on the PATH or under /usr/lib/postgresql/*/bin; \
         install Debian's `postgresql` package or set DATABASE_URL"
    )]
    MissingBinary(&'static str),
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "refusing to put PostgreSQL's socket in {path}: {reason}; remove it, or use a data folder \
         with a shorter path (the socket then lives in that folder)"
    )]
    UnsafeSocketDir { path: PathBuf, reason: String },
    #[error(
        "the private PostgreSQL cluster's password file {path} {problem}; the cluster cannot be \
         reached without it (restore it, or remove the cluster's folder to start afresh)"
    )]
    PasswordFile { path: PathBuf, problem: &'static str },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io { path: path.to_owned(), source }
}

/// A private cluster rooted at one folder: `data/` (the cluster), `server.log`, the password
/// file, and the socket.
#[derive(Debug, Clone)]
pub struct EmbeddedPostgres {
    root: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<String>,
}

/// The cluster as started by [`EmbeddedPostgres::start`]: stops it on [`RunningCluster::stop`]
/// (or when dropped) only if this process was the one that started it.
#[derive(Debug)]
pub struct RunningCluster {
    cluster: EmbeddedPostgres,
    started_here: bool,
    stopped: bool,
}

impl EmbeddedPostgres {
    /// `root` must be an absolute folder; it is created if missing.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root: PathBuf = root.into();
        let socket_dir = if root.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
            root.clone()
        } else {
            std::env::temp_dir().join(format!("elysium-pg-{:016x}", fnv1a(root.as_os_str().as_encoded_bytes())))
        };
        let run_as = running_as_root().then(|| SUPERUSER.to_owned());
        Self { root, socket_dir, run_as }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The folder of the cluster's Unix socket (private: mode 0700).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The file holding the superuser's password (mode 0600), once the cluster is initialised.
    pub fn password_file(&self) -> PathBuf {
        self.root.join(PASSWORD_FILE)
    }

    /// The URL of `database` on this cluster, with the superuser's password once there is one.
    pub fn url(&self, database: &str) -> String {
        let user = match self.read_password() {
            Ok(Some(password)) => format!("{SUPERUSER}:{}", percent_encode(&password)),
            Ok(None) => SUPERUSER.to_owned(),
            Err(error) => {
                tracing::warn!(%error, "the private PostgreSQL cluster's URL has no password");
                SUPERUSER.to_owned()
            }
        };
        format!("postgres://{user}@localhost/{database}?host={}&port={PORT}", self.socket_dir.display())
    }

    /// Initialises the cluster if needed, starts it if it is not running, converts it from `trust`
    /// if an older version created it, and creates `database`.
    pub fn start(&self, database: &str) -> Result<RunningCluster, EmbeddedError> {
        self.prepare_folders()?;
        if !self.data_dir().join("PG_VERSION").exists() {
            self.initialise()?;
        }
        let started_here = if self.is_running() {
            tracing::info!("the private PostgreSQL cluster is already running; reusing it");
            false
        } else {
            self.start_server()?;
            true
        };
        let running = RunningCluster { cluster: self.clone(), started_here, stopped: false };
        if self.trusts_local_connections()? {
            self.convert_from_trust(started_here)?;
        } else if self.read_password()?.is_none() {
            return Err(EmbeddedError::PasswordFile { path: self.password_file(), problem: "is missing" });
        }
        self.create_database(database)?;
        Ok(running)
    }

    pub fn is_running(&self) -> bool {
        let data = self.data_dir();
        self.run("pg_ctl", [OsStr::new("-D"), data.as_os_str(), OsStr::new("status")]).is_ok()
    }

    /// Stops the cluster whoever started it (the `elysium pg stop` command).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !self.is_running() {
            return Ok(());
        }
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-m"),
                OsStr::new("fast"),
                OsStr::new("-w"),
                OsStr::new("stop"),
            ],
        )
        .map(drop)
    }

    /// `initdb` with password authentication for every connection; the password file is its
    /// `--pwfile` as it is (private from the start), so no other copy of the password is written.
    fn initialise(&self) -> Result<(), EmbeddedError> {
        tracing::info!(dir = %self.data_dir().display(), "initialising the private PostgreSQL cluster");
        self.ensure_password()?;
        let data = self.data_dir();
        let mut pwfile = OsString::from("--pwfile=");
        pwfile.push(self.password_file());
        self.run(
            "initdb",
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-U"),
                OsStr::new(SUPERUSER),
                OsStr::new("--auth=scram-sha-256"),
                &pwfile,
                OsStr::new("--encoding=UTF8"),
                OsStr::new("--locale=C"),
            ],
        )
        .map(drop)
    }

    fn start_server(&self) -> Result<(), EmbeddedError> {
        // The folder is private already; the socket file itself is made so too.
        let options = format!(
            "-k {} -c listen_addresses='' -p {PORT} -c unix_socket_permissions=0700 \
             -c max_connections=200 -c fsync=on",
            self.socket_dir.display()
        );
        let data = self.data_dir();
        let log = self.root.join("server.log");
        self.run(
            "pg_ctl",
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-l"),
                log.as_os_str(),
                OsStr::new("-o"),
                OsStr::new(&options),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new("60"),
                OsStr::new("start"),
            ],
        )
        .map(drop)
    }

    /// Whether `pg_hba.conf` still has a `trust` line, as every cluster initialised before
    /// password authentication (`initdb --auth=trust`) has.
    fn trusts_local_connections(&self) -> Result<bool, EmbeddedError> {
        let path = self.data_dir().join("pg_hba.conf");
        let hba = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        Ok(hba_trusts(&hba))
    }

    /// A cluster from an older version trusted every local account, so anyone on the machine
    /// could connect as the superuser (and, say, disable the audit trigger). It is converted in
    /// place, never re-initialised, so its data is kept: the superuser gets a password (written
    /// to the password file first, so an interrupted conversion resumes with the same one), then
    /// `pg_hba.conf` is replaced by one that asks for it, and the server reads that again. Each
    /// step can be repeated, so a conversion that stopped half-way is finished by the next start.
    fn convert_from_trust(&self, started_here: bool) -> Result<(), EmbeddedError> {
        tracing::warn!(
            dir = %self.data_dir().display(),
            "the private PostgreSQL cluster trusts every local account; setting a superuser password"
        );
        let password = self.ensure_password()?;
        // On stdin, never on a command line: other accounts can read those (`ps`). The literal
        // is quoted for SQL with standard strings (backslashes are plain characters).
        let script = format!(
            "set standard_conforming_strings = on;\nset password_encryption = 'scram-sha-256';\n\
             alter role {SUPERUSER} password {};\n",
            sql_literal(&password)
        );
        self.psql("postgres", &[], &script)?;
        self.write_private_file(&self.data_dir().join("pg_hba.conf"), PASSWORD_HBA)?;
        self.reread_configuration(started_here)
    }

    /// A cluster started just now is restarted, so that it asks for the password before this
    /// returns; one that was running already (someone else's sessions on it) is told to reload.
    fn reread_configuration(&self, started_here: bool) -> Result<(), EmbeddedError> {
        if started_here {
            self.stop()?;
            return self.start_server();
        }
        let data = self.data_dir();
        self.run("pg_ctl", [OsStr::new("-D"), data.as_os_str(), OsStr::new("reload")]).map(drop)
    }

    fn create_database(&self, database: &str) -> Result<(), EmbeddedError> {
        // psql's variable interpolation (script input only, hence stdin) quotes the name, so no
        // SQL is built from it here.
        let script = "select format('create database %I', :'db') where not exists \
                      (select from pg_database where datname = :'db') \\gexec\n";
        self.psql("postgres", &[("db", database)], script).map(drop)
    }

    /// `script` run by psql on `database` as the superuser, with the password when there is one.
    fn psql(&self, database: &str, variables: &[(&str, &str)], script: &str) -> Result<Output, EmbeddedError> {
        let mut command = self.command("psql")?;
        // -X: no ~/.psqlrc; -w: never prompt for a password (it would wait on the terminal).
        command
            .args(["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-U", SUPERUSER, "-d", database, "-p"])
            .arg(PORT.to_string())
            .arg("-h")
            .arg(&self.socket_dir);
        for (name, value) in variables {
            command.arg("-v").arg(format!("{name}={value}"));
        }
        // The environment of a process is readable only by its own account (and root), unlike
        // its command line.
        match self.read_password()? {
            Some(password) => command.env("PGPASSWORD", password),
            None => command.env_remove("PGPASSWORD"),
        };
        run_with_stdin("psql", &mut command, script)
    }

    /// The root folder and the socket's folder, private to the account PostgreSQL runs as.
    fn prepare_folders(&self) -> Result<(), EmbeddedError> {
        self.ensure_private_dir(&self.root)?;
        if self.socket_dir != self.root {
            self.ensure_private_dir(&self.socket_dir)?;
        }
        Ok(())
    }

    /// Creates `dir` with mode 0700 (never wider, even for a moment), or tightens it to that if
    /// it exists, owned by the account PostgreSQL runs as.
    fn ensure_private_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io_error(dir)(e)),
            _ => {}
        }
        if *dir != self.root {
            self.check_shared_folder(dir)?;
        }
        self.chown(dir)?;
        std::fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(io_error(dir))
    }

    /// The socket's fallback folder is in /tmp, where anyone can create it first: one that is a
    /// link, or that belongs to another account, may be someone else's trap and is not used.
    fn check_shared_folder(&self, dir: &Path) -> Result<(), EmbeddedError> {
        let unsafe_dir = |reason: String| EmbeddedError::UnsafeSocketDir { path: dir.to_owned(), reason };
        let metadata = std::fs::symlink_metadata(dir).map_err(io_error(dir))?;
        if !metadata.file_type().is_dir() {
            return Err(unsafe_dir("it exists and is not a folder".to_owned()));
        }
        let mut owners = vec![current_uid()];
        if let Some(user) = &self.run_as {
            owners.push(user_id(user)?);
        }
        if !owners.contains(&metadata.uid()) {
            return Err(unsafe_dir(format!("it belongs to another account (uid {})", metadata.uid())));
        }
        Ok(())
    }

    /// Hands `path` to the account PostgreSQL runs as, when that is not this process's own.
    fn chown(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.run_as {
            run_command("chown", Command::new("chown").arg(format!("{user}:")).arg(path))?;
        }
        Ok(())
    }

    /// The password in the password file; none if there is no file.
    fn read_password(&self) -> Result<Option<String>, EmbeddedError> {
        let path = self.password_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let password = text.strip_suffix('\n').unwrap_or(&text);
        if password.is_empty() || password.chars().any(char::is_control) {
            return Err(EmbeddedError::PasswordFile { path, problem: "is not one line of printable text" });
        }
        Ok(Some(password.to_owned()))
    }

    /// The password from the password file, generated and written there first if missing.
    fn ensure_password(&self) -> Result<String, EmbeddedError> {
        if let Some(password) = self.read_password()? {
            return Ok(password);
        }
        let password = random_password()?;
        self.write_private_file(&self.password_file(), &format!("{password}\n"))?;
        Ok(password)
    }

    /// Writes `path` whole or not at all (a new file renamed over it), mode 0600 from its
    /// creation on and owned by the account PostgreSQL runs as, before any content is written.
    fn write_private_file(&self, path: &Path, contents: &str) -> Result<(), EmbeddedError> {
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(".new");
        let new = path.with_file_name(name);
        let written = self.write_new_private_file(&new, contents);
        let result = written.and_then(|()| std::fs::rename(&new, path).map_err(io_error(path)));
        if result.is_err() {
            // Best effort: what is left is in a private folder and replaced by the next try.
            let _ = std::fs::remove_file(&new);
        }
        result
    }

    fn write_new_private_file(&self, path: &Path, contents: &str) -> Result<(), EmbeddedError> {
        // A leftover from an interrupted write (in a private folder, so it is ours).
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(path)(e)),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
            .map_err(io_error(path))?;
        // The umask can only have narrowed the mode; make it exactly 0600 all the same.
        file.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE)).map_err(io_error(path))?;
        self.chown(path)?;
        file.write_all(contents.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error(path))
    }

    fn run<'a>(
        &self,
        program: &'static str,
        args: impl IntoIterator<Item = &'a OsStr>,
    ) -> Result<Output, EmbeddedError> {
        let mut command = self.command(program)?;
        command.args(args);
        run_command(program, &mut command)
    }

    /// `program` from PostgreSQL's binaries, as the account PostgreSQL runs as.
    fn command(&self, program: &'static str) -> Result<Command, EmbeddedError> {
        let binary = find_binary(program)?;
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command.current_dir(&self.root).env_remove("PGDATA");
        Ok(command)
    }
}

impl RunningCluster {
    pub fn url(&self, database: &str) -> String {
        self.cluster.url(database)
    }

    /// Stops the cluster if this process started it.
    pub fn stop(mut self) -> Result<(), EmbeddedError> {
        self.stop_if_started_here()
    }

    fn stop_if_started_here(&mut self) -> Result<(), EmbeddedError> {
        if self.started_here && !self.stopped {
            self.stopped = true;
            tracing::info!("stopping the private PostgreSQL cluster");
            return self.cluster.stop();
        }
        Ok(())
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop_if_started_here() {
            tracing::warn!(%error, "could not stop the private PostgreSQL cluster");
        }
    }
}

fn run_command(name: &str, command: &mut Command) -> Result<Output, EmbeddedError> {
    let output =
        command.output().map_err(|e| EmbeddedError::Command { command: name.to_owned(), detail: e.to_string() })?;
    checked(name, output)
}

fn checked(name: &str, output: Output) -> Result<Output, EmbeddedError> {
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(EmbeddedError::Command {
            command: name.to_owned(),
            detail: format!("{}: {}", output.status, stderr.trim()),
        })
    }
}

fn run_with_stdin(name: &str, command: &mut Command, input: &str) -> Result<Output, EmbeddedError> {
    let failed = |e: std::io::Error| EmbeddedError::Command { command: name.to_owned(), detail: e.to_string() };
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(failed)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits before reading (psql refused by the server, say) closes the pipe;
        // its exit status and message say why, not the broken pipe.
        match stdin.write_all(input.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(failed(e)),
            _ => {}
        }
    }
    checked(name, child.wait_with_output().map_err(failed)?)
}

/// PostgreSQL's `program` (`initdb`, `pg_ctl`, and `pg_dump`/`pg_restore` for `elysium backup`
/// and `restore`): PATH first, then Debian's versioned folders (newest version first, as a dump
/// needs a `pg_dump` at least as new as the server).
pub fn find_binary(program: &'static str) -> Result<PathBuf, EmbeddedError> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(program));
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(program))
        .collect();
    debian.sort_by_key(|p| std::cmp::Reverse(debian_version(p)));
    on_path.chain(debian).find(|p| p.is_file()).ok_or(EmbeddedError::MissingBinary(program))
}

fn debian_version(path: &Path) -> u32 {
    path.components().filter_map(|c| c.as_os_str().to_str()?.parse().ok()).next().unwrap_or(0)
}

fn running_as_root() -> bool {
    current_uid() == 0
}

/// This process's user id (`/proc/self` belongs to it); `u32::MAX`, nobody's, if unreadable.
fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX)
}

/// The user id of the account `user` (as the system's user database knows it).
fn user_id(user: &str) -> Result<u32, EmbeddedError> {
    let output = run_command("id", Command::new("id").arg("-u").arg(user))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().map_err(|_| EmbeddedError::Command {
        command: "id".to_owned(),
        detail: format!("`id -u {user}` printed {:?}, not a user id", text.trim()),
    })
}

/// A fresh password from the kernel's CSPRNG: [`PASSWORD_BYTES`] bytes as hex digits.
fn random_password() -> Result<String, EmbeddedError> {
    let source = Path::new("/dev/urandom");
    let mut bytes = [0u8; PASSWORD_BYTES];
    std::fs::File::open(source).and_then(|mut f| f.read_exact(&mut bytes)).map_err(io_error(source))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `text` for a URL's user information: everything but RFC 3986's unreserved characters escaped.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `text` as an SQL string literal (with `standard_conforming_strings` on).
fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether any rule of a `pg_hba.conf` uses the `trust` method.
fn hba_trusts(hba: &str) -> bool {
    hba.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .any(|rule| rule.split_whitespace().any(|field| field == "trust"))
}

/// A stable short hash for the fallback socket folder's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod cluster_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_folders_get_their_socket_in_tmp() {
        let short = EmbeddedPostgres::new("/srv/elysium/postgres");
        assert_eq!(short.socket_dir, PathBuf::from("/srv/elysium/postgres"));
        let long = EmbeddedPostgres::new(format!("/srv/{}", "x".repeat(120)));
        assert!(long.socket_dir.starts_with(std::env::temp_dir()));
        assert!(long.url("elysium").contains("host=/"));
    }

    #[test]
    fn debian_versions_order_newest_first() {
        assert_eq!(debian_version(Path::new("/usr/lib/postgresql/15/bin/initdb")), 15);
        assert_eq!(debian_version(Path::new("/usr/bin/initdb")), 0);
    }

    #[test]
    fn passwords_are_escaped_for_urls_and_sql() {
        assert_eq!(percent_encode("0aF-._~"), "0aF-._~");
        assert_eq!(percent_encode("a b/c@d:é"), "a%20b%2Fc%40d%3A%C3%A9");
        assert_eq!(sql_literal("it's"), "'it''s'");
    }

    #[test]
    fn trust_rules_are_found_and_comments_ignored() {
        assert!(hba_trusts("# comment\nlocal all all trust\n"));
        assert!(hba_trusts("host all all 127.0.0.1/32 trust # old"));
        assert!(!hba_trusts(PASSWORD_HBA));
        assert!(!hba_trusts("local all all scram-sha-256 # not trust\n# trust\n"));
    }
}
