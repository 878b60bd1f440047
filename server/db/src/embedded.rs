//! The embedded default database: a private PostgreSQL cluster that Elysium creates and starts
//! itself with the machine's `initdb` and `pg_ctl`, under a folder of its own, listening only on a
//! Unix socket in that folder (never on TCP, so it cannot clash with a server on port 5432).
//!
//! PostgreSQL refuses to run as root; when Elysium runs as root the cluster runs as the
//! `postgres` system user (which Debian's `postgresql` package creates).

use std::{
    ffi::OsStr,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Unix socket paths are limited to about 107 bytes; longer folders get their socket in /tmp.
const MAX_SOCKET_DIR_LEN: usize = 90;
const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

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
}

/// A private cluster rooted at one folder: `data/` (the cluster), `server.log`, and the socket.
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

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@localhost/{database}?host={}&port={PORT}", self.socket_dir.display())
    }

    /// Initialises the cluster if needed, starts it if it is not running, and creates `database`.
    pub fn start(&self, database: &str) -> Result<RunningCluster, EmbeddedError> {
        self.prepare_folders()?;
        if !self.data_dir().join("PG_VERSION").exists() {
            tracing::info!(dir = %self.data_dir().display(), "initialising the private PostgreSQL cluster");
            let data = self.data_dir();
            self.run(
                "initdb",
                [
                    OsStr::new("-D"),
                    data.as_os_str(),
                    OsStr::new("-U"),
                    OsStr::new(SUPERUSER),
                    OsStr::new("--auth=trust"),
                    OsStr::new("--encoding=UTF8"),
                    OsStr::new("--locale=C"),
                ],
            )?;
        }
        let started_here = if self.is_running() {
            tracing::info!("the private PostgreSQL cluster is already running; reusing it");
            false
        } else {
            let options = format!(
                "-k {} -c listen_addresses='' -p {PORT} -c max_connections=200 -c fsync=on",
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
            )?;
            true
        };
        let running = RunningCluster { cluster: self.clone(), started_here, stopped: false };
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

    fn create_database(&self, database: &str) -> Result<(), EmbeddedError> {
        // psql's variable interpolation (script input only, hence stdin) quotes the name, so no
        // SQL is built from it here.
        let script = "select format('create database %I', :'db') where not exists \
                      (select from pg_database where datname = :'db') \\gexec\n";
        let socket = self.socket_dir.as_os_str();
        self.run_with_input(
            "psql",
            [
                OsStr::new("-h"),
                socket,
                OsStr::new("-p"),
                OsStr::new(&PORT.to_string()),
                OsStr::new("-U"),
                OsStr::new(SUPERUSER),
                OsStr::new("-d"),
                OsStr::new("postgres"),
                OsStr::new("-v"),
                OsStr::new("ON_ERROR_STOP=1"),
                OsStr::new("-v"),
                OsStr::new(&format!("db={database}")),
                OsStr::new("-q"),
            ],
            Some(script),
        )
        .map(drop)
    }

    fn prepare_folders(&self) -> Result<(), EmbeddedError> {
        for dir in [&self.root, &self.socket_dir] {
            std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::Io { path: dir.clone(), source })?;
            if let Some(user) = &self.run_as {
                let owner = format!("{user}:");
                run_command("chown", Command::new("chown").arg(&owner).arg(dir))?;
            }
        }
        Ok(())
    }

    fn run<'a>(
        &self,
        program: &'static str,
        args: impl IntoIterator<Item = &'a OsStr>,
    ) -> Result<Output, EmbeddedError> {
        self.run_with_input(program, args, None)
    }

    fn run_with_input<'a>(
        &self,
        program: &'static str,
        args: impl IntoIterator<Item = &'a OsStr>,
        stdin: Option<&str>,
    ) -> Result<Output, EmbeddedError> {
        let binary = find_binary(program)?;
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command.args(args).current_dir(&self.root).env_remove("PGDATA");
        match stdin {
            None => run_command(program, &mut command),
            Some(input) => run_with_stdin(program, &mut command, input),
        }
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
    use std::io::Write;
    let failed = |e: std::io::Error| EmbeddedError::Command { command: name.to_owned(), detail: e.to_string() };
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(failed)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(failed)?;
    }
    checked(name, child.wait_with_output().map_err(failed)?)
}

/// PATH first, then Debian's versioned folders (newest version first).
fn find_binary(program: &'static str) -> Result<PathBuf, EmbeddedError> {
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
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// A stable short hash for the fallback socket folder's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

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
}
