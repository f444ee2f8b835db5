-- seam trace follows cross-references by the business key they belong to
-- (and by value, which 001 indexes); without this index every trace step
-- scans the whole table. Same index as the SQLite driver's 002.
CREATE INDEX xrefs_key ON xrefs (key);
