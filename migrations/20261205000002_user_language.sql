-- A user's chosen interface language (BCP 47); null: the browser's Accept-Language decides.
alter table app_user add column language text check (language in ('en', 'zh-Hans'));
