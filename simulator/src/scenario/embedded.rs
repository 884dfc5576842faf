//! The scenarios shipped in `scenarios/`, built into the binary so `tgbench run smoke`
//! works from any directory.

/// (name, TOML text) of every shipped scenario.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("smoke", include_str!("../../../scenarios/smoke.toml")),
    ("idle-100", include_str!("../../../scenarios/idle-100.toml")),
    (
        "steady-100",
        include_str!("../../../scenarios/steady-100.toml"),
    ),
    (
        "burst-100",
        include_str!("../../../scenarios/burst-100.toml"),
    ),
    (
        "claims-100",
        include_str!("../../../scenarios/claims-100.toml"),
    ),
    ("capacity", include_str!("../../../scenarios/capacity.toml")),
    (
        "harness-cost",
        include_str!("../../../scenarios/harness-cost.toml"),
    ),
    (
        "faults-sut-kill",
        include_str!("../../../scenarios/faults-sut-kill.toml"),
    ),
    (
        "faults-sut-stop",
        include_str!("../../../scenarios/faults-sut-stop.toml"),
    ),
    (
        "faults-telegram-outage",
        include_str!("../../../scenarios/faults-telegram-outage.toml"),
    ),
    (
        "faults-telegram-errors",
        include_str!("../../../scenarios/faults-telegram-errors.toml"),
    ),
    (
        "faults-telegram-slow",
        include_str!("../../../scenarios/faults-telegram-slow.toml"),
    ),
    (
        "serverless-low-frequency",
        include_str!("../../../scenarios/serverless-low-frequency.toml"),
    ),
];

/// The text of a shipped scenario by name.
pub fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
