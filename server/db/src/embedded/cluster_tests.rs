//! The private cluster for real, with the machine's `initdb`, `pg_ctl` and `psql` (found as the
//! module finds them): each test has a folder of its own, and its cluster is stopped and the
//! folder removed when the test ends, whether it passed or not. Every wait is bounded: `pg_ctl`
//! waits at most 60 s, psql never prompts and gives up connecting after 20 s, and each query
//! through sqlx has a minute.

use std::{process::Stdio, time::Duration};

use sqlx::Connection;

use super::*;

/// A test's folder and the cluster in it; dropping it stops the cluster and removes the folder.
struct Scratch {
    dir: PathBuf,
    cluster: EmbeddedPostgres,
}

impl Scratch {
    /// A fresh folder under the temporary folder, with the cluster's root `<folder>/<root>`.
    fn new(test: &str, root: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("elysium-embedded-{test}-{}", std::process::id()));
        // A leftover of an earlier run that was killed.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the test's folder can be created");
        // PostgreSQL may run as another account (`postgres` when the tests run as root): it has
        // to get through this folder to its own.
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).expect("the test's folder can be opened up");
        let cluster = EmbeddedPostgres::new(dir.join(root));
        Scratch { dir, cluster }
    }

    /// The cluster created the way versions before password authentication created it.
    fn initialise_with_trust(&self) {
        self.cluster.prepare_folders().expect("the folders can be prepared");
        let data = self.cluster.data_dir();
        self.cluster
            .run(
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
            )
            .expect("initdb --auth=trust runs");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = self.cluster.stop() {
            eprintln!("the test's cluster did not stop: {error}");
        }
        if self.cluster.socket_dir != self.cluster.root {
            // Not followed if it is a link.
            let _ = std::fs::remove_dir_all(&self.cluster.socket_dir);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("the path exists").mode() & 0o7777
}

/// The first column of the first row of `sql`, as text, through sqlx (what the server uses).
fn query_text(url: &str, sql: &str) -> Result<String, sqlx::Error> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a Tokio runtime can be built");
    runtime.block_on(async {
        let query = async {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            let text: String = sqlx::query_scalar(sql).fetch_one(&mut connection).await?;
            connection.close().await?;
            Ok(text)
        };
        tokio::time::timeout(Duration::from_secs(60), query).await.expect("the query is answered within a minute")
    })
}

/// `url` with its password left out.
fn without_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("the URL has a scheme");
    let (user_info, server) = rest.split_once('@').expect("the URL names a user");
    let user = user_info.split(':').next().unwrap_or_default();
    format!("{scheme}://{user}@{server}")
}

/// psql on `url` with no password from anywhere else (no PGPASSWORD, no password file), never
/// prompting for one.
fn psql_without_password(scratch: &Scratch, url: &str) -> Output {
    let psql = find_binary("psql").expect("psql is installed");
    Command::new(psql)
        .args(["-X", "-w", "-c", "select 1"])
        .arg(without_password(url))
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env("PGPASSFILE", scratch.dir.join("no-such-pgpass"))
        .env("PGCONNECT_TIMEOUT", "20")
        .stdin(Stdio::null())
        .output()
        .expect("psql runs")
}

fn assert_password_required(scratch: &Scratch, url: &str) {
    assert_ne!(without_password(url), url, "the URL carries a password");
    let output = psql_without_password(scratch, url);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "psql connected without a password");
    assert!(stderr.contains("password"), "psql was refused for want of a password, not otherwise: {stderr}");
}

fn assert_private_files(cluster: &EmbeddedPostgres) {
    assert_eq!(mode(cluster.socket_dir()), 0o700, "the socket's folder is private");
    assert_eq!(mode(&cluster.password_file()), 0o600, "the password file is private");
    if let Some(user) = &cluster.run_as {
        let owner = std::fs::metadata(cluster.password_file()).expect("the password file exists").uid();
        assert_eq!(owner, user_id(user).expect("the account exists"), "PostgreSQL's account owns the password file");
    }
}

#[test]
fn a_new_cluster_is_private_and_asks_for_the_password() {
    let scratch = Scratch::new("new", "pg");
    // A folder that is already there, open to everyone, is tightened.
    std::fs::create_dir(&scratch.cluster.root).expect("the root folder can be created");
    std::fs::set_permissions(&scratch.cluster.root, Permissions::from_mode(0o755)).expect("chmod");
    let running = scratch.cluster.start("elysium").expect("the cluster starts");
    assert_eq!(scratch.cluster.socket_dir(), scratch.cluster.root, "a short root holds its socket");
    assert_private_files(&scratch.cluster);
    let url = running.url("elysium");
    assert_eq!(query_text(&url, "select current_database()::text").expect("the URL connects"), "elysium");
    assert_password_required(&scratch, &url);
    running.stop().expect("the cluster stops");
}

#[test]
fn a_cluster_that_trusted_local_accounts_is_converted_and_keeps_its_data() {
    let scratch = Scratch::new("trust", "pg");
    scratch.initialise_with_trust();
    scratch.cluster.start_server().expect("the old cluster starts");
    let note = "written before the upgrade";
    let script = format!("create table kept (note text); insert into kept values ({});\n", sql_literal(note));
    scratch.cluster.psql("postgres", &[], &script).expect("the old cluster takes a table without a password");
    scratch.cluster.stop().expect("the old cluster stops");
    assert!(!scratch.cluster.password_file().exists(), "an old cluster has no password file");

    let running = scratch.cluster.start("elysium").expect("the old cluster starts and is converted");
    assert_private_files(&scratch.cluster);
    let hba = std::fs::read_to_string(scratch.cluster.data_dir().join("pg_hba.conf")).expect("pg_hba.conf");
    assert!(!hba_trusts(&hba), "no `trust` rule is left: {hba}");
    let url = running.url("postgres");
    assert_eq!(query_text(&url, "select note from kept").expect("the data is still there"), note);
    assert_password_required(&scratch, &url);
    running.stop().expect("the cluster stops");
}

#[test]
fn a_shared_socket_folder_is_tightened_or_refused() {
    let scratch = Scratch::new("shared", &"long-".repeat(20));
    let socket_dir = scratch.cluster.socket_dir().to_owned();
    assert!(socket_dir.starts_with(std::env::temp_dir()), "a long root has its socket in the temporary folder");

    // One left open by an older version is made private.
    std::fs::create_dir(&socket_dir).expect("the socket's folder can be created");
    std::fs::set_permissions(&socket_dir, Permissions::from_mode(0o755)).expect("chmod");
    scratch.cluster.prepare_folders().expect("our own open folder is accepted");
    assert_eq!(mode(&socket_dir), 0o700);
    std::fs::remove_dir(&socket_dir).expect("the socket's folder can be removed");

    // A link put there by someone else is not followed.
    std::os::unix::fs::symlink(&scratch.dir, &socket_dir).expect("a link can be made");
    let refused = scratch.cluster.prepare_folders();
    assert!(matches!(refused, Err(EmbeddedError::UnsafeSocketDir { .. })), "a link is refused: {refused:?}");
    std::fs::remove_file(&socket_dir).expect("the link can be removed");

    // Another account's folder is refused (only root can make one to show it).
    if running_as_root() {
        std::fs::create_dir(&socket_dir).expect("the socket's folder can be created");
        run_command("chown", Command::new("chown").arg("nobody:").arg(&socket_dir)).expect("chown nobody");
        let refused = scratch.cluster.prepare_folders();
        assert!(matches!(refused, Err(EmbeddedError::UnsafeSocketDir { .. })), "nobody's is refused: {refused:?}");
    }
}
