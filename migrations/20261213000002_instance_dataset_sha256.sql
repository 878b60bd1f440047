-- The SHA-256 of an instance's data set without its file meta information (group 0002), with its
-- transfer syntax (`elysium_dicom::header::dataset_sha256_hex`): a resend under the same SOP
-- Instance UID whose file differs only in its file meta (C-STORE of what STOW-RS stored: the
-- listener writes its own) is the same instance, a duplicate. `sha256` stays the stored
-- original's identity and its object key's. Null for instances stored before this column (ingest
-- then reads it from the stored object when a resend needs it) and for files whose file meta
-- ends where that cannot be told for certain (the same instance only byte for byte).
alter table instance add column dataset_sha256 text check (dataset_sha256 ~ '^[0-9a-f]{64}$');
comment on column instance.dataset_sha256 is 'SHA-256 of the transfer syntax and the data set after group 0002; null: not known (computed from the object when needed)';
