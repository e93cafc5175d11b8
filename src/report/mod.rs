//! Charts (SVG and PNG, drawn with plotters) and self-contained HTML reports, built from what
//! runs leave on disk, so the same code serves simulated and live runs.
//!
//! - [`write_run_report`]: one run folder → six charts and `index.html`.
//! - [`write_compare_report`]: `flotilla compare` → strategy or policy panels, wait CDFs,
//!   table.
//! - [`write_sweep_report`]: a sweep → two Pareto scatters and the caller's tables.
//!
//! PNG text needs a TrueType font found at run time (see [`font`]); without one only the SVGs
//! are written.

mod backend;
pub mod charts;
mod compare;
pub mod font;
pub mod html;
mod run;
mod run_data;
pub mod series;
mod sweep;
mod tables;

pub use compare::{write_compare_report, Column, CompareKind, CompareRow, CompareTable};
pub use html::HtmlTable;
pub use run::write_run_report;
pub use sweep::{write_sweep_report, SweepPoint};
