//! Static port blocks: the lowest free block of a variant's size, overlapping no environment.

use std::ops::Range;

use crate::repo::Repo;

/// Where static port blocks may lie (as validation requires).
pub const FIRST_PORT: u32 = 1024;
/// Highest port a block may use (inclusive).
pub const LAST_PORT: u32 = 65535;

/// The lowest `base` such that `base..base + size` lies in the port range and overlaps none of
/// `taken`; `None` when no block of that size is free.
pub fn lowest_free(taken: &[Range<u32>], size: u32) -> Option<u32> {
    let size = size.max(1);
    let mut taken: Vec<&Range<u32>> = taken.iter().filter(|r| !r.is_empty()).collect();
    taken.sort_by_key(|r| r.start);
    let mut base = FIRST_PORT;
    for range in taken {
        if base + size <= range.start {
            break;
        }
        base = base.max(range.end);
    }
    (base + size - 1 <= LAST_PORT).then_some(base)
}

/// Port blocks of every environment of the repository except `except`.
pub fn taken(repo: &Repo, except: &str) -> Vec<Range<u32>> {
    repo.envs
        .values()
        .filter(|e| e.name != except)
        .filter_map(|e| e.port_range())
        .collect()
}

#[cfg(test)]
// One-block lists of taken ranges are what these tests mean.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn lowest_gap_that_fits() {
        assert_eq!(lowest_free(&[], 11), Some(1024));
        // The example: production 1024, staging 1035, plutus 1046 and 1057.
        let example = [1024..1035, 1035..1046, 1046..1057, 1057..1068];
        assert_eq!(lowest_free(&example, 11), Some(1068));
        // A hole of 11 between blocks is used; a hole of 5 is not.
        assert_eq!(lowest_free(&[1024..1035, 1046..1057], 11), Some(1035));
        assert_eq!(lowest_free(&[1024..1035, 1040..1057], 11), Some(1057));
        // Unordered and overlapping input.
        assert_eq!(lowest_free(&[1030..1040, 1024..1035], 3), Some(1040));
        assert_eq!(lowest_free(&[1100..1200], 50), Some(1024));
    }

    #[test]
    fn no_room_is_none() {
        assert_eq!(lowest_free(&[1024..65530], 11), None);
        assert_eq!(lowest_free(&[1024..65525], 11), Some(65525));
    }
}
