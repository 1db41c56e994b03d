//! Deploy progress moved to the output layer ([`crate::ui`]); this alias keeps the watcher's
//! import path.

pub use crate::ui::JobLine;
