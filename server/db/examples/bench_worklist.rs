//! The coordinator's worklist over a million findings (part of `make bench`; run alone with
//! `BENCH_ONLY=worklist make bench`, or directly):
//!
//! ```sh
//! cargo run --release --locked -p elysium-db --example bench_worklist -- [--out FILE]
//!     [--findings 1000000] [--patients 200000] [--runs 50] [--warmup 10]
//! ```
//!
//! Starts a private PostgreSQL cluster in a temporary folder (or uses `DATABASE_URL`, which
//! must hold no findings yet: the data is added to it and left there), applies the migrations,
//! generates the data with set-based SQL (deterministic: the same arguments give the same rows,
//! relative to today), then times `elysium_db::worklist::page` and `status_counts` exactly as
//! the worklist page calls them, and shows the plans of the statements they run. Writes a
//! Markdown report to `--out` (default: stdout); progress goes to stderr. Asserts no time.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use elysium_db::{
    embedded::EmbeddedPostgres,
    worklist::{self, AssigneeFilter, WorklistQuery, WorklistSort},
};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str =
    "usage: bench_worklist [--out FILE] [--findings N] [--patients N] [--runs N] [--warmup N] [--reuse]";
const DATABASE: &str = "elysium_bench_worklist";
/// The worklist page's size (`app::api::followup::WORKLIST_PAGE`).
const PAGE: i64 = 50;
/// Above this p95 a case is called out in the report.
const TARGET_MS: f64 = 50.0;
const SITES: i64 = 5;
const COORDINATORS: i64 = 20;
/// Findings inserted per statement (bounds the foreign-key trigger queue).
const CHUNK: i64 = 100_000;

#[derive(Debug)]
struct Args {
    out: Option<PathBuf>,
    findings: i64,
    patients: i64,
    runs: usize,
    warmup: usize,
    /// Measure the data already in the database (an earlier run's, generated the same day).
    reuse: bool,
}

impl Args {
    fn parse() -> Result<Self> {
        let mut args = Args { out: None, findings: 1_000_000, patients: 200_000, runs: 50, warmup: 10, reuse: false };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Err(USAGE.into());
            }
            if flag == "--reuse" {
                args.reuse = true;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let number =
                || value.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| format!("{flag}: a positive number"));
            match flag.as_str() {
                "--out" => args.out = Some(PathBuf::from(&value)),
                "--findings" => args.findings = number()?,
                "--patients" => args.patients = number()?,
                "--runs" => args.runs = usize::try_from(number()?)?,
                "--warmup" => args.warmup = value.parse().map_err(|_| format!("{flag}: a number"))?,
                _ => return Err(format!("unknown argument {flag}\n{USAGE}").into()),
            }
        }
        Ok(args)
    }
}

fn log(message: impl AsRef<str>) {
    eprintln!("[bench_worklist {}] {}", clock(), message.as_ref());
}

fn clock() -> String {
    let now = OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(report) => {
            let written = match &args.out {
                Some(path) => std::fs::write(path, &report).map(|()| log(format!("written: {}", path.display()))),
                None => {
                    print!("{report}");
                    Ok(())
                }
            };
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench_worklist: cannot write the report: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("bench_worklist: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark on `DATABASE_URL`, or on a private cluster that is stopped (and its
/// folder removed) whatever happens, Ctrl-C and SIGTERM included.
async fn run(args: &Args) -> Result<String> {
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        log("using DATABASE_URL");
        return interruptible(bench(&url, args, "the database at DATABASE_URL")).await;
    }
    let folder = TempFolder::new()?;
    let cluster_root = folder.path().join("pg");
    log(format!("starting a private PostgreSQL cluster in {}", cluster_root.display()));
    let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::new(cluster_root).start(DATABASE)).await??;
    let url = cluster.url(DATABASE);
    let result = interruptible(bench(&url, args, "a private cluster (Elysium's embedded default, its settings)")).await;
    log("stopping the private cluster");
    let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await;
    drop(folder);
    let report = result?;
    stopped??;
    Ok(report)
}

async fn interruptible(work: impl Future<Output = Result<String>>) -> Result<String> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        _ = terminate.recv() => Err("terminated".into()),
    }
}

/// A folder under the temporary directory, readable by the `postgres` user (the cluster runs as
/// it when this runs as root), removed on drop.
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
        let path = std::env::temp_dir().join(format!("elysium-bench-worklist-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(TempFolder(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            log(format!("could not remove {}: {e}", self.0.display()));
        }
    }
}

