-- Model governance: operating thresholds set by administrators over a model version's manifest
-- thresholds. Append-only: each change is a row (the current threshold of an output is its
-- latest row), with who changed it, why, and what the preview showed them before they did.
create table operating_threshold (
    id             bigint generated always as identity primary key,
    model_name     text not null,
    model_version  text not null,
    organ          text not null,
    class          text not null,
    threshold      double precision not null check (threshold > 0 and threshold < 1),
    previous       double precision not null,
    reason         text not null check (length(btrim(reason)) > 0),
    -- {series, positive_now, positive_then, gained, lost} over the last series screened.
    preview        jsonb not null,
    changed_by     uuid not null references app_user(id),
    changed_at     timestamptz not null default now()
);
create index operating_threshold_current on operating_threshold (model_name, model_version, organ, class, id desc);

-- The follow-up history's refusal of UPDATE and DELETE.
create trigger operating_threshold_append_only before update or delete on operating_threshold
    for each row execute function refuse_history_change();

-- What the governance page reads per model version: results by time.
create index screening_result_model on screening_result (model_name, model_version, created_at);

-- Shadow mode: a model version that screens the same series as the live one without raising
-- findings, so that the two can be compared before it goes live. One row per live result it
-- shadowed; kept apart from screening_result so that nothing that reads results (the study
-- page, the programme table, findings) can mistake a shadow verdict for a live one.
create table shadow_result (
    id                  bigint generated always as identity primary key,
    live_result_ref     bigint not null references screening_result(id),
    series_ref          uuid not null references series(id),
    model_name          text not null,
    model_version       text not null,
    model_sha256        text not null,
    execution_provider  text not null,
    device              text not null,
    -- {tumor_probabilities, positives, lesions}, as a live result.
    result              jsonb not null,
    timings_ms          jsonb not null,
    created_at          timestamptz not null default now(),
    unique (live_result_ref, model_name, model_version)
);
create index shadow_result_model on shadow_result (model_name, model_version, created_at);
