-- A tumour-board meeting as its lists and its page show it: site code, chair, attendees (by
-- name) and the number of cases on the agenda. One definition for the list and the single
-- meeting, which used to repeat the same joins.
create view mdt_meeting_summary as
select mt.id, mt.title, mt.starts_at, mt.site_id, si.code as site_code, mt.chair_id,
       cu.display_name as chair_name,
       coalesce(at.ids, '{}') as attendee_ids, coalesce(at.names, '{}') as attendees,
       (select count(*) from mdt_agenda_item a where a.meeting_id = mt.id) as case_count
  from mdt_meeting mt
  left join site si on si.id = mt.site_id
  left join app_user cu on cu.id = mt.chair_id
  left join lateral (select array_agg(u.id order by u.display_name) as ids,
                            array_agg(u.display_name order by u.display_name) as names
                       from mdt_attendee a join app_user u on u.id = a.user_id
                      where a.meeting_id = mt.id) at on true;
