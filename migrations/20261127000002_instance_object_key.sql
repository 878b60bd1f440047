-- The orphan sweep asks which of a batch of object keys some instance references; each object
-- belongs to exactly one instance (the key is derived from its UIDs), which this also enforces.
create unique index instance_object_key on instance (object_key);
