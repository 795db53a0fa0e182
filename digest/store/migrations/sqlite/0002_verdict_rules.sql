-- Which rules made each verdict (Rules.fingerprint: the digest version and the rule data), so
-- that verdicts made by other rules can be found and brought up to date (digest reclassify).
-- Verdicts stored before this migration have '' (unknown rules): stale for any rule set.
ALTER TABLE verdicts ADD COLUMN rules TEXT NOT NULL DEFAULT '';
