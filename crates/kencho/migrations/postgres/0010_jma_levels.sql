-- JMA telegrams (issue 12): an alert raised by telegrams keeps the levels in force per hazard
-- (JSON, e.g. {"landslide":4,"rain":3}), so that lifting one hazard's warning never lowers what
-- another raised; each telegram keeps why it changed what it did, or nothing (JSON notes).
ALTER TABLE evac_alerts ADD COLUMN jma_levels TEXT NOT NULL DEFAULT '';
ALTER TABLE jma_telegrams ADD COLUMN reason TEXT NOT NULL DEFAULT '';
