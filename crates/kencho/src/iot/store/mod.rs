//! Every SQL statement of the IoT capability (the ingest sub-area keeps its own in
//! `ingest/store.rs`), one file per area, named as the service file it serves. A function here
//! does one read or write and returns model types or plain values: no permission checks, no
//! audit entries, no mail, no decisions.

pub mod alarms;
pub mod applications;
pub mod captures;
pub mod permits;
pub mod registry;
pub mod timers;
pub mod watch;
