//! The keys of fleets and of SUTs measured where they run: `[[sut]] replicas` (checked
//! here beside the rest of a `[[sut]]` in `validate`).

use super::locate::{Seg, key_path as path};
use super::{Kind, Sut};

/// Most replicas of one SUT on this machine.
pub const MAX_REPLICAS: u32 = 64;

/// The fleet keys of `[[sut]]` #`i`.
pub(super) fn check_sut(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), sut: &Sut, i: usize) {
    if let Some(n) = sut.replicas {
        if sut.kind == Kind::Serverless {
            bad(
                path!["sut", i, "replicas"],
                Some(n.to_string()),
                "not for kind = \"serverless\" (the platform scales its environments itself: use concurrency)",
            );
        } else if !(1..=MAX_REPLICAS).contains(&n) {
            bad(
                path!["sut", i, "replicas"],
                Some(n.to_string()),
                &format!("expected 1 to {MAX_REPLICAS} processes"),
            );
        }
    }
}
