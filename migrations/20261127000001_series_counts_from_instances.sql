-- A series' instance count and latest arrival are read from its instance rows instead of being
-- kept on the series row. Keeping them there made every instance's transaction update its
-- series (and study) row, so the instances of one series queued on that row's lock until each
-- commit and could not be registered in parallel. Nothing is lost: both are derived from rows
-- that stay.
create index instance_series_received on instance (series_ref, received_at);
alter table series drop column instance_count, drop column last_instance_at;
