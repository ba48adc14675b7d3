//! The seeded random number generator, pinned so recorded runs stay reproducible.
//!
//! Its own module, below `chaos` and `playback`, which both draw from it (a turn's
//! schedule and a connection's faults), so neither imports the other for it.
//!
//! `Xoshiro256PlusPlus` is a named, portable algorithm (rand's `StdRng` may change in any
//! release), and `rand` is pinned to its minor version in `Cargo.toml`. A snapshot test
//! below guards the sequence.

use rand::SeedableRng;
pub(crate) use rand::rngs::Xoshiro256PlusPlus as Rng;

/// The seed used when neither `--seed` nor `?seed=` gives one, so that runs repeat.
pub const DEFAULT_SEED: u64 = 1;

/// An RNG for one purpose (`stream`, e.g. a scenario name) and one index (e.g. the turn),
/// derived from the seed alone: never from connection order or wall time.
pub fn derive(seed: u64, stream: &str, index: u64) -> Rng {
    let mut h = fnv1a(stream.as_bytes()) ^ seed.rotate_left(17);
    h = splitmix64(h ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Rng::seed_from_u64(h)
}

/// FNV-1a 64: a stable hash (std's hasher is randomised per process).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn the_seeded_sequence_is_pinned() {
        // If this changes, a dependency changed the generator: seeded runs would no
        // longer repeat. Pin the old version or document the break.
        let mut r = Rng::seed_from_u64(7);
        let v: Vec<u32> = (0..5).map(|_| r.random_range(0..100)).collect();
        assert_eq!(v, [5, 17, 71, 42, 96]);
        let mut d = derive(1, "hello", 0);
        let w: Vec<u32> = (0..3).map(|_| d.random_range(0..1000)).collect();
        let mut again = derive(1, "hello", 0);
        let w2: Vec<u32> = (0..3).map(|_| again.random_range(0..1000)).collect();
        assert_eq!(w, w2);
        let mut other = derive(2, "hello", 0);
        let w3: Vec<u32> = (0..3).map(|_| other.random_range(0..1000)).collect();
        assert_ne!(w, w3, "another seed gives another sequence");
    }
}
