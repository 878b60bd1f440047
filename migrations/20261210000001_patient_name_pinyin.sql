-- The pinyin of a patient's ideographic name, so that a coordinator can find 王小明 by typing
-- "wang xiaoming" even when the images carried no alphabetic or phonetic group. Written by the
-- server wherever it writes the name (ingest, a resolved mismatch), and filled in at start for
-- names stored before it existed; patient search matches it like the name.
alter table patient add column name_pinyin text;
comment on column patient.name_pinyin is
  'Toneless pinyin of the name''s Han characters (per component, then joined), written by the server; null when the name has none';
