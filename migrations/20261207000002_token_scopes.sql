-- API tokens become scoped and may expire. A token's scopes narrow what its owner's roles allow
-- (server/src/auth/policy.rs, TOKEN_SCOPES): a PACS's `dicom:write` token stores images and
-- nothing else, even when its owner is an administrator. Tokens made before scopes existed keep
-- their owner's full rights (`all`) until they are revoked.
alter table api_token
    add column scopes text[] not null default '{all}' check (cardinality(scopes) between 1 and 16),
    add column expires_at timestamptz,
    add column created_by uuid references app_user(id);
alter table api_token alter column scopes drop default;
