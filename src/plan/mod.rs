//! Capacity planning: what-if sweeps over a grid of scenario parameters, each point run over
//! many seeds (Monte Carlo over Spot interruptions and prices) and summarised with
//! confidence intervals; Pareto fronts; and the recommendation of `flotilla plan`.

pub mod grid;
pub mod recommend;
pub mod run;
pub mod search;
pub mod stats;
pub mod table;
pub mod tomlpath;
