-- Patient identity: a patient is (assigning authority, PatientID), never PatientID alone.
--
-- Each hospital assigns its own patient IDs, so MRN 12345 at one site and MRN 12345 at another
-- are two people. The authority comes from the instance (IssuerOfPatientID, or the Issuer of
-- Patient ID Qualifiers Sequence) or, when the sender leaves it out, from the receiving site's
-- configured authority. Before this migration every patient was keyed by PatientID with an
-- empty issuer, so studies of two sites could share one patient row; they are split here, one
-- row per (site, PatientID), without losing a study. Linking two records of one person across
-- authorities (an enterprise patient index) is a separate relation that never merges rows.

-- Every site has the authority that assigns its patient IDs (by default its code).
alter table site add column patient_id_authority text;
update site set patient_id_authority = code;
alter table site
    alter column patient_id_authority set not null,
    add constraint site_patient_id_authority_check check (length(patient_id_authority) between 1 and 64),
    add constraint site_patient_id_authority_key unique (patient_id_authority);

alter table patient rename column issuer to assigning_authority;
alter table patient rename constraint patient_issuer_patient_id_key to patient_assigning_authority_patient_id_key;

-- Split: each (patient, site of one of its studies) becomes its own patient under that site's
-- authority. The first site (by its earliest study) keeps the row; the others get copies with
-- the same demographics, and their studies, findings and MDT cases move with them. Studies
-- without a site stay on the original row, whose authority stays empty: "received before
-- every study named its site", shown as such and resolvable by a person.
do $$
declare
    pair record;
    target uuid;
begin
    for pair in
        select st.patient_ref, st.site_id, min(st.created_at) as first_at,
               row_number() over (partition by st.patient_ref order by min(st.created_at), st.site_id) as rank
        from study st join patient p on p.id = st.patient_ref
        where p.assigning_authority = '' and st.site_id is not null
        group by st.patient_ref, st.site_id
        order by st.patient_ref, rank
    loop
        if pair.rank = 1 and not exists (
            select 1 from study where patient_ref = pair.patient_ref and site_id is null
        ) then
            update patient set assigning_authority = (select patient_id_authority from site where id = pair.site_id)
            where id = pair.patient_ref;
            continue;
        end if;
        insert into patient (patient_id, assigning_authority, name, sex, birth_date, created_at)
        select p.patient_id, si.patient_id_authority, p.name, p.sex, p.birth_date, p.created_at
        from patient p, site si where p.id = pair.patient_ref and si.id = pair.site_id
        returning id into target;
        update study set patient_ref = target where patient_ref = pair.patient_ref and site_id = pair.site_id;
    end loop;
    update finding f set patient_ref = st.patient_ref from study st
    where st.id = f.study_ref and f.patient_ref <> st.patient_ref;
    update mdt_case m set patient_ref = f.patient_ref from finding f
    where f.id = m.finding_id and m.patient_ref <> f.patient_ref;
    -- Patients left with no study at all (every study moved away) are removed.
    delete from patient p
    where p.assigning_authority = ''
      and not exists (select 1 from study where patient_ref = p.id)
      and not exists (select 1 from finding where patient_ref = p.id)
      and not exists (select 1 from mdt_case where patient_ref = p.id);
end $$;

-- A study filed under a patient whose stored name or birth date differs from the study's own:
-- kept and attached (the IDs match), never used to rename the patient silently, and shown on
-- the study and the patient until a person resolves it.
create table demographics_mismatch (
    id              uuid primary key default gen_random_uuid(),
    patient_ref     uuid not null references patient(id),
    study_ref       uuid not null references study(id),
    field           text not null check (field in ('name', 'birth_date')),
    stored_value    text not null,
    received_value  text not null,
    detected_at     timestamptz not null default now(),
    -- `kept_stored`: the patient's record was right; `updated_patient`: the study's value was
    -- right and the patient now carries it (the old value stays here).
    resolution      text check (resolution in ('kept_stored', 'updated_patient')),
    resolved_by     uuid references app_user(id),
    resolved_at     timestamptz,
    resolution_note text check (length(resolution_note) <= 2000),
    unique (study_ref, field),
    check ((resolution is null) = (resolved_at is null))
);
create index demographics_mismatch_open on demographics_mismatch (patient_ref) where resolution is null;