// -------------------------------------------------------------------------------------------
// The data

/// What the generated data holds, for the report and the cases.
struct Dataset {
    today: Date,
    studies: i64,
    /// The coordinator whose queue "My queue" shows, and that coordinator's (one) site.
    coordinator: Uuid,
    coordinator_name: String,
    coordinator_site: Uuid,
    coordinator_site_code: String,
    patients: i64,
    findings: i64,
    /// How long generating took (`None`: reused).
    seconds: Option<f64>,
}

/// Deterministic pseudo-random numbers, sites, dates and people as SQL functions of a row
/// number (`pg_temp`: they live as long as the generating connection).
const HELPERS: &[&str] = &[
    // Uniform in [0, 1) from (row, stream).
    "create function pg_temp.u(i bigint, k int) returns double precision language sql immutable parallel safe
     as $$ select (hashint8extended(i, k) & 2147483647)::double precision / 2147483648.0 $$",
    // A patient's site: one large hospital, two middling, two small (35/25/20/12/8 %).
    "create function pg_temp.site_of(p bigint) returns int language sql immutable parallel safe
     as $$ select case when pg_temp.u(p, 3) < 0.35 then 1 when pg_temp.u(p, 3) < 0.60 then 2
                       when pg_temp.u(p, 3) < 0.80 then 3 when pg_temp.u(p, 3) < 0.92 then 4 else 5 end $$",
    // Study s's patient: studies 1..P are every patient's first, the rest follow-ups of anyone.
    "create function pg_temp.patient_of(s bigint, patients bigint) returns bigint language sql immutable parallel safe
     as $$ select case when s <= patients then s else 1 + floor(pg_temp.u(s, 4) * patients)::bigint end $$",
    // Study dates rise with s over the last three years (1095 days before today .. today).
    "create function pg_temp.study_date(s bigint, studies bigint, today date) returns date language sql immutable parallel safe
     as $$ select today - 1095 + floor((s - 1) * 1095.0 / studies)::int $$",
    // A study taken on `day` (or the day before).
    "create function pg_temp.study_on(day date, v double precision, studies bigint, today date) returns bigint language sql immutable parallel safe
     as $$ select least(studies, greatest(1, 1 + floor(((day - (today - 1095)) + v) * studies / 1095.0)::bigint)) $$",
];

async fn generate(pool: &PgPool, args: &Args, today: Date) -> Result<Dataset> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from finding").fetch_one(&mut *conn).await?;
    if existing > 0 && !args.reuse {
        return Err(format!(
            "the database already holds {existing} findings; give the benchmark an empty one (or --reuse)"
        )
        .into());
    }
    if existing == 0 {
        fill(&mut conn, args, today).await?;
        drop(conn);
        log("vacuum (analyze)");
        // What autovacuum does soon after a bulk insert: statistics and the visibility map (which
        // index-only scans need).
        for table in ["site", "app_user", "user_role", "user_site", "patient", "study", "finding"] {
            sqlx::query(&format!("vacuum (analyze) {table}")).execute(pool).await?;
        }
        sqlx::query("checkpoint").execute(pool).await.ok();
    } else {
        log(format!("reusing the {existing} findings already there"));
        drop(conn);
    }
    let seconds = (existing == 0).then(|| started.elapsed().as_secs_f64());

    // "My queue": coordinator 1 (site 1, the largest site, and only that site).
    let (coordinator, coordinator_name, coordinator_site, coordinator_site_code): (Uuid, String, Uuid, String) = sqlx::query_as(
        "select u.id, u.username, s.id, s.code from app_user u join user_site us on us.user_id = u.id join site s on s.id = us.site_id
         where u.username = 'bench-coordinator-01'",
    )
    .fetch_one(pool)
    .await?;
    let (patients, studies, findings): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from patient), (select count(*) from study), (select count(*) from finding)",
    )
    .fetch_one(pool)
    .await?;
    Ok(Dataset {
        today,
        studies,
        coordinator,
        coordinator_name,
        coordinator_site,
        coordinator_site_code,
        patients,
        findings,
        seconds,
    })
}

