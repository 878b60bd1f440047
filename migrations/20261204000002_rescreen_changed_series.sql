-- A series that changes after it was screened is screened again, on all its instances.
--
-- A series is "complete" after a quiet period without a new instance, so a sender that pauses
-- (a PACS retry, a slow link) could have a partial series screened, and the instances that came
-- later were never screened. Now an instance that arrives once the series has its automatic job
-- marks the series changed; once quiet again, it gets the next automatic job (generation 2, 3,
-- ...) on everything it holds. Earlier results are kept; the latest is current.

alter table screening_job add column generation integer not null default 1 check (generation >= 1);
drop index screening_job_auto_once;
create unique index screening_job_auto_once on screening_job (series_ref, model_name, model_version, generation)
    where reason = 'auto';

-- Series that received an instance after their automatic screening was queued, waiting to be
-- screened again. Ingest writes a row only for such late instances (rare), so instances of a
-- series arriving in parallel do not queue on it.
create table series_changed (
    series_ref  uuid primary key references series(id),
    changed_at  timestamptz not null default now()
);

-- How many instances each result was computed on (the study page says what a newer result
-- covers that an older one did not).
alter table screening_result add column instances integer check (instances >= 0);

-- One finding per (series, organ) from screening, whatever races: an automatic job and a
-- manual re-run finishing at the same moment raise it once.
create unique index finding_one_per_series_organ on finding (series_ref, organ)
    where series_ref is not null and screening_result_ref is not null;
