//! End-to-end tests across tgbench's crates, one module per area. They talk to real
//! servers over real HTTP on 127.0.0.1.
mod aiogram;
mod capacity;
mod claims_quick;
mod cpu_budget;
mod faults;
mod groups;
mod interrupt;
mod metrics;
mod replay;
mod run_smoke;
mod sampler_truth;
mod scenario_errors;
mod security;
mod serverless;
mod serverless_aiogram;
mod shipped_scenarios;
mod sim_support;
mod stacks;
mod teloxide_compat;
