//! 公文書管理: every decided 起案 and finished application is a record with a retention class;
//! when it ends, a disposal 起案 approves 廃棄 (personal data and files removed, a destruction
//! record kept) or 移管 (exported as a self-describing archive package, then removed here).

mod archive;
mod dispose;
mod keep;
mod model;
mod store;
mod sweep;

pub use dispose::*;
pub use keep::*;
pub use model::{Disposed, Record, Released};
pub use sweep::*;
