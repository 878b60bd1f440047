-- The language the patient's letters are printed in (BCP 47), chosen for the patient by the
-- follow-up team; null: not chosen yet (letters are then printed in English).
alter table patient add column letter_language text check (letter_language in ('en', 'zh-Hans'));