async fn fill(conn: &mut sqlx::PgConnection, args: &Args, today: Date) -> Result<()> {
    for helper in HELPERS {
        sqlx::query(helper).execute(&mut *conn).await?;
    }
    let patients = args.patients;
    let studies = patients * 3 / 2;

    log(format!("{SITES} sites, {COORDINATORS} coordinators and an admin"));
    sqlx::query(
        "insert into site (id, code, name, patient_id_authority)
         select md5('bench-site-' || n)::uuid, 'BENCH-' || n, 'Bench hospital ' || n, 'BENCH-' || n
         from generate_series(1, $1::int) n",
    )
    .bind(SITES)
    .execute(&mut *conn)
    .await?;
    // Coordinator k works at site ((k - 1) % 5) + 1; the last quarter at the next site too.
    sqlx::query(
        "insert into app_user (id, username, display_name, password_hash)
         select md5('bench-user-' || k)::uuid, 'bench-coordinator-' || lpad(k::text, 2, '0'), 'Coordinator ' || k, '!'
         from generate_series(1, $1::int) k
         union all select md5('bench-user-0')::uuid, 'bench-admin', 'Bench admin', '!'",
    )
    .bind(COORDINATORS)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into user_role (user_id, role)
         select md5('bench-user-' || k)::uuid, 'coordinator' from generate_series(1, $1::int) k
         union all select md5('bench-user-0')::uuid, 'admin'",
    )
    .bind(COORDINATORS)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into user_site (user_id, site_id)
         select md5('bench-user-' || k)::uuid, md5('bench-site-' || ((k - 1) % $2::int + 1))::uuid from generate_series(1, $1::int) k
         union all
         select md5('bench-user-' || k)::uuid, md5('bench-site-' || (k % $2::int + 1))::uuid
         from generate_series(1, $1::int) k where k > $1::int * 3 / 4",
    )
    .bind(COORDINATORS)
    .bind(SITES)
    .execute(&mut *conn)
    .await?;

    log(format!("{patients} patients"));
    sqlx::query(
        "insert into patient (id, patient_id, assigning_authority, name, sex, birth_date)
         select md5('bench-patient-' || p)::uuid, 'BP' || lpad(p::text, 8, '0'), 'BENCH', 'BENCH^PATIENT ' || p,
                case when pg_temp.u(p, 1) < 0.5 then 'F' else 'M' end,
                date '1940-01-01' + floor(pg_temp.u(p, 2) * (date '1990-12-31' - date '1940-01-01' + 1))::int
         from generate_series(1, $1::bigint) p",
    )
    .bind(patients)
    .execute(&mut *conn)
    .await?;

    log(format!("{studies} studies"));
    sqlx::query(
        "insert into study (id, study_uid, patient_ref, site_id, study_date, study_time, accession_number, description, institution_name)
         select md5('bench-study-' || s)::uuid, '1.2.826.0.1.3680043.10.1234.' || s,
                md5('bench-patient-' || pn)::uuid, md5('bench-site-' || pg_temp.site_of(pn))::uuid,
                pg_temp.study_date(s, $2, $3), '101500', 'BA' || s, 'CT CHEST ABDOMEN PELVIS', 'Bench hospital ' || pg_temp.site_of(pn)
         from generate_series(1, $2::bigint) s, lateral (select pg_temp.patient_of(s, $1) as pn) x",
    )
    .bind(patients)
    .bind(studies)
    .bind(today)
    .execute(&mut *conn)
    .await?;

    let mut from = 1;
    while from <= args.findings {
        let to = (from + CHUNK - 1).min(args.findings);
        log(format!("findings {from}..{to} of {}", args.findings));
        sqlx::query(FINDINGS_SQL)
            .bind(from)
            .bind(to)
            .bind(patients)
            .bind(studies)
            .bind(today)
            .execute(&mut *conn)
            .await?;
        from = to + 1;
    }
    Ok(())
}

/// Findings $1..$2 ($3 patients, $4 studies, $5 today). 80 % closed, 20 % open; an open
/// finding's due date follows the default service levels from its clock start, and its study
/// was taken on the day it was detected or up to two days before.
const FINDINGS_SQL: &str = "
insert into finding (patient_ref, study_ref, site_id, study_date, organ, class_label, probability, threshold,
                     class_probabilities, model_name, model_version, location, status, version, assignee_id, due_date,
                     detected_at, clock_start, workup_modality, workup_due, outcome, confirmed_by, outcome_date,
                     dismiss_reason, updated_at)
