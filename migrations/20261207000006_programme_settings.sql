-- Programme settings changed from the administrator's settings page, over the environment's
-- defaults: `service_levels` (the follow-up deadlines and the contact attempts before "lost")
-- and `inference_device`. Every server and worker reads them from here, so a change applies to
-- all of them; who changed what, from what, is in the audit trail (`settings.update`).
create table programme_setting (
    key         text primary key check (key in ('service_levels', 'inference_device')),
    value       jsonb not null,
    changed_by  uuid not null references app_user(id),
    changed_at  timestamptz not null default now()
);
