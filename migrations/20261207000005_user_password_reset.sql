-- Users and sites from the administration pages.
--
-- An account created on the users page, or whose password an administrator reset, signs in with
-- a temporary password that is good for one thing: choosing the user's own. Until then every
-- page leads to /account/password and the API answers 403 `password_change_required`.
alter table app_user add column must_change_password boolean not null default false;

-- The calling AE titles each site receives C-STORE from (edited on /admin/sites): an
-- association from one of them files its studies under that site. An AE title belongs to one
-- site at most. DICOM's AE value representation: 1 to 16 characters of the default repertoire
-- without the backslash or control characters; leading and trailing spaces are not significant,
-- so none are stored.
create table site_ae_title (
    ae_title    text primary key
                check (ae_title ~ '^[\x20-\x5B\x5D-\x7E]{1,16}$' and ae_title = btrim(ae_title) and ae_title <> ''),
    site_id     uuid not null references site(id) on delete cascade,
    created_at  timestamptz not null default now()
);
create index site_ae_title_site on site_ae_title (site_id);
