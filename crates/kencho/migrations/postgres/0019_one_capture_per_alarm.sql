-- One capture record per alarm. The application checks first; this holds when two posts of the
-- same link race past that check (PostgreSQL, READ COMMITTED), so 錯誤捕獲 mail goes out once.
CREATE UNIQUE INDEX iot_captures_one_per_alarm ON iot_captures (alarm_id);
-- The 調定 of an application are read on every payment and case page.
CREATE INDEX chotei_by_application ON chotei (application_id);
