-- Idle screening workers wait on this channel instead of polling the queue only once a second:
-- any statement that queues jobs (the scheduler, an admin's re-run, a script) wakes them at once.
-- One notification per statement; the payload is empty because every waiting worker simply
-- tries to claim (FOR UPDATE SKIP LOCKED decides who gets which job).
create function screening_job_queued() returns trigger
language plpgsql as $$
begin
    perform pg_notify('screening_job_queued', '');
    return null;
end;
$$;

create trigger screening_job_queued
    after insert on screening_job
    for each statement execute function screening_job_queued();