with drawn as (
    select i,
           case when pg_temp.u(i, 10) < 0.25 then 'dismissed'
                when pg_temp.u(i, 10) < 0.45 then 'benign'
                when pg_temp.u(i, 10) < 0.57 then 'no_lesion'
                when pg_temp.u(i, 10) < 0.65 then 'confirmed_malignant'
                when pg_temp.u(i, 10) < 0.73 then 'referred_to_mdt'
                when pg_temp.u(i, 10) < 0.77 then 'declined'
                when pg_temp.u(i, 10) < 0.80 then 'lost_to_followup'
                when pg_temp.u(i, 10) < 0.86 then 'new'
                when pg_temp.u(i, 10) < 0.90 then 'in_review'
                when pg_temp.u(i, 10) < 0.94 then 'workup_ordered'
                when pg_temp.u(i, 10) < 0.98 then 'workup_scheduled'
                else 'workup_done' end as status,
           case when pg_temp.u(i, 11) < 0.25 then 'lung'
                when pg_temp.u(i, 11) < 0.40 then 'breast'
                when pg_temp.u(i, 11) < 0.55 then 'colorectal'
                when pg_temp.u(i, 11) < 0.65 then 'stomach'
                when pg_temp.u(i, 11) < 0.75 then 'liver'
                when pg_temp.u(i, 11) < 0.85 then 'kidney'
                when pg_temp.u(i, 11) < 0.93 then 'pancreas'
                else 'esophagus' end as organ,
           -- Skewed towards the 0.5 threshold, as most positives are near it.
           0.5 + 0.4999 * pg_temp.u(i, 12) ^ 2 as probability
    from generate_series($1::bigint, $2::bigint) i
), timed as (
    select d.*,
           case d.status when 'new' then 3 when 'in_review' then 7 when 'workup_ordered' then 30
                         when 'workup_scheduled' then 30 when 'workup_done' then 60 end as sla
    from drawn d
), due as (
    -- Open: 30 % overdue (mostly by a little), 20 % due within the week, the rest later.
    select t.*,
           case when t.sla is null then null
                when pg_temp.u(i, 20) < 0.30 then -1 - floor(120 * pg_temp.u(i, 21) ^ 2)::int
                when pg_temp.u(i, 20) < 0.50 then least(t.sla, floor(8 * pg_temp.u(i, 21))::int)
                when t.sla <= 7 then floor((t.sla + 1) * pg_temp.u(i, 21))::int
                else 8 + floor((t.sla - 7) * pg_temp.u(i, 21))::int end as due_in
    from timed t
), placed as (
    select d.*,
           case when d.sla is null then 1 + floor(pg_temp.u(i, 22) * $4::bigint)::bigint
                else pg_temp.study_on($5::date + d.due_in - d.sla - floor(3 * pg_temp.u(i, 23))::int, pg_temp.u(i, 24), $4, $5)
           end as s
    from due d
), full_row as (
    select p.*, pg_temp.patient_of(p.s, $3) as pn, pg_temp.study_date(p.s, $4, $5) as study_day,
           case when p.sla is null then least($5::date, pg_temp.study_date(p.s, $4, $5) + floor(3 * pg_temp.u(i, 23))::int)
                else $5::date + p.due_in - p.sla end as clock_start
    from placed p
)
select md5('bench-patient-' || pn)::uuid,
       md5('bench-study-' || s)::uuid,
       md5('bench-site-' || pg_temp.site_of(pn))::uuid,
       study_day,
       organ,
       case organ when 'lung' then 'Cancer' when 'breast' then 'BC' when 'esophagus' then 'EC' when 'stomach' then 'GC'
                  when 'colorectal' then 'CRC' when 'liver' then 'HCC' when 'pancreas' then 'PDAC' else 'RCC' end,
       probability,
       0.5,
       jsonb_build_object(case organ when 'lung' then 'Cancer' when 'breast' then 'BC' when 'esophagus' then 'EC'
                                     when 'stomach' then 'GC' when 'colorectal' then 'CRC' when 'liver' then 'HCC'
                                     when 'pancreas' then 'PDAC' else 'RCC' end, round(probability::numeric, 3)),
       'reference-screening',
       '0.1.0',
       jsonb_build_object('sop_instance_uid', '1.2.826.0.1.3680043.10.1234.' || s || '.2.' || (40 + i % 200),
                          'slice_index', 40 + i % 200,
                          'center_mm', jsonb_build_array(round((pg_temp.u(i, 30) * 300 - 150)::numeric, 1),
                                                         round((pg_temp.u(i, 31) * 300 - 150)::numeric, 1),
                                                         round((pg_temp.u(i, 32) * -400)::numeric, 1)),
                          'diameter_mm', round((5 + pg_temp.u(i, 33) * 40)::numeric, 1)),
       status,
       case status when 'new' then 1 when 'in_review' then 2 when 'workup_ordered' then 3 when 'workup_scheduled' then 4
                   when 'workup_done' then 5 else 2 + floor(4 * pg_temp.u(i, 40))::int end,
       -- Half the open findings (and most closed ones) have a coordinator of their site.
       case when pg_temp.u(i, 41) < (case when sla is null then 0.7 else 0.5 end)
            then md5('bench-user-' || (pg_temp.site_of(pn) + 5 * floor(4 * pg_temp.u(i, 42))::int))::uuid end,
       clock_start + sla,
       least(now(), (clock_start + make_interval(secs => 28800 + 36000 * pg_temp.u(i, 43)))::timestamptz),
       clock_start,
       case when status in ('workup_ordered', 'workup_scheduled', 'workup_done') then 'contrast_ct' end,
       case when status in ('workup_ordered', 'workup_scheduled', 'workup_done') then clock_start + 30 end,
       case when status in ('confirmed_malignant', 'referred_to_mdt') then 'confirmed_malignant'
            when status in ('benign', 'no_lesion') then status end,
       case when status in ('confirmed_malignant', 'referred_to_mdt') then 'pathology'
            when status in ('benign', 'no_lesion') then 'imaging' end,
       case when status in ('confirmed_malignant', 'referred_to_mdt', 'benign', 'no_lesion')
            then least($5::date, clock_start + 10 + floor(50 * pg_temp.u(i, 44))::int) end,
       case when status = 'dismissed' then 'artefact: no lesion on review' end,
       now()
