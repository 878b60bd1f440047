-- Follow-up of AI-positive findings: each finding, its append-only event history, and the MDT
-- cases that confirmed cancers open. The finding row is a projection of its events (status,
-- version, current order, outcome) kept in step by the server in the same transaction; the
-- events are the record.

create table finding (
    id                     bigint generated always as identity primary key,
    patient_ref            uuid not null references patient(id),
    study_ref              uuid not null references study(id),
    series_ref             uuid references series(id),
    -- The study's site and date, copied here because the worklist filters and sorts on them
    -- for a million rows; a study's site and date do not change after ingest.
    site_id                uuid references site(id),
    study_date             date,
    organ                  text not null check (organ in ('lung', 'breast', 'esophagus', 'stomach', 'colorectal', 'liver', 'pancreas', 'kidney')),
    class_label            text not null check (length(class_label) between 1 and 64),
    probability            double precision not null check (probability between 0 and 1),
    threshold              double precision not null check (threshold between 0 and 1),
    -- The organ's class probabilities from the screening result (class -> probability).
    class_probabilities    jsonb not null default '{}'::jsonb,
    model_name             text not null,
    model_version          text not null,
    -- Where the model located the lesion: {sop_instance_uid, slice_index, center_mm, diameter_mm}.
    location               jsonb,
    status                 text not null default 'new' check (status in (
                               'new', 'in_review', 'dismissed', 'workup_ordered', 'workup_scheduled', 'workup_done',
                               'confirmed_malignant', 'benign', 'no_lesion', 'declined', 'lost_to_followup', 'referred_to_mdt')),
    -- Every write names the version it saw; a stale one is refused (optimistic concurrency).
    version                integer not null default 1 check (version >= 1),
    assignee_id            uuid references app_user(id),
    -- Derived from the status and the service levels on every transition; "overdue" is computed
    -- at read time from this and today.
    due_date               date,
    detected_at            timestamptz not null default now(),
    -- Detection date, or the last reopening: service levels count from here.
    clock_start            date not null default current_date,
    workup_modality        text,
    workup_due             date,
    workup_responsible     text,
    appointment_date       date,
    appointment_site       text,
    outcome                text check (outcome in ('confirmed_malignant', 'benign', 'no_lesion')),
    confirmed_by           text check (confirmed_by in ('pathology', 'imaging')),
    diagnosis              text,
    outcome_date           date,
    dismiss_reason         text,
    unsuccessful_contacts  integer not null default 0,
    updated_at             timestamptz not null default now()
);

-- The worklist's access paths. Open findings are the working set; each index covers it only.
-- The two ordered ones carry the filter columns, so that a page's scan checks the filters in
-- the index (index-only) instead of fetching every row it passes over; the others answer the
-- worklist's counts from the index alone (`make bench` measures them over a million findings).
create index finding_open_priority on finding (probability desc, id) include (due_date, site_id, assignee_id, organ)
    where status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done');
create index finding_open_due on finding (due_date, probability desc, id) include (site_id, assignee_id, organ)
    where status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done');
create index finding_open_assignee on finding (assignee_id, site_id, due_date)
    where status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done');
create index finding_open_organ on finding (organ, site_id)
    where status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done');
-- Site first: a coordinator's counts per status (and overdue) read only their sites' range.
create index finding_site_status on finding (site_id, status, due_date);
create index finding_patient on finding (patient_ref, detected_at desc);
create index finding_study on finding (study_ref);

-- Findings per (site, status), kept by triggers in the same transaction as every change, so
-- that the worklist's counts per state read a few dozen rows instead of counting a million.
-- Findings without a site count under the nil UUID.
create table finding_count (
    site_key  uuid not null,
    status    text not null,
    n         bigint not null default 0 check (n >= 0),
    primary key (site_key, status)
);

create function finding_count_change() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        update finding_count set n = n - 1
        where site_key = coalesce(old.site_id, '00000000-0000-0000-0000-000000000000') and status = old.status;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into finding_count (site_key, status, n)
        values (coalesce(new.site_id, '00000000-0000-0000-0000-000000000000'), new.status, 1)
        on conflict (site_key, status) do update set n = finding_count.n + 1;
    end if;
    return null;
end;
$$;
create trigger finding_count_insert_delete after insert or delete on finding
    for each row execute function finding_count_change();
create trigger finding_count_update after update of status, site_id on finding
    for each row when (old.status is distinct from new.status or old.site_id is distinct from new.site_id)
    execute function finding_count_change();
-- (TRUNCATE cannot skip the triggers unnoticed: finding_event, which references every finding,
-- refuses it.)

create table finding_event (
    id              bigint generated always as identity primary key,
    finding_id      bigint not null references finding(id),
    -- The finding's version after this event: one event per version, no gaps.
    version         integer not null,
    event           text not null,
    from_status     text not null,
    to_status       text not null,
    actor_user_id   uuid references app_user(id),
    actor_username  text not null,
    -- The role under which the actor performed the event (`system` for the screening pipeline).
    actor_role      text not null,
    occurred_at     timestamptz not null default now(),
    reason          text,
    payload         jsonb not null default '{}'::jsonb,
    unique (finding_id, version)
);

create function refuse_history_change() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger finding_event_no_update_delete before update or delete on finding_event
    for each row execute function refuse_history_change();
create trigger finding_event_no_truncate before truncate on finding_event
    for each statement execute function refuse_history_change();

-- A confirmed cancer referred to the multidisciplinary tumour board. The staging workflow
-- (AI-proposed TNM, overrides, the signed recommendation) builds on this row.
create table mdt_case (
    id           bigint generated always as identity primary key,
    finding_id   bigint not null unique references finding(id),
    patient_ref  uuid not null references patient(id),
    site_id      uuid references site(id),
    organ        text not null,
    diagnosis    text,
    status       text not null default 'awaiting_staging',
    opened_at    timestamptz not null default now(),
    opened_by    uuid references app_user(id)
);
create index mdt_case_status on mdt_case (status, opened_at);
