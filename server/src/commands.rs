//! The `elysium` command line: serve, migrate, user and token administration, the de-identified
//! export, backup and restore, and the private PostgreSQL cluster for development and tests.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use app::domain::accounts::{check_password_policy, normalize_username};
use app::domain::roles::Role;
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::auth::password::{Hasher, Password};
use crate::config::{DatabaseConfig, LogFormat, ServeConfig};
use crate::database::Database;

#[derive(Debug, Parser)]
#[command(name = "elysium", version, about = "Follow-up of AI-positive findings on CT")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "ELYSIUM_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once at start-up; boxing buys nothing")]
pub enum Command {
    /// Run the web server (applies pending migrations first).
    Serve {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        serve: ServeConfig,
    },
    /// Run screening workers without the web server: they take jobs from the database's queue
    /// (GPU machines run this next to web servers that queue the work).
    Worker {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        #[command(flatten)]
        screening: crate::screening::ScreeningConfig,
        #[command(flatten)]
        followup: crate::config::FollowupConfig,
    },
    /// Screen one series from files, folders or zip archives with the active model, without a
    /// database or an object store: prints each run's result and per-stage timings as JSON (to
    /// check a host, such as a GPU machine before it joins the queue, or a model).
    Screen {
        /// Files, folders (searched recursively) and .zip archives holding the series.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// How many times to screen it.
        #[arg(long, default_value_t = 1)]
        runs: usize,
        #[command(flatten)]
        screening: crate::screening::ScreeningConfig,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Manage user accounts.
    User {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for integrations.
    Token {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Store DICOM files, folders and zip archives (as a PACS would send them).
    Ingest {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        /// Files, folders (searched recursively) and .zip archives.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Site (hospital) code the studies come from (required: every study is filed under
        /// one site, whose coordinators see it); created if new.
        #[arg(long)]
        site: String,
        /// Instances processed at once.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// Write a de-identified research export of a period (by scan date) into the new folder OUT:
    /// findings.csv, mdt_decisions.csv, every stored image of their studies de-identified by the
    /// DICOM PS3.15 Basic Application Level Confidentiality Profile (dates shifted per patient),
    /// and manifest.json. Needs ELYSIUM_EXPORT_KEY (32+ characters).
    Export {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        #[command(flatten)]
        export: crate::export::ExportArgs,
    },
    /// Write a backup of the whole system into the new folder OUT (it must not exist, or be
    /// empty): a consistent dump of the database (pg_dump), every original its instances
    /// reference, copied from the object store and checked against the database's SHA-256, and
    /// manifest.json with each file's size and SHA-256.
    Backup {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        /// Folder to create for the backup.
        #[arg(value_name = "OUT")]
        out: std::path::PathBuf,
    },
    /// Restore the backup in folder IN into an empty database and the object store. Every file
    /// is checked against the manifest first; a database that is not empty, or an object key that
    /// holds other content, is refused before anything is changed.
    Restore {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        /// The backup's folder.
        #[arg(value_name = "IN")]
        input: std::path::PathBuf,
    },
    /// Remove originals in the object store that no instance references (left by an ingest that
    /// stopped between writing an object and registering it). `elysium serve` also does this daily.
    SweepOrphans {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        store: crate::config::StoreConfig,
        /// Leave objects younger than this many minutes (an ingest may be registering them).
        #[arg(long, default_value_t = 60)]
        older_than_minutes: u64,
        /// List what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write synthetic CT series (DICOM) with ground truth, for demo data, tests and benchmarks.
    Phantom(PhantomArgs),
    /// The private PostgreSQL cluster (used when DATABASE_URL is unset).
    Pg {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(subcommand)]
        command: PgCommand,
    },
}

#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Output folder: one folder per patient, one per series inside.
    #[arg(long)]
    out: std::path::PathBuf,
    #[arg(long, default_value_t = 1)]
    patients: u32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A lesion in every patient, ORGAN:DIAMETER_MM (e.g. liver:25, pancreas:18); repeat for several.
    #[arg(long = "lesion")]
    lesions: Vec<elysium_phantom::LesionRequest>,
    /// Portal-venous contrast phase instead of non-contrast.
    #[arg(long)]
    contrast: bool,
    /// explicit, implicit or deflated (or a transfer syntax UID).
    #[arg(long, default_value = "explicit")]
    transfer_syntax: elysium_phantom::PhantomSyntax,
    /// Rows = columns per slice.
    #[arg(long, default_value_t = 512)]
    rows: u16,
    /// Slices per series (default: the spec's body length over its slice spacing).
    #[arg(long)]
    slices: Option<u32>,
    /// Phantom spec to use instead of the built-in models/phantom/spec.toml.
    #[arg(long)]
    spec: Option<std::path::PathBuf>,
    /// A lymph node in every patient, ORGAN:REGION:SHORT_AXIS_MM (lung:hilar:14,
    /// lung:mediastinal:6, lung:contralateral:12, pancreas:regional:12); repeat for several.
    #[arg(long = "node")]
    nodes: Vec<elysium_phantom::NodeRequest>,
    /// A distant lesion in every patient, ORGAN:DIAMETER_MM (liver:18, lung:10); repeat for several.
    #[arg(long = "distant")]
    distant: Vec<elysium_phantom::DistantRequest>,
    /// Place ORGAN's primary lesion against STRUCTURE (lung:chest_wall, pancreas:aorta).
    #[arg(long = "invade")]
    invasion: Vec<elysium_phantom::InvasionRequest>,
    /// Move the patient in the scanner by X,Y,Z mm (patient LPS: +x left, +y posterior, +z head;
    /// e.g. 12,-9,20): a later study of the same seed on another table position.
    #[arg(long = "shift-mm", value_name = "X,Y,Z", value_parser = elysium_phantom::parse_shift_mm)]
    #[arg(allow_hyphen_values = true)]
    shift_mm: Option<[f64; 3]>,
    /// Multiply every lesion's diameter by F after placing it (same centre): a later study of the
    /// same seed with the lesions grown (1.5) or shrunk (0.7).
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = elysium_phantom::parse_growth)]
    #[arg(allow_negative_numbers = true)]
    growth: f64,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// coordinator, surgeon, radiologist or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Site code (created if new); repeat for several.
        #[arg(long = "site", required = true)]
        sites: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Set a user's password, read from standard input (ends their sessions, and clears the
    /// "must change password" of a temporary one).
    Passwd { username: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as USERNAME, narrowed to its scopes; prints it once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// dicom:write, dicom:read, results:read, metrics:read, or all; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90)]
        expires_days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum PgCommand {
    /// Start the cluster (initialising it if needed) and print its DATABASE_URL.
    Start {
        /// Database to create on it.
        #[arg(long, default_value = crate::database::EMBEDDED_DATABASE)]
        database: String,
    },
    /// Stop the cluster.
    Stop,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { database, serve } => crate::serve::serve(database, serve).await,
        Command::Worker { database, store, screening, followup } => {
            let db = Database::open(&database).await?;
            let result = crate::serve::work(&db, &database, &store, &screening, &followup).await;
            db.close().await?;
            result
        }
        Command::Screen { paths, runs, screening } => crate::screening::cli::run(&paths, &screening, runs).await,
        Command::Migrate { database } => {
            let db = Database::open(&database).await?;
            elysium_db::migrate(&db.pool).await?;
            println!("migrations applied");
            db.close().await
        }
        Command::User { database, command } => {
            let db = Database::open(&database).await?;
            let result = user_command(&db.pool, command).await;
            db.close().await?;
            result
        }
        Command::Token { database, command: TokenCommand::Create { username, name, scopes, expires_days } } => {
            let db = Database::open(&database).await?;
            let request = app::model::tokens::NewTokenRequest { username, name, scopes, expires_in_days: expires_days };
            let result = create_token(&db.pool, &request).await;
            db.close().await?;
            result
        }
        Command::Ingest { database, store, paths, site, jobs } => {
            let db = Database::open(&database).await?;
            let result = ingest(&db.pool, &database, &store, &paths, &site, jobs).await;
            db.close().await?;
            result
        }
        Command::Export { database, store, export } => {
            // The key and the period are checked before anything is opened.
            let key = crate::export::ExportKey::new(export.export_key.as_ref().map(|k| k.expose()))?;
            let period = crate::export::Period::parse(Some(&export.from), Some(&export.to))?;
            let db = Database::open(&database).await?;
            let result = export_command(&db.pool, &database, &store, &key, period, &export.out).await;
            db.close().await?;
            result
        }
        Command::Backup { database, store, out } => {
            // The destination is checked before anything is opened.
            crate::backup::check_out(&out)?;
            let objects = store.open(&database.data_dir)?;
            let db = Database::open(&database).await?;
            let result = backup_command(&db, &database, &objects, &out).await;
            db.close().await?;
            result
        }
        Command::Restore { database, store, input } => {
            // Every check that needs no database comes first: a bad backup changes nothing.
            let backup = crate::backup::verify(&input).await.context("the backup is refused; nothing was changed")?;
            let objects = store.open(&database.data_dir)?;
            let db = Database::open(&database).await?;
            let result = restore_command(&db, &database, &objects, &backup).await;
            db.close().await?;
            result
        }
        Command::SweepOrphans { database, store, older_than_minutes, dry_run } => {
            let db = Database::open(&database).await?;
            let result = sweep_orphans(&db.pool, &database, &store, older_than_minutes, dry_run).await;
            db.close().await?;
            result
        }
        Command::Phantom(args) => {
            let options = elysium_phantom::PhantomOptions {
                out: args.out,
                patients: args.patients,
                seed: args.seed,
                lesions: args.lesions,
                contrast: args.contrast,
                transfer_syntax: args.transfer_syntax,
                rows: args.rows,
                slices: args.slices,
                spec: args.spec,
                identity: Default::default(),
                shift_mm: args.shift_mm.unwrap_or_default(),
                growth: args.growth,
            };
            let staging =
                elysium_phantom::StagingOptions { nodes: args.nodes, distant: args.distant, invasion: args.invasion };
            let report =
                tokio::task::spawn_blocking(move || elysium_phantom::generate_staged(&options, &staging)).await??;
            for series in &report.series {
                println!(
                    "{}  {} files, {} lesions  {}",
                    series.patient_id,
                    series.files,
                    series.lesions,
                    series.dir.display()
                );
            }
            Ok(())
        }
        Command::Pg { database, command } => {
            let cluster = crate::database::embedded(&database)?;
            match command {
                PgCommand::Start { database } => {
                    let running = cluster.start(&database)?;
                    // Leave it running for the caller; `elysium pg stop` ends it.
                    std::mem::forget(running);
                    println!("{}", cluster.url(&database));
                }
                PgCommand::Stop => cluster.stop()?,
            }
            Ok(())
        }
    }
}

async fn user_command(pool: &sqlx::PgPool, command: UserCommand) -> anyhow::Result<()> {
    let hasher = Hasher::new()?;
    match command {
        UserCommand::Add { username, roles, sites, display_name } => {
            let username = normalize_username(&username)?;
            let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
            let password = read_password(&username)?;
            let hash = hasher.hash(password).await?;
            let mut tx = pool.begin().await?;
            let mut site_ids = Vec::new();
            for code in &sites {
                let code = code.trim().to_uppercase();
                site_ids.push(elysium_db::sites::ensure(&mut tx, &code, &code).await?.id);
            }
            let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
            let display_name = display_name.unwrap_or_else(|| username.clone());
            let new = elysium_db::users::NewUser {
                username: &username,
                display_name: &display_name,
                password_hash: &hash,
                roles: &roles,
                site_ids: &site_ids,
                must_change_password: false,
            };
            let id = elysium_db::users::insert(&mut tx, &new).await?;
            cli_audit(
                &mut tx,
                "user.create",
                &id.to_string(),
                json!({ "username": username, "roles": roles, "sites": sites }),
            )
            .await?;
            tx.commit().await?;
            println!("created user {username} ({})", roles.join(", "));
        }
        UserCommand::Passwd { username } => {
            let username = normalize_username(&username)?;
            let mut tx = pool.begin().await?;
            let Some(id) = elysium_db::users::id_by_username(&mut tx, &username).await? else {
                bail!("no user named {username}");
            };
            let hash = hasher.hash(read_password(&username)?).await?;
            // A password the operator set is no temporary one: "must change" is cleared.
            elysium_db::users::set_password(&mut tx, id, &hash, false).await?;
            cli_audit(&mut tx, "user.password_set", &id.to_string(), json!({ "username": username })).await?;
            tx.commit().await?;
            println!("password changed for {username}");
        }
    }
    Ok(())
}

async fn ingest(
    pool: &sqlx::PgPool,
    database: &DatabaseConfig,
    store: &crate::config::StoreConfig,
    paths: &[std::path::PathBuf],
    site: &str,
    jobs: usize,
) -> anyhow::Result<()> {
    elysium_db::migrate(pool).await?;
    let code = site.trim().to_uppercase();
    let mut conn = pool.acquire().await?;
    let site_id = elysium_db::sites::ensure(&mut conn, &code, &code).await?.id;
    drop(conn);
    let ingestor = crate::ingest::Ingestor::new(pool.clone(), store.open(&database.data_dir)?, store.accept_non_ct);
    let received = crate::ingest::Received::new(crate::ingest::Via::Cli, site_id);
    let summary = crate::ingest::cli::ingest_paths(&ingestor, paths, &received, jobs).await?;
    ingestor.sender_done(&summary.outcomes).await;
    let template = app::service::Audit::anonymous("dicom.cli", Some(&cli_actor()), None);
    crate::ingest::audit::record_batch(pool, &template, &summary.outcomes).await?;
    println!("stored {}, duplicates {}, refused {}", summary.stored, summary.duplicates, summary.refused.len());
    for (what, why) in &summary.refused {
        println!("  refused {what}: {why}");
    }
    if summary.refused.is_empty() { Ok(()) } else { bail!("{} file(s) refused", summary.refused.len()) }
}

async fn sweep_orphans(
    pool: &sqlx::PgPool,
    database: &DatabaseConfig,
    store: &crate::config::StoreConfig,
    older_than_minutes: u64,
    dry_run: bool,
) -> anyhow::Result<()> {
    elysium_db::migrate(pool).await?;
    let objects = store.open(&database.data_dir)?;
    let grace = std::time::Duration::from_secs(older_than_minutes.saturating_mul(60));
    let report = crate::ingest::sweep::sweep_orphans(pool, objects.as_ref(), grace, dry_run).await?;
    if !dry_run {
        crate::ingest::sweep::audit(pool, Some(cli_actor()), &report).await?;
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "examined {} objects; {verb} {} orphan(s); {} orphan(s) younger than {older_than_minutes} min left",
        report.examined,
        report.removed.len(),
        report.too_recent
    );
    for key in &report.removed {
        println!("  {key}");
    }
    Ok(())
}

async fn export_command(
    pool: &sqlx::PgPool,
    database: &DatabaseConfig,
    store: &crate::config::StoreConfig,
    key: &crate::export::ExportKey,
    period: crate::export::Period,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    elysium_db::migrate(pool).await?;
    let objects = store.open(&database.data_dir)?;
    let audit = app::service::Audit::anonymous("export.deidentified", Some(&cli_actor()), None);
    let summary = crate::export::export(pool, &objects, key, period, out, audit).await?;
    println!(
        "exported {} findings and {} board decisions of {} patients, {} instances in {} series of {} studies, to {}",
        summary.findings,
        summary.decisions,
        summary.patients,
        summary.images.instances,
        summary.images.series,
        summary.images.studies,
        summary.out.display()
    );
    Ok(())
}

async fn backup_command(
    db: &Database,
    database: &DatabaseConfig,
    objects: &std::sync::Arc<dyn object_store::ObjectStore>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let audit = app::service::Audit::anonymous("backup.create", Some(&cli_actor()), None);
    let summary = crate::backup::backup(&db.pool, &database_url(database, db)?, objects, out, audit).await?;
    println!(
        "backed up the database (migration {}, {} bytes) and {} objects ({} bytes) to {}",
        summary.migration_version,
        summary.dump_bytes,
        summary.objects,
        summary.object_bytes,
        summary.out.display()
    );
    Ok(())
}

async fn restore_command(
    db: &Database,
    database: &DatabaseConfig,
    objects: &std::sync::Arc<dyn object_store::ObjectStore>,
    backup: &crate::backup::VerifiedBackup,
) -> anyhow::Result<()> {
    let audit = app::service::Audit::anonymous("backup.restore", Some(&cli_actor()), None);
    let summary = crate::backup::restore(&db.pool, &database_url(database, db)?, objects, backup, audit).await?;
    println!(
        "restored the database (migration {}, {} instances) and {} objects ({} were in the store already) from {}",
        summary.migration_version,
        summary.instances,
        summary.objects,
        summary.objects_present,
        backup.dir.display()
    );
    Ok(())
}

/// The URL `database` was opened with: the configured one, or the private cluster's.
fn database_url(config: &DatabaseConfig, db: &Database) -> anyhow::Result<String> {
    match (&config.database_url, &db.cluster) {
        (Some(url), _) => Ok(url.expose().to_owned()),
        (None, Some(cluster)) => Ok(cluster.url(crate::database::EMBEDDED_DATABASE)),
        (None, None) => bail!("no DATABASE_URL and no private cluster"),
    }
}

fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

async fn create_token(pool: &sqlx::PgPool, request: &app::model::tokens::NewTokenRequest) -> anyhow::Result<()> {
    let mut request = request.clone();
    request.username = normalize_username(&request.username)?;
    let audit = app::service::Audit::anonymous("token.create", Some(&cli_actor()), None);
    let created = app::service::tokens::create(pool, audit, None, &request).await?;
    let scopes: Vec<&str> = created.scopes.iter().map(|s| s.as_str()).collect();
    eprintln!(
        "API token for {} ({}; expires {}; shown once, store it now):",
        created.username,
        scopes.join(", "),
        created.expires_at
    );
    println!("{}", created.token);
    Ok(())
}

async fn cli_audit(
    conn: &mut sqlx::PgConnection,
    action: &str,
    target_id: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    app::service::Audit::anonymous(action, Some(&cli_actor()), None)
        .target(action.split('.').next().unwrap_or_default(), target_id)
        .detail(detail)
        .record_in(conn)
        .await?;
    Ok(())
}

/// Reads a new password from the terminal (twice, without echo) or one line of piped stdin.
fn read_password(username: &str) -> anyhow::Result<Password> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {username}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    check_password_policy(username, &password)?;
    Ok(Password::new(password))
}
