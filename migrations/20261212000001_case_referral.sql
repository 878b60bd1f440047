-- A tumour-board case is referred the way a finding is: a case opened at a community hospital (or
-- a larynx case from its ENT clinic, which has no screening finding) goes to the board of a
-- municipal or provincial hospital. A referral is of exactly one finding or one case; a case has
-- at most one requested or accepted referral at a time, as a finding has. Its outcome is the
-- board's signed decision (`outcome = 'decided'`), which the sending site is told of as a
-- finding's outcome is.

alter table referral alter column finding_id drop not null;
alter table referral add column case_id bigint references mdt_case(id);
alter table referral add constraint referral_of_one check (num_nonnulls(finding_id, case_id) = 1);
comment on column referral.case_id is 'The tumour-board case referred (a referral is of a finding or of a case)';

create unique index referral_one_active_case on referral (case_id) where status in ('requested', 'accepted');
create index referral_of_case on referral (case_id);

-- The summary now reads the patient and the organ through the finding or the case; a case
-- referral's organ is the case's cancer, its `finding_status` null and its `case_status` the
-- case's.
drop view referral_summary;
create view referral_summary as
select r.id, r.finding_id, r.case_id, r.from_site_id, fs.code as from_site, r.to_site_id, ts.code as to_site,
       r.status, r.reason, r.requested_workup, r.decision_note, r.version,
       cu.display_name as created_by, r.created_at, du.display_name as decided_by, r.decided_at,
       coalesce(f.organ, c.cancer) as organ, f.status as finding_status, c.status as case_status,
       p.patient_id, p.name as patient_name,
       r.outcome, r.outcome_at
  from referral r
  join site fs on fs.id = r.from_site_id
  join site ts on ts.id = r.to_site_id
  left join finding f on f.id = r.finding_id
  left join mdt_case c on c.id = r.case_id
  join patient p on p.id = coalesce(f.patient_ref, c.patient_ref)
  left join app_user cu on cu.id = r.created_by
  left join app_user du on du.id = r.decided_by;
