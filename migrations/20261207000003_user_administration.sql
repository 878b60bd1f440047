-- User administration: when a user's sessions were last ended (by an administrator, by
-- deactivation, or by a password change or reset), so that every session signed in before then
-- ends at its next request; and when the user last signed in, for the users page.
alter table app_user
    add column sessions_ended_at timestamptz,
    add column last_signin_at timestamptz;
