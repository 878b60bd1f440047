-- The longitudinal patient record. Two patient records of different assigning authorities (the
-- same person at two hospitals) can be linked as one person by a coordinator or administrator,
-- with a reason. A link never merges rows: each record keeps its studies, and the record page's
-- timeline spans the linked records. Unlinking ends the link (who, when, why) and keeps the row.
create table patient_link (
    id             bigint generated always as identity primary key,
    -- The pair in a fixed order, so that one pair has one active link whichever side linked it.
    patient_a      uuid not null references patient(id),
    patient_b      uuid not null references patient(id),
    reason         text not null check (length(btrim(reason)) between 1 and 2000),
    linked_by      uuid not null references app_user(id),
    linked_at      timestamptz not null default now(),
    unlinked_by    uuid references app_user(id),
    unlinked_at    timestamptz,
    unlink_reason  text check (length(unlink_reason) <= 2000),
    check (patient_a < patient_b),
    check ((unlinked_at is null) = (unlinked_by is null))
);
create unique index patient_link_active on patient_link (patient_a, patient_b) where unlinked_at is null;
create index patient_link_b on patient_link (patient_b) where unlinked_at is null;
