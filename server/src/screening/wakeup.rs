//! Wakes idle workers the moment jobs are queued: one `LISTEN screening_job_queued` per process
//! (a trigger on `screening_job` notifies it, see the migration `screening_job_notify`), fanned
//! out to the process's workers. The workers still poll the queue, so a lost notification or a
//! lost connection costs latency, never a job.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

const CHANNEL: &str = "screening_job_queued";
/// How long to wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(5);

/// Starts listening; the returned `Notify` wakes every worker waiting on it.
pub fn listen(pool: sqlx::PgPool) -> Arc<Notify> {
    let wakeup = Arc::new(Notify::new());
    let notify = wakeup.clone();
    tokio::spawn(async move {
        loop {
            match relay(&pool, &notify).await {
                Ok(()) => return,
                Err(error) => tracing::warn!(%error, "listening for queued screening jobs; workers poll meanwhile"),
            }
            tokio::time::sleep(RETRY).await;
        }
    });
    wakeup
}

/// Relays notifications until the pool closes (`Ok`) or the connection fails.
async fn relay(pool: &sqlx::PgPool, notify: &Notify) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        // `Some`: jobs were queued. `None`: the connection was lost and is being re-established,
        // and jobs queued meanwhile sent no notification we can see. Either way the workers look.
        match listener.try_recv().await {
            Ok(_) => notify.notify_waiters(),
            Err(sqlx::Error::PoolClosed) => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}
