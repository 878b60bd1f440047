-- The chronic-disease pathway: findings raised from a screening result's biomarkers (fatty
-- liver, low bone density, coronary calcium) by the programme's cut-offs, each followed to the
-- patient's primary-care physician by letter. At most one open finding per patient and kind:
-- later studies add observations to it (the trend), they do not raise it again.
create table chronic_finding (
    id                    bigint generated always as identity primary key,
    patient_ref           uuid not null references patient(id),
    -- The site of the study that raised it (the coordinators who see it).
    site_id               uuid references site(id),
    kind                  text not null check (kind in ('steatosis', 'osteoporosis', 'coronary_calcium')),
    status                text not null default 'new'
                          check (status in ('new', 'letter_sent', 'acknowledged', 'closed')),
    criterion             text not null check (criterion in ('liver_below', 'liver_minus_spleen_below',
                          'osteoporosis_likely', 'low_bone_density', 'coronary_calcium_above')),
    -- The figure that raised it, in `unit`, and the cut-offs in force then.
    value                 double precision not null,
    unit                  text not null check (unit in ('HU', 'mm³')),
    rules                 jsonb not null,
    study_ref             uuid not null references study(id),
    screening_result_ref  bigint not null references screening_result(id),
    physician             text,
    close_reason          text,
    version               integer not null default 1,
    raised_at             timestamptz not null default now(),
    updated_at            timestamptz not null default now()
);
create unique index chronic_finding_one_open on chronic_finding (patient_ref, kind) where status <> 'closed';
create index chronic_finding_status on chronic_finding (status, raised_at desc);

-- Each screening result's figure for an open finding, whether or not it still meets the rule:
-- the trend the coordinator, the letter and the patient record show.
create table chronic_observation (
    id                    bigint generated always as identity primary key,
    chronic_ref           bigint not null references chronic_finding(id),
    screening_result_ref  bigint not null references screening_result(id),
    study_ref             uuid not null references study(id),
    value                 double precision not null,
    -- The criterion it meets under the cut-offs of its day (null: none).
    criterion             text,
    observed_on           date not null,
    unique (chronic_ref, screening_result_ref)
);
create index chronic_observation_finding on chronic_observation (chronic_ref, observed_on);

-- What people did, version by version (1 is the raising by the system).
create table chronic_event (
    id            bigint generated always as identity primary key,
    chronic_ref   bigint not null references chronic_finding(id),
    version       integer not null,
    kind          text not null check (kind in ('raised', 'send_letter', 'record_acknowledgement', 'close',
                                                'reopen', 'add_note')),
    from_status   text,
    to_status     text not null,
    actor_id      uuid references app_user(id),
    actor_role    text not null,
    occurred_at   timestamptz not null default now(),
    payload       jsonb not null default '{}'::jsonb,
    unique (chronic_ref, version)
);

create trigger chronic_observation_no_update_delete before update or delete on chronic_observation
    for each row execute function refuse_history_change();
create trigger chronic_event_no_update_delete before update or delete on chronic_event
    for each row execute function refuse_history_change();
create trigger chronic_event_no_truncate before truncate on chronic_event
    for each statement execute function refuse_history_change();

-- The cut-offs are a programme setting like the service levels.
alter table programme_setting drop constraint programme_setting_key_check;
alter table programme_setting add constraint programme_setting_key_check
    check (key in ('service_levels', 'inference_device', 'chronic_rules'));
