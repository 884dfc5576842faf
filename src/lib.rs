//! The root package of the tgbench workspace. It holds no code of its own: its `tests/`
//! folder holds the end-to-end tests that cross crates (mock-telegram, the reference
//! servers, the `tgbench` simulator and the reports).