from full_row";

// -------------------------------------------------------------------------------------------
// The cases

enum Call {
    Page(WorklistQuery),
    Counts(Option<Vec<Uuid>>),
}

struct Case {
    name: String,
    scope: String,
    call: Call,
    explain: bool,
}

struct Measured {
    case: Case,
    rows: usize,
    total: i64,
    times: Vec<Duration>,
    /// For `page`: its two statements timed alone (rows, count).
    split: Option<(Vec<Duration>, Vec<Duration>)>,
    plans: Vec<(String, String, String)>,
}

fn cases(data: &Dataset) -> Vec<Case> {
    let admin = "all sites (admin)".to_owned();
    let coordinator = format!("{} ({})", data.coordinator_site_code, data.coordinator_name);
    let base = |scope: Option<Vec<Uuid>>| {
        let mut q = WorklistQuery::new(data.today);
        q.scope = scope;
        q.limit = PAGE;
        q
    };
    let all = || base(None);
    let site = || base(Some(vec![data.coordinator_site]));
    let page = |name: &str, scope: &str, q: WorklistQuery, explain: bool| Case {
        name: name.to_owned(),
        scope: scope.to_owned(),
        call: Call::Page(q),
        explain,
    };
    let with = |mut q: WorklistQuery, f: &dyn Fn(&mut WorklistQuery)| {
        f(&mut q);
        q
    };
    vec![
        page("Default: open, priority", &admin, all(), true),
        page("Default: open, priority", &coordinator, site(), true),
        page("My queue", &coordinator, with(site(), &|q| q.assignee = AssigneeFilter::User(data.coordinator)), true),
        page("Unassigned", &coordinator, with(site(), &|q| q.assignee = AssigneeFilter::Unassigned), true),
        page("Overdue", &coordinator, with(site(), &|q| q.overdue_only = true), true),
        page(
            "Due this week",
            &coordinator,
            with(site(), &|q| q.due_by = data.today.checked_add(time::Duration::days(7))),
            true,
        ),
        page("Unassigned", &admin, with(all(), &|q| q.assignee = AssigneeFilter::Unassigned), true),
        page("Overdue", &admin, with(all(), &|q| q.overdue_only = true), true),
        page(
            "Due this week",
            &admin,
            with(all(), &|q| q.due_by = data.today.checked_add(time::Duration::days(7))),
            true,
        ),
        page("Sort by probability", &admin, with(all(), &|q| q.sort = WorklistSort::Probability), false),
        page("Organ: pancreas", &admin, with(all(), &|q| q.organ = Some("pancreas".into())), false),
        page("Page 10 (offset 500)", &admin, with(all(), &|q| q.offset = 10 * PAGE), false),
        Case {
            name: "status_counts".into(),
            scope: coordinator.clone(),
            call: Call::Counts(Some(vec![data.coordinator_site])),
            explain: true,
        },
        Case { name: "status_counts".into(), scope: admin.clone(), call: Call::Counts(None), explain: true },
    ]
}

