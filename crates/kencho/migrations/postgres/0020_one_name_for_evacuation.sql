-- One name per capability (issue 13): the evacuation tables are named after the capability
-- (evacuation_*), as its code and URLs are. Indexes keep their names.
ALTER TABLE evac_layers RENAME TO evacuation_layers;
ALTER TABLE evac_layer_heads RENAME TO evacuation_layer_heads;
ALTER TABLE evac_plans RENAME TO evacuation_plans;
ALTER TABLE evac_subscriptions RENAME TO evacuation_subscriptions;
ALTER TABLE evac_alerts RENAME TO evacuation_alerts;
ALTER TABLE evac_alert_areas RENAME TO evacuation_alert_areas;
ALTER TABLE evac_deliveries RENAME TO evacuation_deliveries;
