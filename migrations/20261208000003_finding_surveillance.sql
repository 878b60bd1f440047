-- Surveillance after a benign or indeterminate outcome: a finding closed as benign, with no
-- lesion, or dismissed can carry an interval (months) after which the patient is due for
-- imaging again. The due date shows on the patient's timeline and on the coordinators' list of
-- surveillance due; setting or ending it is an event in the finding's history like any other.
alter table finding
    add column surveillance_months integer check (surveillance_months between 1 and 60),
    add column surveillance_due date,
    add constraint finding_surveillance_both check ((surveillance_months is null) = (surveillance_due is null));
create index finding_surveillance_due on finding (surveillance_due) where surveillance_due is not null;