async fn call_once(pool: &PgPool, call: &Call, today: Date) -> Result<(usize, i64)> {
    Ok(match call {
        Call::Page(q) => {
            let (rows, total) = worklist::page(pool, q).await?;
            (rows.len(), total)
        }
        Call::Counts(scope) => {
            let counts = worklist::status_counts(pool, scope.as_deref(), today).await?;
            (counts.len(), counts.iter().map(|c| c.total).sum())
        }
    })
}

/// One statement of `page`, alone, not prepared (as `page` runs it).
async fn time_statement(pool: &PgPool, mut statement: QueryBuilder<'static, Postgres>) -> Result<Duration> {
    let started = Instant::now();
    statement.build().persistent(false).fetch_all(pool).await?;
    Ok(started.elapsed())
}

/// Every case, round after round (so that a disturbance on the machine hits all alike rather
/// than the cases that happened to run then); the first `warmup` rounds are not counted.
async fn measure(pool: &PgPool, cases: Vec<Case>, today: Date, args: &Args) -> Result<Vec<Measured>> {
    let mut measured: Vec<Measured> = cases
        .into_iter()
        .map(|case| {
            let split = matches!(case.call, Call::Page(_)).then(|| (Vec::new(), Vec::new()));
            Measured { case, rows: 0, total: 0, times: Vec::new(), split, plans: Vec::new() }
        })
        .collect();
    let rounds = args.warmup + args.runs;
    for round in 0..rounds {
        if round % 10 == 0 {
            log(format!("round {} of {rounds} ({} warm-up)", round + 1, args.warmup));
        }
        let counted = round >= args.warmup;
        for m in &mut measured {
            let started = Instant::now();
            (m.rows, m.total) = call_once(pool, &m.case.call, today).await?;
            let elapsed = started.elapsed();
            if let (Call::Page(q), Some((rows, count))) = (&m.case.call, &mut m.split) {
                let (r, c) = worklist::page_statements(q, "");
                let (r, c) = (time_statement(pool, r).await?, time_statement(pool, c).await?);
                if counted {
                    rows.push(r);
                    count.push(c);
                }
            }
            if counted {
                m.times.push(elapsed);
            }
        }
    }
    let prefix = "explain (analyze, buffers) ";
    for m in measured.iter_mut().filter(|m| m.case.explain) {
        let statements = match &m.case.call {
            Call::Page(q) => {
                let (r, c) = worklist::page_statements(q, prefix);
                vec![("page rows", r), ("count", c)]
            }
            Call::Counts(scope) => {
                let (totals, overdue) = worklist::status_counts_statements(scope.as_deref(), today, prefix);
                vec![("status counts: totals", totals), ("status counts: overdue", overdue)]
            }
        };
        for (label, mut statement) in statements {
            let sql = statement.sql().trim_start_matches(prefix).to_owned();
            let lines = statement.build().fetch_all(pool).await?;
            let plan = lines.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?.join("\n");
            m.plans.push((label.to_owned(), sql, plan));
        }
    }
    Ok(measured)
}

/// Nearest-rank percentile, in milliseconds.
fn percentile(times: &[Duration], p: f64) -> f64 {
    let mut sorted: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// -------------------------------------------------------------------------------------------
// The run and the report

async fn bench(url: &str, args: &Args, where_: &str) -> Result<String> {
    let pool = elysium_db::connect(url, 4).await?;
    elysium_db::migrate(&pool).await?;
    let load_start = load_average();
    let today = OffsetDateTime::now_utc().date();
    let data = generate(&pool, args, today).await?;
    if let Some(seconds) = data.seconds {
        log(format!("data ready in {seconds:.0} s"));
    }

    let cpu_before = cpu_ticks();
    let measured = measure(&pool, cases(&data), today, args).await?;
    for m in &measured {
        log(format!(
            "{} — {}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} rows of {})",
            m.case.name,
            m.case.scope,
            percentile(&m.times, 50.0),
            percentile(&m.times, 95.0),
            percentile(&m.times, 100.0),
            m.rows,
            m.total
        ));
    }
    let busy = busy_cores(cpu_before, cpu_ticks());
    let report = report(&pool, args, &data, &measured, where_, &load_start, busy).await?;
    pool.close().await;
    Ok(report)
}

/// (busy, all) jiffies of the whole machine, from /proc/stat.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let all: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((all - idle, all))
}

