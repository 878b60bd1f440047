-- A completion hint: when a sender said it had sent a series. The end of a C-STORE association
-- (a release, not an abort) or of a STOW-RS request that stored two or more instances of a series
-- sets it. A series whose last instance arrived no later than the hint is complete at once,
-- without waiting for the quiet period; an instance arriving after the hint makes the hint stale
-- (the series then waits to be quiet as before, and is screened again if it had been screened).
alter table series add column sender_done_at timestamptz;

comment on column series.sender_done_at is
  'when a sender last finished sending instances of this series (end of a C-STORE association or STOW-RS request)';
