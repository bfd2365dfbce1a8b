-- マイ避難 (issue 18). An alert names the hazard it is about (洪水, 土砂災害 …; a JMA alert the
-- hazards of its levels) and who issued it: 'order' (発令 by the municipality) or 'equivalent'
-- (警戒レベル相当情報 from JMA, which is not an order). Alerts from before were all 'other'.
ALTER TABLE evac_alerts ADD COLUMN hazard TEXT NOT NULL DEFAULT 'other';
ALTER TABLE evac_alerts ADD COLUMN issuance TEXT NOT NULL DEFAULT 'order';
UPDATE evac_alerts SET issuance = 'equivalent' WHERE source = 'jma';

-- 個別避難計画 (災害対策基本法 49条の14–15): who recorded the consent, the explanation of sharing
-- given before it, and its withdrawal (when, by whom, how — sealed like the consent note).
ALTER TABLE evac_plans ADD COLUMN consent_by TEXT NOT NULL DEFAULT '';
ALTER TABLE evac_plans ADD COLUMN consent_explanation TEXT NOT NULL DEFAULT '';
ALTER TABLE evac_plans ADD COLUMN consent_withdrawn_at INTEGER;
ALTER TABLE evac_plans ADD COLUMN consent_withdrawn_by TEXT NOT NULL DEFAULT '';
ALTER TABLE evac_plans ADD COLUMN consent_withdrawn_note TEXT NOT NULL DEFAULT '';
