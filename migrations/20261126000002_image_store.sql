-- The image store's index: patients, studies, series and instances as received. The original
-- bytes live in the object store under `object_key`; these rows are what queries read.

create table patient (
    id            uuid primary key default gen_random_uuid(),
    -- PatientID as sent (Type 2: may be empty), scoped by the issuer (IssuerOfPatientID).
    patient_id    text not null,
    issuer        text not null default '',
    name          text,
    sex           text,
    birth_date    date,
    created_at    timestamptz not null default now(),
    unique (issuer, patient_id)
);

create table study (
    id                   uuid primary key default gen_random_uuid(),
    study_uid            text not null unique,
    patient_ref          uuid not null references patient(id),
    site_id              uuid references site(id),
    study_date           date,
    study_time           text,
    accession_number     text,
    referring_physician  text,
    description          text,
    institution_name     text,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);
create index study_patient on study (patient_ref);
create index study_date_idx on study (study_date desc);
create index study_accession on study (accession_number);

create table series (
    id                      uuid primary key default gen_random_uuid(),
    series_uid              text not null unique,
    study_ref               uuid not null references study(id),
    modality                text,
    body_part               text,
    description             text,
    series_number           integer,
    contrast_agent          text,
    contrast_route          text,
    image_type              text[] not null default '{}',
    slice_thickness         double precision,
    pixel_spacing           double precision[],
    image_orientation       double precision[],
    rows                    integer,
    columns                 integer,
    kvp                     double precision,
    manufacturer            text,
    frame_of_reference_uid  text,
    instance_count          integer not null default 0,
    last_instance_at        timestamptz not null default now(),
    created_at              timestamptz not null default now()
);
create index series_study on series (study_ref);

create table instance (
    id                   uuid primary key default gen_random_uuid(),
    sop_instance_uid     text not null unique,
    series_ref           uuid not null references series(id),
    sop_class_uid        text not null,
    transfer_syntax_uid  text not null,
    instance_number      integer,
    image_position       double precision[],
    number_of_frames     integer,
    rescale_slope        double precision,
    rescale_intercept    double precision,
    sha256               text not null,
    size_bytes           bigint not null,
    object_key           text not null,
    received_via         text not null check (received_via in ('stow', 'cstore', 'upload', 'cli', 'demo')),
    received_at          timestamptz not null default now()
);
create index instance_series on instance (series_ref, instance_number);
