-- Foundation: sites, users with roles, sign-in throttling, sessions, API tokens, audit trail.

create table site (
    id          uuid primary key default gen_random_uuid(),
    code        text not null unique check (code ~ '^[A-Z0-9][A-Z0-9-]{1,31}$'),
    name        text not null check (length(name) between 1 and 200),
    created_at  timestamptz not null default now()
);

create table app_user (
    id                   uuid primary key default gen_random_uuid(),
    -- Usernames are stored normalised (lower case) so that "Admin" and "admin" are one account.
    username             text not null unique check (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name         text not null check (length(display_name) between 1 and 200),
    password_hash        text not null,
    active               boolean not null default true,
    created_at           timestamptz not null default now(),
    password_changed_at  timestamptz not null default now()
);

create table user_role (
    user_id  uuid not null references app_user(id) on delete cascade,
    role     text not null check (role in ('coordinator', 'surgeon', 'radiologist', 'admin')),
    primary key (user_id, role)
);

create table user_site (
    user_id  uuid not null references app_user(id) on delete cascade,
    site_id  uuid not null references site(id),
    primary key (user_id, site_id)
);

-- Failed sign-ins per (username, client address); a pair that fails too often in the window is
-- locked. Attempts for unknown usernames are recorded too, so probing does not reveal which exist.
create table signin_failure (
    id           bigserial primary key,
    username     text not null,
    client_addr  text not null,
    failed_at    timestamptz not null default now()
);
create index signin_failure_pair on signin_failure (username, client_addr, failed_at);

create table signin_lock (
    username      text not null,
    client_addr   text not null,
    locked_at     timestamptz not null default now(),
    locked_until  timestamptz not null,
    primary key (username, client_addr)
);

-- API tokens for non-browser integrations (PACS, RIS, scripts). Only a SHA-256 of the token is
-- stored; the token itself is shown once, when it is created.
create table api_token (
    id            uuid primary key default gen_random_uuid(),
    user_id       uuid not null references app_user(id) on delete cascade,
    name          text not null check (length(name) between 1 and 100),
    token_sha256  text not null unique,
    created_at    timestamptz not null default now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- The session store's table, as tower-sessions-sqlx-store expects it, owned by our migrations so
-- that one migrator builds the whole schema.
create schema if not exists tower_sessions;
create table tower_sessions.session (
    id           text primary key not null,
    data         bytea not null,
    expiry_date  timestamptz not null
);
create index session_expiry on tower_sessions.session (expiry_date);

-- The audit trail: append-only, enforced by the database itself (IHE ATNA spirit).
create table audit_event (
    id              bigserial primary key,
    occurred_at     timestamptz not null default now(),
    actor_user_id   uuid,
    actor_username  text,
    actor_roles     text[] not null default '{}',
    action          text not null,
    target_type     text,
    target_id       text,
    patient_id      text,
    client_addr     text,
    outcome         text not null check (outcome in ('success', 'failure', 'denied')),
    detail          jsonb not null default '{}'::jsonb
);
create index audit_event_time on audit_event (occurred_at desc);
create index audit_event_actor on audit_event (actor_user_id, occurred_at desc);
create index audit_event_patient on audit_event (patient_id, occurred_at desc) where patient_id is not null;

create function refuse_audit_change() returns trigger language plpgsql as $$
begin
    raise exception 'audit_event is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger audit_event_no_update_delete before update or delete on audit_event
    for each row execute function refuse_audit_change();
create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function refuse_audit_change();