/// Cores the whole machine kept busy between two readings (this benchmark's client and server
/// keep about one busy: the calls run one at a time).
fn busy_cores(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((b0, a0), (b1, a1)) = (before?, after?);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as f64;
    (a1 > a0).then(|| (b1 - b0) as f64 / (a1 - a0) as f64 * cores)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn first_line_value(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
}

async fn report(
    pool: &PgPool,
    args: &Args,
    data: &Dataset,
    measured: &[Measured],
    where_: &str,
    load_start: &str,
    busy: Option<f64>,
) -> Result<String> {
    let version: String = sqlx::query_scalar("select version()").fetch_one(pool).await?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "select name, current_setting(name) from pg_settings
         where name in ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit',
                        'max_parallel_workers_per_gather', 'plan_cache_mode')
         order by name",
    )
    .fetch_all(pool)
    .await?;
    let shape: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done')),
                count(*) filter (where due_date < $1),
                count(*) filter (where due_date between $1 and $1 + 7),
                count(*) filter (where assignee_id is not null and due_date is not null),
                count(*) filter (where site_id = $2),
                count(*) filter (where site_id = $2 and due_date is not null),
                count(*) filter (where assignee_id = $3 and due_date is not null)
         from finding",
    )
    .bind(data.today)
    .bind(data.coordinator_site)
    .bind(data.coordinator)
    .fetch_one(pool)
    .await?;
    let sizes: Vec<(String, String)> = sqlx::query_as(
        "select c.relname::text, pg_size_pretty(pg_relation_size(c.oid))
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and (c.relname = 'finding' or c.oid in (select indexrelid from pg_index where indrelid = 'finding'::regclass))
         order by c.relkind desc, c.relname",
    )
    .fetch_all(pool)
    .await?;
    let ram = first_line_value("/proc/meminfo", "MemTotal")
        .and_then(|v| v.split_whitespace().next().and_then(|kb| kb.parse::<f64>().ok()))
        .map_or("?".to_owned(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = first_line_value("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let now = OffsetDateTime::now_utc();

    let mut out = String::new();
    let o = &mut out;
    writeln!(o, "## Coordinator worklist over {} findings\n", thousands(data.findings))?;
    writeln!(
        o,
        "Written by [`bench_worklist`](../../server/db/examples/bench_worklist.rs) on {}-{:02}-{:02} {:02}:{:02} UTC, on {where_}. \
         Each case is the exact `elysium_db::worklist::page` (or `status_counts`) call the worklist page makes, \
         timed from the client over a Unix socket (one connection pool, one call at a time) in {} rounds after {} warm-up \
         rounds, each round calling every case once. A `page` call runs two statements, the page's rows then the count; the \
         *rows* and *count* columns time each alone (median). The plans, for the default list, the quick filters and the \
         status counts, are `EXPLAIN (ANALYZE, BUFFERS)` of the statements as `page` and `status_counts` build them, with \
         the same values (they do not prepare their statements, so each call is planned for its values, as here). \
         Nothing here is asserted; cases above {TARGET_MS} ms at p95 are marked ⚠.\n",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        args.runs,
        args.warmup,
    )?;
    writeln!(o, "| Machine | |\n|---|---|")?;
    writeln!(o, "| CPU | {cpu} |")?;
    writeln!(o, "| Cores (nproc) | {cores} |")?;
    writeln!(o, "| RAM | {ram} |")?;
    writeln!(o, "| PostgreSQL | {version} |")?;
    let settings = settings.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
    writeln!(o, "| PostgreSQL settings | {settings} |")?;
    writeln!(o, "| Load average (1, 5, 15 min) before the data, at the end | {load_start}; {} |", load_average())?;
    let busy = busy.map_or("?".to_owned(), |b| format!("{b:.2}"));
    writeln!(
        o,
        "| Cores busy (whole machine) during the timed calls | {busy} (the calls alone keep about 1 busy; more means other work ran beside them) |\n"
    )?;

    let (open, overdue, week, assigned, site_all, site_open, mine) = shape;
    writeln!(o, "### Data\n")?;
    writeln!(
        o,
        "{} with set-based SQL (the `insert … select … from generate_series` statements in the example; \
         deterministic for given arguments, relative to today, {}), then `vacuum (analyze)`: \
         {SITES} sites (35/25/20/12/8 % of the patients), {} patients (sex F/M, born 1940–1990), {} studies over the last \
         three years (every patient at least one), {} findings over the 8 organs (`reference-screening` 0.1.0, probability \
         0.5–1.0 skewed towards the 0.5 threshold), 80 % closed (dismissed, benign, no lesion, confirmed malignant, \
         referred to MDT, declined, lost to follow-up) and 20 % open (new, in review, work-up ordered/scheduled/done) with \
         due dates from the default service levels; {COORDINATORS} coordinators, each at one site (the last five at two), \
         half the open findings assigned to one of their site's coordinators.\n",
        data.seconds.map_or("Generated (by an earlier run, reused)".to_owned(), |s| format!("Generated in {s:.0} s")),
        data.today,
        thousands(data.patients),
        thousands(data.studies),
        thousands(data.findings),
    )?;
    writeln!(
        o,
        "| Open | Overdue | Due within 7 days | Open, assigned | At {} (all / open) | Open, assigned to {} |",
        data.coordinator_site_code, data.coordinator_name
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    writeln!(
        o,
        "| {} | {} | {} | {} | {} / {} | {} |\n",
        thousands(open),
        thousands(overdue),
        thousands(week),
        thousands(assigned),
        thousands(site_all),
        thousands(site_open),
        thousands(mine)
    )?;
    let sizes = sizes.iter().map(|(k, v)| format!("`{k}` {v}")).collect::<Vec<_>>().join(", ");
    writeln!(o, "Sizes: {sizes}.\n")?;

    writeln!(o, "### Timings (ms)\n")?;
    writeln!(o, "| Case | Scope | Rows | Total | p50 | p95 | max | rows p50 | count p50 |")?;
    writeln!(o, "|---|---|---|---|---|---|---|---|---|")?;
    let mut slow = Vec::new();
    for m in measured {
        let p95 = percentile(&m.times, 95.0);
        let flag = if p95 > TARGET_MS { " ⚠" } else { "" };
        if p95 > TARGET_MS {
            slow.push(format!("{} ({})", m.case.name, m.case.scope));
        }
        let (r, c) = m.split.as_ref().map_or(("–".to_owned(), "–".to_owned()), |(r, c)| {
            (format!("{:.1}", percentile(r, 50.0)), format!("{:.1}", percentile(c, 50.0)))
        });
        writeln!(
            o,
            "| {} | {} | {} | {} | {:.1} | {:.1}{flag} | {:.1} | {r} | {c} |",
            m.case.name,
            m.case.scope,
            m.rows,
            thousands(m.total),
            percentile(&m.times, 50.0),
            p95,
            percentile(&m.times, 100.0),
        )?;
    }
    writeln!(o)?;
    if slow.is_empty() {
        writeln!(o, "Every case is within {TARGET_MS} ms at p95.\n")?;
    } else {
        writeln!(o, "Above {TARGET_MS} ms at p95: {}.\n", slow.join("; "))?;
    }
    writeln!(
        o,
        "*Rows*: rows returned (for `status_counts`, statuses); *Total*: the count `page` returns (for `status_counts`, the findings counted).\n"
    )?;

    writeln!(o, "### Plans\n")?;
    for m in measured.iter().filter(|m| !m.plans.is_empty()) {
        writeln!(o, "<details><summary>{} — {}</summary>\n", m.case.name, m.case.scope)?;
        for (label, sql, plan) in &m.plans {
            writeln!(o, "{label}:\n\n```sql\n{}\n```\n\n```text\n{plan}\n```\n", squeeze(sql))?;
        }
        writeln!(o, "</details>\n")?;
    }
    Ok(out)
}

/// The SQL on fewer lines (the builder's indentation removed).
fn squeeze(sql: &str) -> String {
    sql.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
