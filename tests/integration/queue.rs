//! The screening job queue against the real PostgreSQL: concurrent workers never share a job, a
//! worker that dies leaves a job that is claimed again after its lease, failures are retried and
//! a poison job ends `failed` with its error, automatic screening happens once per version, a
//! worker takes only jobs of the model version it runs, and queueing a job wakes idle workers.

use std::collections::HashSet;
use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_db::jobs::{self, EnqueueRequest, Enqueued, JobReason};
use sqlx::PgPool;

/// Stores `n` series (index rows) and returns their UIDs.
async fn series(pool: &PgPool, n: usize) -> Vec<String> {
    sqlx::query(
        "with p as (insert into patient (patient_id) values ('Q-1') returning id)
         insert into study (study_uid, patient_ref) select '2.25.77', id from p",
    )
    .execute(pool)
    .await
    .expect("study");
    let uids: Vec<String> = (0..n).map(|i| format!("2.25.77.{i}")).collect();
    for uid in &uids {
        sqlx::query("insert into series (series_uid, study_ref) select $1, id from study where study_uid = '2.25.77'")
            .bind(uid)
            .execute(pool)
            .await
            .expect("series");
    }
    uids
}

fn request(series_uid: &str, reason: JobReason, max_attempts: i32) -> EnqueueRequest {
    EnqueueRequest {
        series_uid: series_uid.to_owned(),
        model_name: "reference-screening".into(),
        model_version: "0.1.0".into(),
        reason,
        requested_by: None,
        max_attempts,
    }
}

async fn enqueue(pool: &PgPool, request: &EnqueueRequest) -> Enqueued {
    let mut conn = pool.acquire().await.expect("conn");
    jobs::enqueue(&mut conn, request).await.expect("enqueue")
}

const LEASE: Duration = Duration::from_secs(30);

/// A worker running `reference-screening` 0.1.0, the version [`request`] queues.
fn runs_0_1_0(owner: &str) -> jobs::Claimant<'_> {
    jobs::Claimant { owner, model_name: "reference-screening", model_version: "0.1.0" }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_worker_claims_only_jobs_of_the_model_version_it_runs(pool: PgPool) {
    let uids = series(&pool, 2).await;
    let mut newer = request(&uids[0], JobReason::Auto, 3);
    newer.model_version = "0.2.0".into();
    let Enqueued::Queued(newer_id) = enqueue(&pool, &newer).await else { panic!("queued") };
    let Enqueued::Queued(older_id) = enqueue(&pool, &request(&uids[1], JobReason::Auto, 3)).await else {
        panic!("queued")
    };
    // The 0.2.0 job is the older one in the queue, yet a 0.1.0 worker passes it by.
    let job = jobs::claim(&pool, &runs_0_1_0("old"), LEASE).await.expect("claim").expect("its version's job");
    assert_eq!((job.id, job.model_version.as_str()), (older_id, "0.1.0"));
    assert_eq!(jobs::claim(&pool, &runs_0_1_0("old"), LEASE).await.expect("claim"), None, "0.2.0 is not its to run");
    let other_model = jobs::Claimant { owner: "other", model_name: "another-model", model_version: "0.2.0" };
    assert_eq!(jobs::claim(&pool, &other_model, LEASE).await.expect("claim"), None, "the name counts too");
    let runs_0_2_0 = jobs::Claimant { owner: "new", model_name: "reference-screening", model_version: "0.2.0" };
    let job = jobs::claim(&pool, &runs_0_2_0, LEASE).await.expect("claim").expect("its version's job");
    assert_eq!((job.id, job.model_version.as_str()), (newer_id, "0.2.0"));
    // A dead 0.2.0 worker's job goes to another 0.2.0 worker, never to a 0.1.0 one.
    expire_lease(&pool, newer_id).await;
    assert_eq!(jobs::claim(&pool, &runs_0_1_0("old"), LEASE).await.expect("claim"), None);
    let again = jobs::Claimant { owner: "new-2", ..runs_0_2_0 };
    assert_eq!(jobs::claim(&pool, &again, LEASE).await.expect("claim").map(|j| j.id), Some(newer_id));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn automatic_screening_is_queued_once_per_model_version(pool: PgPool) {
    let uids = series(&pool, 1).await;
    let Enqueued::Queued(first) = enqueue(&pool, &request(&uids[0], JobReason::Auto, 3)).await else {
        panic!("queued")
    };
    assert_eq!(enqueue(&pool, &request(&uids[0], JobReason::Auto, 3)).await, Enqueued::AlreadyScreened(first));
    assert!(
        matches!(enqueue(&pool, &request(&uids[0], JobReason::Rerun, 3)).await, Enqueued::Queued(id) if id != first)
    );
    let mut other_version = request(&uids[0], JobReason::Auto, 3);
    other_version.model_version = "0.2.0".into();
    assert!(matches!(enqueue(&pool, &other_version).await, Enqueued::Queued(_)));
    assert_eq!(enqueue(&pool, &request("2.25.404", JobReason::Auto, 3)).await, Enqueued::UnknownSeries);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_workers_never_claim_the_same_job(pool: PgPool) {
    let uids = series(&pool, 40).await;
    for uid in &uids {
        enqueue(&pool, &request(uid, JobReason::Auto, 3)).await;
    }
    let workers = (0..6).map(|w| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut mine = Vec::new();
            while let Some(job) = jobs::claim(&pool, &runs_0_1_0(&owner), LEASE).await.expect("claim") {
                let mut conn = pool.acquire().await.expect("conn");
                assert!(jobs::complete(&mut conn, job.id, &owner).await.expect("complete"));
                mine.push(job.id);
            }
            mine
        })
    });
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every job ran");
    assert_eq!(distinct.len(), 40, "no job ran twice");
    assert_eq!(jobs::counts(&pool).await.expect("counts"), [("done".to_owned(), 40)]);
}

