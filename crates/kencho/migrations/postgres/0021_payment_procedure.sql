-- A payment names the procedure its fee is for, so payments' reports need not read the
-- applications table (each capability reads its own tables). Filled in from the application
-- each payment was made for; procedures are versions, so the id is the version applied to.
ALTER TABLE payments ADD COLUMN procedure_id BIGINT NOT NULL DEFAULT 0;
UPDATE payments p SET procedure_id = a.procedure_id FROM applications a WHERE a.id = p.application_id;
