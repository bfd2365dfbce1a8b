-- 行政手続法 (issue 18): a 補正 stops the 標準処理期間 clock instead of restarting it. When the
-- clock stopped; NULL while it runs.
ALTER TABLE applications ADD COLUMN paused_at INTEGER;
