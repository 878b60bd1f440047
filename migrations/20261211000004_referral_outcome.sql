-- The sending site is told what became of a finding it referred: when the finding reaches an
-- outcome while the receiving site has it (the referral accepted), the referral records that
-- outcome and when, with an `outcome` event in its history. A finding reopened and closed again
-- records its new outcome the same way.
alter table referral add column outcome text, add column outcome_at timestamptz;
comment on column referral.outcome is 'The finding''s status when it reached an outcome at the receiving site; null until then';

alter table referral_event drop constraint referral_event_event_check;
alter table referral_event add constraint referral_event_event_check
    check (event in ('request', 'accept', 'decline', 'withdraw', 'outcome'));

-- The referrals reaching a study (the receiving site's access to its images goes through them).
create index referral_of_finding on referral (finding_id);

create or replace view referral_summary as
select r.id, r.finding_id, r.from_site_id, fs.code as from_site, r.to_site_id, ts.code as to_site,
       r.status, r.reason, r.requested_workup, r.decision_note, r.version,
       cu.display_name as created_by, r.created_at, du.display_name as decided_by, r.decided_at,
       f.organ, f.status as finding_status, p.patient_id, p.name as patient_name,
       r.outcome, r.outcome_at
  from referral r
  join site fs on fs.id = r.from_site_id
  join site ts on ts.id = r.to_site_id
  join finding f on f.id = r.finding_id
  join patient p on p.id = f.patient_ref
  left join app_user cu on cu.id = r.created_by
  left join app_user du on du.id = r.decided_by;
