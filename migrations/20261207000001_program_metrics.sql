-- Programme metrics.
--
-- A skipped series records the codes of the eligibility rules it failed (see
-- elysium_dicom::eligibility::SKIP_CODES, plus `unreadable`), so that the programme table counts
-- skipped series by reason and shows the reason in the reader's language. Series skipped before
-- this have none and count as `unrecorded`.
alter table screening_job add column skip_codes text[];

-- The programme table reads the positives of a period per cancer by scan date.
create index finding_scan_date on finding ((coalesce(study_date, (detected_at at time zone 'UTC')::date)), organ);
