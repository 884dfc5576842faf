//! The defaults of the flag structs (`PlatformOpts`, `PollingOpts`, `WebhookOpts`, …), taken
//! from their own `#[arg(default_value…)]` attributes: the defaults `--help` documents are the
//! defaults `Default` gives, with no second copy to drift.

/// The defaults of a flags struct, as its command line documents them (every `*Opts`'s
/// `Default`).
pub fn defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let matches = T::augment_args(clap::Command::new("defaults")).get_matches_from(["defaults"]);
    T::from_arg_matches(&matches).expect("every flag has a default")
}
