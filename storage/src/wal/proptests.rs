//! Property tests of recovery: a WAL cut at any byte, or with any single bit flipped, gives back exactly the
//! records before the damage, puts the damaged segment aside, and continues with later LSNs.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;

use super::recovery::scan;
use super::tests::{batch, options, plain, segment_names};
use super::*;
use crate::Table;

/// Per record, per batch: (table, first value, rows).
type Spec = Vec<Vec<(usize, i64, usize)>>;

fn spec() -> impl Strategy<Value = Spec> {
    prop::collection::vec(prop::collection::vec((0..6usize, -1000..1000i64, 0..4usize), 0..3), 1..7)
}

fn batches(record: &[(usize, i64, usize)]) -> Vec<TableBatch> {
    record.iter().map(|&(table, seed, rows)| batch(Table::ALL[table], seed, rows)).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Appends every record of `spec` in order; returns what was written.
fn write(dir: &Path, spec: &Spec, segment_size: u64) -> Vec<(Lsn, Vec<TableBatch>)> {
    runtime().block_on(async {
        let (wal, _) = Wal::open(dir, options(Durability::None, segment_size), 0).unwrap();
        let mut written = Vec::new();
        for record in spec {
            written.push((wal.append(batches(record)).await.unwrap(), batches(record)));
        }
        wal.close().await.unwrap();
        written
    })
}

/// Offsets where records start, and the end of the last one.
fn boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = vec![0];
    let mut offset = 0;
    while offset < bytes.len() {
        let length = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset += record::HEADER_LEN + length;
        offsets.push(offset);
    }
    offsets
}

/// Copies the segments of `from` into a new directory, replacing the segment `name` with `bytes`.
fn damaged_copy(from: &Path, name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for segment in segment_names(from) {
        fs::copy(from.join(&segment), dir.path().join(&segment)).unwrap();
    }
    fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

/// Opens a damaged copy and checks recovery, the corrupt copy, and that appends continue after it.
fn check_open(
    dir: &Path,
    name: &str,
    damaged: &[u8],
    expected: &[(Lsn, Vec<TableBatch>)],
    is_damaged: bool,
) -> Result<(), TestCaseError> {
    let extra = batches(&[(0, 7, 2)]);
    runtime().block_on(async {
        let (wal, recovery) = Wal::open(dir, options(Durability::None, 1 << 20), 0).unwrap();
        prop_assert_eq!(plain(&recovery.records), plain(expected));
        if is_damaged {
            let kept = dir.join("corrupt").join(name);
            prop_assert_eq!(&recovery.corrupt_segments, std::slice::from_ref(&kept));
            prop_assert_eq!(fs::read(&kept).unwrap(), damaged);
        } else {
            prop_assert!(recovery.corrupt_segments.is_empty());
        }
        let recovered_max = expected.last().map_or(0, |(lsn, _)| *lsn);
        let lsn = wal.append(extra.clone()).await.unwrap();
        prop_assert!(lsn > recovered_max && lsn == recovery.next_lsn);
        wal.close().await.unwrap();

        let (_wal, again) = Wal::open(dir, options(Durability::None, 1 << 20), 0).unwrap();
        prop_assert!(again.corrupt_segments.is_empty());
        let mut all = expected.to_vec();
        all.push((lsn, extra));
        prop_assert_eq!(plain(&again.records), plain(&all));
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_cut_anywhere_in_the_last_segment_keeps_the_whole_records_before_it(
        spec in spec(),
        segment_size in prop_oneof![Just(1500u64), Just(4000), Just(1 << 20)],
        samples in prop::collection::vec(any::<Index>(), 4),
    ) {
        let original = tempfile::tempdir().unwrap();
        let written = write(original.path(), &spec, segment_size);
        let names = segment_names(original.path());
        let name = names.last().unwrap().clone();
        let first_lsn: Lsn = name.trim_end_matches(".wal").parse().unwrap();
        let bytes = fs::read(original.path().join(&name)).unwrap();
        let starts = boundaries(&bytes);
        let (before, in_last) = written.split_at(written.iter().filter(|(l, _)| *l < first_lsn).count());

        // Every offset, against the segment scan.
        for cut in 0..=bytes.len() {
            let whole = starts.iter().filter(|&&end| end > 0 && end <= cut).count();
            let found = scan(&bytes[..cut], first_lsn, None);
            prop_assert_eq!(plain(&found.records), plain(&in_last[..whole]), "cut at {}", cut);
            prop_assert_eq!(found.damage.is_some(), !starts.contains(&cut), "cut at {}", cut);
        }
        // Record boundaries ±1, header bytes, and a few random offsets, through a full open.
        let mut cuts = BTreeSet::new();
        for &start in &starts {
            for delta in [-1, 0, 1, 4, 8, 12, 15] {
                let cut = start as i64 + delta;
                if (0..=bytes.len() as i64).contains(&cut) {
                    cuts.insert(cut as usize);
                }
            }
        }
        cuts.extend(samples.iter().map(|index| index.index(bytes.len() + 1)));
        for cut in cuts {
            let whole = starts.iter().filter(|&&end| end > 0 && end <= cut).count();
            let mut expected = before.to_vec();
            expected.extend_from_slice(&in_last[..whole]);
            let dir = damaged_copy(original.path(), &name, &bytes[..cut]);
            check_open(dir.path(), &name, &bytes[..cut], &expected, !starts.contains(&cut))?;
            if cut == 0 {
                prop_assert!(!dir.path().join(&name).exists(), "an empty segment is removed");
            }
        }
    }

    #[test]
    fn a_flipped_bit_keeps_the_records_before_the_damaged_one(
        spec in spec(),
        bit in 0..8u8,
        samples in prop::collection::vec(any::<Index>(), 6),
    ) {
        let original = tempfile::tempdir().unwrap();
        let written = write(original.path(), &spec, 1 << 20);
        let name = segment_name(1);
        prop_assert_eq!(segment_names(original.path()), [name.clone()]);
        let bytes = fs::read(original.path().join(&name)).unwrap();
        let starts = boundaries(&bytes);
        let flipped = |at: usize, bit: u8| {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            damaged
        };
        // The record holding byte `at` is the first one lost.
        let lost_from = |at: usize| starts.iter().filter(|&&start| start <= at).count() - 1;

        for at in 0..bytes.len() {
            let bit = ((usize::from(bit) + at) % 8) as u8;
            let found = scan(&flipped(at, bit), 1, None);
            prop_assert_eq!(plain(&found.records), plain(&written[..lost_from(at)]), "bit {} of byte {}", bit, at);
            prop_assert!(found.damage.is_some());
        }
        let mut positions: BTreeSet<usize> =
            samples.iter().map(|index| index.index(bytes.len())).collect();
        for &start in &starts[..starts.len() - 1] {
            positions.extend([start, start + 5, start + 9, start + 15, start + 16]);
        }
        for at in positions.into_iter().filter(|&at| at < bytes.len()) {
            let damaged = flipped(at, bit);
            let dir = damaged_copy(original.path(), &name, &damaged);
            check_open(dir.path(), &name, &damaged, &written[..lost_from(at)], true)?;
        }
    }
}
