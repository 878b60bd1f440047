-- The screening job queue: one row per (series, model version) run. Workers claim jobs with
-- FOR UPDATE SKIP LOCKED and hold them by a lease they renew (heartbeat); a worker that dies
-- leaves a lease that expires, and the job is claimed again. A job that fails `max_attempts`
-- times ends `failed` with its last error.

create table screening_job (
    id                bigint generated always as identity primary key,
    series_ref        uuid not null references series(id),
    model_name        text not null,
    model_version     text not null,
    -- `skipped`: the series is not eligible for screening (the reason is in last_error).
    status            text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed', 'skipped')),
    -- What a running job is doing now (decode, volume, resample, inference, postprocess, store).
    stage             text,
    attempts          integer not null default 0 check (attempts >= 0),
    max_attempts      integer not null check (max_attempts between 1 and 100),
    -- Not claimed before this time (retry back-off).
    not_before        timestamptz not null default now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    heartbeat_at      timestamptz,
    last_error        text,
    -- `auto` when the series completed; `rerun` when someone asked.
    reason            text not null check (reason in ('auto', 'rerun')),
    requested_by      uuid references app_user(id),
    enqueued_at       timestamptz not null default now(),
    started_at        timestamptz,
    finished_at       timestamptz
);

-- The same series is screened automatically once per model version; re-runs are explicit.
create unique index screening_job_auto_once on screening_job (series_ref, model_name, model_version) where reason = 'auto';
-- What claimers scan: queued jobs by age, and running jobs by lease expiry.
create index screening_job_claimable on screening_job (not_before, id) where status = 'queued';
create index screening_job_leases on screening_job (lease_expires_at) where status = 'running';
create index screening_job_series on screening_job (series_ref, enqueued_at desc);

-- One screening result per finished job: what the model said about the series, with the
-- provenance needed to audit it years later (model name, version and ONNX checksum, the
-- execution provider and device that ran it, and the time each stage took).
create table screening_result (
    id                  bigint generated always as identity primary key,
    job_id              bigint not null unique references screening_job(id),
    series_ref          uuid not null references series(id),
    study_ref           uuid not null references study(id),
    model_name          text not null,
    model_version       text not null,
    model_sha256        text not null,
    execution_provider  text not null,
    device              text not null,
    -- {tumor_probabilities, positives, lesions, biomarkers}
    result              jsonb not null,
    timings_ms          jsonb not null,
    created_at          timestamptz not null default now()
);
create index screening_result_study on screening_result (study_ref, created_at desc);
create index screening_result_series on screening_result (series_ref, created_at desc);

-- The finding a positive screening result raised (provenance of triage items).
alter table finding add column screening_result_ref bigint references screening_result(id);
