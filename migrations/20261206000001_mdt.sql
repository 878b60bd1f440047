-- The multidisciplinary tumour board: cases (from a referral or opened directly), the AI's
-- staging proposals and the measurements they come from, the board's decisions in versions,
-- signatures, meetings with their agendas, and the treatment that actually started.
--
-- Proposals, decisions, signatures, measurements and treatment records are append-only (the
-- `refuse_history_change` trigger of the follow-up history): an amendment is a new version, a
-- corrected measurement a new row naming the one it corrects. Only `mdt_case` changes, under
-- its `version` (optimistic concurrency, as findings).

-- A case opened directly (larynx from ENT) has no screening finding.
alter table mdt_case alter column finding_id drop not null;
alter table mdt_case alter column organ drop not null;
alter table mdt_case add column cancer text;
update mdt_case set cancer = organ;
update mdt_case set status = 'awaiting_review' where status = 'awaiting_staging';
alter table mdt_case
    alter column cancer set not null,
    add constraint mdt_case_cancer_check check (cancer in (
        'lung', 'esophagus', 'stomach', 'colorectal', 'liver', 'pancreas', 'kidney', 'breast', 'larynx')),
    alter column status set default 'awaiting_review',
    add constraint mdt_case_status_check check (status in ('awaiting_review', 'awaiting_signatures', 'decided')),
    add column edition text not null default 'ajcc8' check (edition in ('ajcc8', 'ajcc9')),
    add column histology text check (histology in ('squamous', 'adenocarcinoma')),
    add column subsite text check (subsite in ('supraglottic', 'glottic', 'subglottic')),
    -- Where a directly opened case came from and why ("ENT clinic: biopsy-proven glottic SCC").
    add column referral_note text check (length(referral_note) <= 2000),
    -- The CT series the proposal is measured on (the finding's, or chosen when opened).
    add column series_ref uuid references series(id),
    -- When the image measurement read that series: from then on, nodes and distant lesions
    -- count as assessed (none found is N0 / M0), even if it recorded nothing.
    add column images_measured_at timestamptz,
    add column version integer not null default 1 check (version >= 1),
    add column updated_at timestamptz not null default now(),
    add constraint mdt_case_histology_esophagus check (histology is null or cancer = 'esophagus'),
    add constraint mdt_case_subsite_larynx check (subsite is null or cancer = 'larynx');
update mdt_case m set series_ref = f.series_ref from finding f where f.id = m.finding_id;
create index mdt_case_patient on mdt_case (patient_ref);

-- What was measured on the case's images: the primary lesion, regional nodes, distant lesions,
-- and invasion of adjacent structures. By the image measurement (`source = 'image_analysis'`),
-- from the screening lesion, or by a radiologist, each with its slice and position.
create table mdt_measurement (
    id             bigint generated always as identity primary key,
    case_id        bigint not null references mdt_case(id),
    kind           text not null check (kind in ('primary', 'node', 'distant', 'invasion')),
    -- Long axis of a primary or distant lesion; short axis of a node (mm).
    size_mm        double precision check (size_mm > 0 and size_mm <= 500),
    -- A node's region or station, a distant lesion's organ, an invaded structure.
    location       text check (length(location) between 1 and 64),
    -- Node side relative to the primary: ipsilateral, contralateral, midline.
    side           text check (side in ('ipsilateral', 'contralateral', 'midline')),
    series_ref     uuid references series(id),
    slice_index    integer check (slice_index >= 0),
    position_mm    double precision[] check (position_mm is null or cardinality(position_mm) = 3),
    source         text not null check (source in ('image_analysis', 'screening', 'radiologist')),
    -- A radiologist's correction names the measurement it replaces; the old row stays.
    corrects       bigint references mdt_measurement(id),
    note           text check (length(note) <= 2000),
    recorded_by    uuid references app_user(id),
    recorded_at    timestamptz not null default now()
);
create index mdt_measurement_case on mdt_measurement (case_id, id);
create trigger mdt_measurement_no_update_delete before update or delete on mdt_measurement
    for each row execute function refuse_history_change();

-- The AI's proposal, one version per recomputation, never changed.
create table mdt_proposal (
    id             bigint generated always as identity primary key,
    case_id        bigint not null references mdt_case(id),
    version        integer not null check (version >= 1),
    edition        text not null check (edition in ('ajcc8', 'ajcc9')),
    t              text check (length(t) between 1 and 8),
    n              text check (length(n) between 1 and 8),
    m              text check (length(m) between 1 and 8),
    stage_group    text check (length(stage_group) between 1 and 32),
    confidence     double precision not null check (confidence between 0 and 1),
    -- 'measurement' (the derivation rules on measurements) or 'staging_model'.
    method         text not null check (method in ('measurement', 'staging_model')),
    model_name     text,
    model_version  text,
    model_sha256   text,
    -- The rules applied and the measurement ids they used: {"rules":[...],"measurements":[...]}.
    evidence       jsonb not null default '{}'::jsonb,
    created_by     uuid references app_user(id),
    created_at     timestamptz not null default now(),
    unique (case_id, version)
);
create trigger mdt_proposal_no_update_delete before update or delete on mdt_proposal
    for each row execute function refuse_history_change();

-- The board's decision, one version per review; an amendment of a signed version names its
-- reason. Signatures attach to a version.
create table mdt_decision (
    id                 bigint generated always as identity primary key,
    case_id            bigint not null references mdt_case(id),
    version            integer not null check (version >= 1),
    proposal_id        bigint references mdt_proposal(id),
    edition            text not null check (edition in ('ajcc8', 'ajcc9')),
    t                  text not null check (length(t) between 1 and 8),
    n                  text not null check (length(n) between 1 and 8),
    m                  text not null check (length(m) between 1 and 8),
    stage_group        text check (length(stage_group) between 1 and 32),
    t_reason           text check (length(t_reason) <= 2000),
    n_reason           text check (length(n_reason) <= 2000),
    m_reason           text check (length(m_reason) <= 2000),
    recommendation     text not null check (length(recommendation) between 1 and 64),
    note               text check (length(note) <= 2000),
    guideline_refs     text check (length(guideline_refs) <= 2000),
    amendment_reason   text check (length(amendment_reason) <= 2000),
    decided_by         uuid not null references app_user(id),
    decided_at         timestamptz not null default now(),
    unique (case_id, version)
);
create trigger mdt_decision_no_update_delete before update or delete on mdt_decision
    for each row execute function refuse_history_change();

create table mdt_signature (
    decision_id  bigint not null references mdt_decision(id),
    signer_id    uuid not null references app_user(id),
    signed_at    timestamptz not null default now(),
    primary key (decision_id, signer_id)
);
create trigger mdt_signature_no_update_delete before update or delete on mdt_signature
    for each row execute function refuse_history_change();

create table mdt_meeting (
    id           bigint generated always as identity primary key,
    site_id      uuid references site(id),
    title        text not null check (length(title) between 1 and 200),
    starts_at    timestamptz not null,
    chair_id     uuid references app_user(id),
    created_by   uuid references app_user(id),
    created_at   timestamptz not null default now()
);
create index mdt_meeting_starts on mdt_meeting (starts_at);

create table mdt_attendee (
    meeting_id  bigint not null references mdt_meeting(id) on delete cascade,
    user_id     uuid not null references app_user(id),
    primary key (meeting_id, user_id)
);

-- A meeting's agenda: cases in the order the coordinator set.
create table mdt_agenda_item (
    meeting_id  bigint not null references mdt_meeting(id) on delete cascade,
    case_id     bigint not null references mdt_case(id),
    position    integer not null check (position >= 1),
    added_by    uuid references app_user(id),
    added_at    timestamptz not null default now(),
    primary key (meeting_id, case_id),
    unique (meeting_id, position) deferrable initially deferred
);
create index mdt_agenda_case on mdt_agenda_item (case_id);

-- Treatment actually started, against the decision version it followed.
create table mdt_treatment (
    id                 bigint generated always as identity primary key,
    case_id            bigint not null references mdt_case(id),
    decision_id        bigint not null references mdt_decision(id),
    treatment          text not null check (length(treatment) between 1 and 64),
    started_on         date not null,
    deviation_reason   text check (length(deviation_reason) <= 2000),
    recorded_by        uuid not null references app_user(id),
    recorded_at        timestamptz not null default now()
);
create index mdt_treatment_case on mdt_treatment (case_id);
create trigger mdt_treatment_no_update_delete before update or delete on mdt_treatment
    for each row execute function refuse_history_change();
