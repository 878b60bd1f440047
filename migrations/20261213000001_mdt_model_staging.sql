-- A staging model's run on a tumour-board case: the model (name, version, the ONNX file's
-- SHA-256), where it ran, and per TNM category it declares the label chosen (the most probable)
-- with every label's probability ({"t": {"label": "T1c", "probability": 0.6, "probabilities":
-- {"T1a": 0.1, ...}}, "n": {...}}). The proposal takes the declared categories from here and
-- the others from the measurements. A model runs once per case
-- (the unique key); runs are never changed.
create table mdt_model_staging (
    id             bigint generated always as identity primary key,
    case_id        bigint not null references mdt_case(id),
    model_name     text not null,
    model_version  text not null,
    model_sha256   text not null,
    provider       text not null,
    probabilities  jsonb not null check (jsonb_typeof(probabilities) = 'object'),
    created_at     timestamptz not null default now(),
    unique (case_id, model_name, model_version)
);
create trigger mdt_model_staging_no_update_delete before update or delete on mdt_model_staging
    for each row execute function refuse_history_change();
