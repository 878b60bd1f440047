-- Cross-site referral in a tiered hospital network (community, county, municipal, provincial):
-- a site's level, the referral routes administrators open between sites, and the referrals of
-- findings from the site that screened them to the site that works them up. The rules (which
-- event is possible in which state, by which side) are app/src/domain/referral; the database
-- keeps what the rules cannot see: one active referral per finding, and routes and referrals
-- between distinct sites.

-- A site outside the network has no level and takes part in no referral.
alter table site add column level text check (level in ('community', 'county', 'municipal', 'provincial'));
comment on column site.level is 'The site''s level in the referral network; null: not in the network';

create table referral_route (
    from_site_id  uuid not null references site(id),
    to_site_id    uuid not null references site(id),
    created_by    uuid references app_user(id),
    created_at    timestamptz not null default now(),
    primary key (from_site_id, to_site_id),
    check (from_site_id <> to_site_id)
);
comment on table referral_route is 'Which site may refer findings to which (configured by administrators)';

create table referral (
    id                 bigint generated always as identity primary key,
    finding_id         bigint not null references finding(id),
    from_site_id       uuid not null references site(id),
    to_site_id         uuid not null references site(id),
    status             text not null default 'requested'
                       check (status in ('requested', 'accepted', 'declined', 'withdrawn')),
    reason             text not null check (length(reason) between 1 and 2000),
    requested_workup   text not null,
    -- The receiving site's note on accepting, its reason on declining, or the sender's reason
    -- for withdrawing: the latest decision's words (every event is also in referral_event).
    decision_note      text check (length(decision_note) <= 2000),
    version            integer not null default 1,
    created_by         uuid references app_user(id),
    created_at         timestamptz not null default now(),
    decided_by         uuid references app_user(id),
    decided_at         timestamptz,
    check (from_site_id <> to_site_id)
);
-- At most one referral of a finding is requested or accepted at a time.
create unique index referral_one_active on referral (finding_id) where status in ('requested', 'accepted');
create index referral_incoming on referral (to_site_id, status, created_at desc);
create index referral_outgoing on referral (from_site_id, status, created_at desc);

create table referral_event (
    id           bigint generated always as identity primary key,
    referral_id  bigint not null references referral(id),
    event        text not null check (event in ('request', 'accept', 'decline', 'withdraw')),
    note         text check (length(note) <= 2000),
    actor_id     uuid references app_user(id),
    at           timestamptz not null default now()
);
create index referral_event_of on referral_event (referral_id, at);

-- A referral as its lists and pages show it: both sites' codes, who sent and who decided, and
-- the finding and patient the receiving site needs to decide.
create view referral_summary as
select r.id, r.finding_id, r.from_site_id, fs.code as from_site, r.to_site_id, ts.code as to_site,
       r.status, r.reason, r.requested_workup, r.decision_note, r.version,
       cu.display_name as created_by, r.created_at, du.display_name as decided_by, r.decided_at,
       f.organ, f.status as finding_status, p.patient_id, p.name as patient_name
  from referral r
  join site fs on fs.id = r.from_site_id
  join site ts on ts.id = r.to_site_id
  join finding f on f.id = r.finding_id
  join patient p on p.id = f.patient_ref
  left join app_user cu on cu.id = r.created_by
  left join app_user du on du.id = r.decided_by;