/// The job's lease ran out (its worker stopped renewing it).
async fn expire_lease(pool: &PgPool, id: i64) {
    sqlx::query("update screening_job set lease_expires_at = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("lease expired");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_dead_workers_job_is_claimed_again_after_its_lease(pool: PgPool) {
    let uids = series(&pool, 1).await;
    enqueue(&pool, &request(&uids[0], JobReason::Auto, 3)).await;
    let job = jobs::claim(&pool, &runs_0_1_0("doomed"), LEASE).await.expect("claim").expect("a job");
    assert_eq!(job.attempts, 1);
    assert_eq!(
        jobs::claim(&pool, &runs_0_1_0("other"), LEASE).await.expect("claim"),
        None,
        "held while the lease lasts"
    );
    // The worker dies: no heartbeat, no completion, and its lease runs out (set in the past here
    // rather than slept through, so a busy machine cannot make the lease outlive the check).
    expire_lease(&pool, job.id).await;
    let again = jobs::claim(&pool, &runs_0_1_0("survivor"), LEASE).await.expect("claim").expect("reclaimed");
    assert_eq!((again.id, again.attempts), (job.id, 2));
    // The dead worker, if it comes back, can no longer touch the job.
    assert!(!jobs::heartbeat(&pool, job.id, "doomed", LEASE, Some("inference")).await.expect("heartbeat"));
    let mut conn = pool.acquire().await.expect("conn");
    assert!(!jobs::complete(&mut conn, job.id, "doomed").await.expect("complete"));
    assert!(jobs::heartbeat(&pool, job.id, "survivor", LEASE, Some("inference")).await.expect("heartbeat"));
    assert!(jobs::complete(&mut conn, job.id, "survivor").await.expect("complete"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn failures_are_retried_and_a_poison_job_ends_failed_with_its_error(pool: PgPool) {
    let uids = series(&pool, 1).await;
    enqueue(&pool, &request(&uids[0], JobReason::Auto, 2)).await;
    let job = jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim").expect("job");
    let status = jobs::fail(&pool, job.id, "w", "decode: truncated pixel data", Duration::ZERO).await.expect("fail");
    assert_eq!(status.as_deref(), Some("queued"));
    let job = jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim").expect("retried");
    assert_eq!(job.attempts, 2);
    let status = jobs::fail(&pool, job.id, "w", "decode: truncated pixel data", Duration::ZERO).await.expect("fail");
    assert_eq!(status.as_deref(), Some("failed"));
    assert_eq!(
        jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim"),
        None,
        "a failed job is not claimed again"
    );
    let rows = jobs::of_study(&pool, "2.25.77").await.expect("jobs");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].last_error.as_deref()),
        ("failed", Some("decode: truncated pixel data"))
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn back_off_delays_the_retry_and_a_lease_lost_on_the_last_attempt_fails_the_job(pool: PgPool) {
    let uids = series(&pool, 2).await;
    enqueue(&pool, &request(&uids[0], JobReason::Auto, 3)).await;
    let job = jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim").expect("job");
    jobs::fail(&pool, job.id, "w", "busy", Duration::from_secs(3600)).await.expect("fail");
    assert_eq!(jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim"), None, "not before the back-off");

    enqueue(&pool, &request(&uids[1], JobReason::Auto, 1)).await;
    let job = jobs::claim(&pool, &runs_0_1_0("dies"), LEASE).await.expect("claim").expect("job");
    expire_lease(&pool, job.id).await;
    assert_eq!(jobs::claim(&pool, &runs_0_1_0("w"), LEASE).await.expect("claim"), None);
    let rows = jobs::of_study(&pool, "2.25.77").await.expect("jobs");
    let row = rows.iter().find(|r| r.id == job.id).expect("row");
    assert_eq!(row.status, "failed");
    assert!(row.last_error.as_deref().unwrap_or_default().contains("stopped answering"));
}

/// Queueing a job wakes idle workers at once through PostgreSQL's NOTIFY (the trigger on
/// `screening_job`), not at their next poll. The timeout only keeps a broken trigger from hanging
/// the suite; it asserts no speed.
#[sqlx::test(migrator = "MIGRATOR")]
async fn queueing_a_job_wakes_idle_workers(pool: PgPool) {
    let uids = series(&pool, 1).await;
    let wakeup = elysium_server::screening::wakeup::listen(pool.clone());
    // The listener connects in its own task: wait until its LISTEN has run.
    let mut listening = false;
    for _ in 0..200 {
        listening = sqlx::query_scalar::<_, bool>(
            "select exists (select 1 from pg_stat_activity
                            where datname = current_database() and query ilike 'LISTEN%screening_job_queued%')",
        )
        .fetch_one(&pool)
        .await
        .expect("activity");
        if listening {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "the process listens for queued jobs");
    let woken = wakeup.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    assert!(matches!(enqueue(&pool, &request(&uids[0], JobReason::Rerun, 3)).await, Enqueued::Queued(_)));
    tokio::time::timeout(Duration::from_secs(30), woken).await.expect("queueing a job woke the waiting workers");
}
