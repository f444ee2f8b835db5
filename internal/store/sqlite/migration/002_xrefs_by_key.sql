-- seam trace follows cross-references by the business key they belong to
-- (and by value, which 001 indexes); without this index every trace step
-- scanned the whole table.
CREATE INDEX xrefs_key ON xrefs (key);
