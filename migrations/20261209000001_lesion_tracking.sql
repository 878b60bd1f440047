-- Lesion tracking: each finding that located a lesion is a sighting; sightings of one lesion on
-- a patient's successive studies form a track (matched by organ and anatomy-aligned position;
-- the rule is app::domain::lesions::matching). Sightings are never deleted: a person's split or
-- join moves them between tracks and is recorded in lesion_track_event.

-- The anatomical landmark of a series (elysium_measure::anatomical_anchor), measured once from
-- its voxels, or why it could not be.
create table series_anchor (
    series_ref    uuid primary key references series(id),
    point_mm      double precision[] check (point_mm is null or cardinality(point_mm) = 3),
    unmeasured    text,
    measured_at   timestamptz not null default now(),
    check ((point_mm is null) <> (unmeasured is null))
);

create table lesion_track (
    id            bigint generated always as identity primary key,
    -- The record of its first sighting (a track may span records linked as one person).
    patient_ref   uuid not null references patient(id),
    organ         text not null,
    -- 'tracking' for the rule; a person's username when they split a sighting off.
    created_by    text not null,
    created_at    timestamptz not null default now()
);
create index lesion_track_patient on lesion_track (patient_ref);

create table lesion_sighting (
    id            bigint generated always as identity primary key,
    track_ref     bigint not null references lesion_track(id),
    finding_ref   bigint not null unique references finding(id),
    patient_ref   uuid not null references patient(id),
    study_ref     uuid not null references study(id),
    organ         text not null,
    observed_on   date not null,
    center_mm     double precision[] not null check (cardinality(center_mm) = 3),
    -- center_mm minus the series' anchor; null when the anchor could not be measured.
    aligned_mm    double precision[] check (aligned_mm is null or cardinality(aligned_mm) = 3),
    diameter_mm   double precision not null check (diameter_mm > 0),
    -- 'rule' when tracking placed it; the username of the person who last moved it.
    placed_by     text not null default 'rule',
    created_at    timestamptz not null default now()
);
create index lesion_sighting_track on lesion_sighting (track_ref, observed_on);
create index lesion_sighting_patient on lesion_sighting (patient_ref);

-- A person's corrections, append-only.
create table lesion_track_event (
    id            bigint generated always as identity primary key,
    kind          text not null check (kind in ('split', 'join')),
    -- split: the track the sighting left and the new track; join: the track kept and the one
    -- whose sightings moved into it.
    track_ref     bigint not null references lesion_track(id),
    other_ref     bigint not null references lesion_track(id),
    sighting_ref  bigint references lesion_sighting(id),
    reason        text not null check (length(btrim(reason)) between 1 and 2000),
    actor_id      uuid not null references app_user(id),
    occurred_at   timestamptz not null default now()
);
create index lesion_track_event_track on lesion_track_event (track_ref);
create index lesion_track_event_other on lesion_track_event (other_ref);

-- A sighting moves between tracks but is never removed; the corrections are history.
create trigger lesion_sighting_no_delete before delete on lesion_sighting
    for each row execute function refuse_history_change();
create trigger lesion_track_event_no_update_delete before update or delete on lesion_track_event
    for each row execute function refuse_history_change();
create trigger lesion_track_event_no_truncate before truncate on lesion_track_event
    for each statement execute function refuse_history_change();
