-- Surnames read otherwise as surnames (单 shan, 解 xie, 尉迟 yuchi ...) now also get their
-- surname's reading in name_pinyin (app/src/service/names.rs, SURNAME_READINGS). The pinyin of
-- names holding one of those characters is cleared here, so that the server's start-up fill-in
-- writes it again with both readings.
update patient set name_pinyin = null
 where name_pinyin is not null and name ~ '[单解仇区查朴盖乐曾缪翟尉秘繁覃员种召]|万俟';
