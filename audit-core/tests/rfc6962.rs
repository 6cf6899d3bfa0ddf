//! The Merkle tree against the RFC 6962 reference vectors of transparency-dev/merkle
//! (`shared/vectors/rfc6962.json`), plus properties on random trees.
#![allow(clippy::unwrap_used)]
// Sizes and indexes here are at most a few hundred.
#![allow(clippy::cast_possible_truncation)]

use proptest::prelude::*;
use serde::Deserialize;
use tracing_audit_core::merkle::{
    self, EMPTY_ROOT, Frontier, ProofError, consistency_proof, inclusion_proof, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/rfc6962.json"
);

type Hash = [u8; 32];

#[derive(Deserialize)]
struct Vectors {
    leaves_hex: Vec<String>,
    roots: Vec<RootVector>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
}

#[derive(Deserialize)]
struct RootVector {
    size: u64,
    root: String,
}

#[derive(Deserialize)]
struct InclusionVector {
    size: u64,
    index: u64,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    proof: Vec<String>,
}

/// The vectors, decoded: leaf hashes, and the root of every prefix by size.
struct Reference {
    leaves: Vec<Hash>,
    roots: Vec<Hash>,
    inclusion: Vec<(u64, u64, Vec<Hash>)>,
    consistency: Vec<(u64, u64, Vec<Hash>)>,
}

fn hash(hex: &str) -> Hash {
    let bytes = hex::decode(hex).unwrap_or_else(|e| panic!("bad hex {hex:?} in {VECTORS}: {e}"));
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{hex:?} in {VECTORS}: {} bytes, not 32", b.len()))
}

fn hashes(hex: &[String]) -> Vec<Hash> {
    hex.iter().map(|h| hash(h)).collect()
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
        panic!("cannot read the RFC 6962 vectors: looked at {VECTORS} (the repository's sibling `shared/vectors/`): {e}")
    });
    let v: Vectors = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{VECTORS} is not the expected JSON: {e}"));
    let leaves: Vec<Hash> = v
        .leaves_hex
        .iter()
        .map(|d| leaf_hash(&hex::decode(d).unwrap()))
        .collect();
    // A truncated or emptied file must not make the tests pass on nothing.
    assert_eq!(leaves.len(), 8, "{VECTORS}: expected 8 leaves");
    assert!(
        v.inclusion.len() >= 7,
        "{VECTORS}: inclusion vectors missing"
    );
    assert!(
        v.consistency.len() >= 7,
        "{VECTORS}: consistency vectors missing"
    );
    let mut roots = vec![None; leaves.len() + 1];
    for r in &v.roots {
        roots[usize::try_from(r.size).unwrap()] = Some(hash(&r.root));
    }
    let roots = roots
        .into_iter()
        .enumerate()
        .map(|(size, r)| r.unwrap_or_else(|| panic!("{VECTORS}: no root for size {size}")))
        .collect();
    Reference {
        leaves,
        roots,
        inclusion: v
            .inclusion
            .iter()
            .map(|i| (i.size, i.index, hashes(&i.proof)))
            .collect(),
        consistency: v
            .consistency
            .iter()
            .map(|c| (c.size1, c.size2, hashes(&c.proof)))
            .collect(),
    }
}

fn prefix(leaves: &[Hash], size: u64) -> &[Hash] {
    &leaves[..usize::try_from(size).unwrap()]
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

#[test]
fn every_root_from_the_slice_and_the_frontier() {
    let r = reference();
    assert_eq!(r.roots[0], EMPTY_ROOT);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), r.roots[0]);
    for (size, expected) in r.roots.iter().enumerate() {
        assert_eq!(root(&r.leaves[..size]), *expected, "root() of size {size}");
        if size > 0 {
            frontier.push(r.leaves[size - 1]);
        }
        assert_eq!(frontier.size(), size as u64);
        assert_eq!(frontier.hashes().len(), size.count_ones() as usize);
        assert_eq!(
            frontier.root(),
            *expected,
            "Frontier::root() of size {size}"
        );
        // Saved and restored, it gives the same root.
        let restored = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec()).unwrap();
        assert_eq!(restored, frontier);
        assert_eq!(
            restored.root(),
            *expected,
            "restored frontier of size {size}"
        );
    }
}

#[test]
fn every_inclusion_proof_is_generated_and_verifies() {
    let r = reference();
    for (size, index, expected) in &r.inclusion {
        let (size, index) = (*size, *index);
        let what = format!("inclusion of leaf {index} in size {size}");
        let leaves = prefix(&r.leaves, size);
        let leaf = r.leaves[usize::try_from(index).unwrap()];
        let tree_root = r.roots[usize::try_from(size).unwrap()];
        assert_eq!(inclusion_proof(leaves, index).unwrap(), *expected, "{what}");
        assert_eq!(
            verify_inclusion(&leaf, index, size, expected, &tree_root),
            Ok(()),
            "{what}"
        );
    }
}

#[test]
fn a_tampered_inclusion_proof_leaf_index_size_or_root_is_rejected() {
    let r = reference();
    for (size, index, proof) in &r.inclusion {
        let (size, index) = (*size, *index);
        let what = format!("inclusion of leaf {index} in size {size}");
        let leaf = r.leaves[usize::try_from(index).unwrap()];
        let tree_root = r.roots[usize::try_from(size).unwrap()];

        for (i, h) in proof.iter().enumerate() {
            for bit in [0, 77, 255] {
                let mut bad = proof.clone();
                bad[i] = flip(h, bit);
                assert!(
                    matches!(
                        verify_inclusion(&leaf, index, size, &bad, &tree_root),
                        Err(ProofError::RootMismatch { .. })
                    ),
                    "{what}: hash {i} with bit {bit} flipped accepted"
                );
            }
        }
        if let Some((_, shorter)) = proof.split_last() {
            assert_eq!(
                verify_inclusion(&leaf, index, size, shorter, &tree_root),
                Err(ProofError::WrongProofLength {
                    expected: proof.len(),
                    found: proof.len() - 1
                }),
                "{what}: last hash dropped"
            );
        }
        let mut longer = proof.clone();
        longer.push(tree_root);
        assert_eq!(
            verify_inclusion(&leaf, index, size, &longer, &tree_root),
            Err(ProofError::WrongProofLength {
                expected: proof.len(),
                found: proof.len() + 1
            }),
            "{what}: a hash appended"
        );
        for (j, other) in r.leaves.iter().enumerate() {
            if j as u64 != index {
                assert!(
                    verify_inclusion(other, index, size, proof, &tree_root).is_err(),
                    "{what}: leaf {j} accepted in its place"
                );
            }
        }
        assert!(
            verify_inclusion(&flip(&leaf, 3), index, size, proof, &tree_root).is_err(),
            "{what}: leaf with a bit flipped accepted"
        );
        for other in 0..size {
            if other != index {
                assert!(
                    verify_inclusion(&leaf, other, size, proof, &tree_root).is_err(),
                    "{what}: accepted at index {other}"
                );
            }
        }
        assert_eq!(
            verify_inclusion(&leaf, size, size, proof, &tree_root),
            Err(ProofError::IndexOutOfRange { index: size, size }),
            "{what}: index == size"
        );
        // Another size, with that size's true root.
        for (other, other_root) in r.roots.iter().enumerate() {
            let other = other as u64;
            if other != size {
                assert!(
                    verify_inclusion(&leaf, index, other, proof, other_root).is_err(),
                    "{what}: accepted for size {other}"
                );
            }
        }
        assert!(
            matches!(
                verify_inclusion(&leaf, index, size, proof, &flip(&tree_root, 100)),
                Err(ProofError::RootMismatch { .. })
            ),
            "{what}: another root accepted"
        );
    }
}

#[test]
fn every_consistency_proof_is_generated_and_verifies() {
    let r = reference();
    for (old, new, expected) in &r.consistency {
        let (old, new) = (*old, *new);
        let what = format!("consistency {old} -> {new}");
        let old_root = r.roots[usize::try_from(old).unwrap()];
        let new_root = r.roots[usize::try_from(new).unwrap()];
        assert_eq!(
            consistency_proof(prefix(&r.leaves, new), old).unwrap(),
            *expected,
            "{what}"
        );
        assert_eq!(
            verify_consistency(old, new, &old_root, &new_root, expected),
            Ok(()),
            "{what}"
        );
    }
}

#[test]
fn a_tampered_consistency_proof_size_or_root_is_rejected() {
    let r = reference();
    for (old, new, proof) in &r.consistency {
        let (old, new) = (*old, *new);
        let what = format!("consistency {old} -> {new}");
        let old_root = r.roots[usize::try_from(old).unwrap()];
        let new_root = r.roots[usize::try_from(new).unwrap()];

        for (i, h) in proof.iter().enumerate() {
            for bit in [0, 130, 255] {
                let mut bad = proof.clone();
                bad[i] = flip(h, bit);
                assert!(
                    verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                    "{what}: hash {i} with bit {bit} flipped accepted"
                );
            }
        }
        if let Some((_, shorter)) = proof.split_last() {
            assert_eq!(
                verify_consistency(old, new, &old_root, &new_root, shorter),
                Err(ProofError::WrongProofLength {
                    expected: proof.len(),
                    found: proof.len() - 1
                }),
                "{what}: last hash dropped"
            );
        }
        let mut longer = proof.clone();
        longer.push(new_root);
        assert_eq!(
            verify_consistency(old, new, &old_root, &new_root, &longer),
            Err(ProofError::WrongProofLength {
                expected: proof.len(),
                found: proof.len() + 1
            }),
            "{what}: a hash appended"
        );
        assert!(
            verify_consistency(old, new, &flip(&old_root, 9), &new_root, proof).is_err(),
            "{what}: another old root accepted"
        );
        assert!(
            verify_consistency(old, new, &old_root, &flip(&new_root, 9), proof).is_err(),
            "{what}: another new root accepted"
        );
        // Any other pair of sizes, each with its true root (the empty proof is
        // the proof between any two equal sizes).
        for (o, o_root) in r.roots.iter().enumerate() {
            for (n, n_root) in r.roots.iter().enumerate() {
                let (o, n) = (o as u64, n as u64);
                if (o, n) != (old, new) && !(proof.is_empty() && o == n) {
                    assert!(
                        verify_consistency(o, n, o_root, n_root, proof).is_err(),
                        "{what}: accepted as {o} -> {n}"
                    );
                }
            }
        }
        assert_eq!(
            verify_consistency(new + 1, new, &old_root, &new_root, proof),
            Err(ProofError::SizesOutOfOrder {
                old_size: new + 1,
                new_size: new
            }),
            "{what}: old size > new size"
        );
    }
}

#[test]
fn an_empty_consistency_proof_is_accepted_only_between_equal_sizes() {
    let r = reference();
    for (old, old_root) in r.roots.iter().enumerate() {
        for (new, new_root) in r.roots.iter().enumerate().skip(old) {
            let got = verify_consistency(old as u64, new as u64, old_root, new_root, &[]);
            if old == new {
                assert_eq!(got, Ok(()), "empty proof {old} -> {new}");
            } else if old == 0 {
                assert_eq!(
                    got,
                    Err(ProofError::FromEmptyTree {
                        new_size: new as u64
                    }),
                    "empty proof 0 -> {new}"
                );
            } else {
                assert!(
                    matches!(got, Err(ProofError::WrongProofLength { found: 0, expected }) if expected > 0),
                    "empty proof {old} -> {new}: {got:?}"
                );
            }
        }
    }
    // Equal sizes: only with equal roots, and only with an empty proof.
    assert_eq!(
        verify_consistency(8, 8, &r.roots[8], &r.roots[7], &[]),
        Err(ProofError::RootMismatch {
            expected: r.roots[8],
            found: r.roots[7]
        })
    );
    assert_eq!(
        verify_consistency(8, 8, &r.roots[8], &r.roots[8], &[r.roots[8]]),
        Err(ProofError::WrongProofLength {
            expected: 0,
            found: 1
        })
    );
    // From the empty tree, no proof at all.
    let some = inclusion_proof(&r.leaves, 0).unwrap();
    assert_eq!(
        verify_consistency(0, 8, &EMPTY_ROOT, &r.roots[8], &some),
        Err(ProofError::FromEmptyTree { new_size: 8 })
    );
    assert_eq!(
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
        Ok(())
    );
    // The generator agrees: an empty proof between equal sizes, none from 0.
    assert_eq!(consistency_proof(&r.leaves, 8).unwrap(), Vec::<Hash>::new());
    assert_eq!(consistency_proof(&[], 0).unwrap(), Vec::<Hash>::new());
    assert!(consistency_proof(&r.leaves, 0).is_err());
}

#[test]
fn out_of_range_arguments_say_what_was_expected_and_found() {
    let r = reference();
    let e = inclusion_proof(&r.leaves, 8).unwrap_err();
    assert_eq!(e.kind(), tracing_audit_core::ErrorKind::Config);
    assert_eq!(
        e.to_string(),
        "Merkle inclusion proof: expected a leaf index less than the tree size 8, found 8"
    );
    assert!(inclusion_proof(&[], 0).is_err());
    assert!(inclusion_proof(&r.leaves, u64::MAX).is_err());

    let e = consistency_proof(&r.leaves, 9).unwrap_err();
    assert_eq!(e.kind(), tracing_audit_core::ErrorKind::Config);
    assert_eq!(
        e.to_string(),
        "Merkle consistency proof: expected an old size from 1 to the tree size 8, found 9"
    );
    assert!(
        consistency_proof(&r.leaves, 0)
            .unwrap_err()
            .to_string()
            .ends_with("found 0")
    );

    let shown = [
        ProofError::IndexOutOfRange { index: 8, size: 8 }.to_string(),
        ProofError::SizesOutOfOrder {
            old_size: 9,
            new_size: 8,
        }
        .to_string(),
        ProofError::WrongProofLength {
            expected: 3,
            found: 0,
        }
        .to_string(),
        ProofError::RootMismatch {
            expected: r.roots[8],
            found: r.roots[7],
        }
        .to_string(),
    ];
    assert_eq!(
        shown[0],
        "leaf index out of range: expected less than the tree size 8, found 8"
    );
    assert_eq!(
        shown[1],
        "old tree size larger than the new one: expected at most 8, found 9"
    );
    assert_eq!(shown[2], "wrong proof length: expected 3 hashes, found 0");
    assert_eq!(
        shown[3],
        format!(
            "root mismatch: expected {}, found {}",
            hex::encode(r.roots[8]),
            hex::encode(r.roots[7])
        )
    );
}

/// Distinct leaf hashes for a random tree.
fn leaves(n: usize, salt: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[salt.to_le_bytes(), i.to_le_bytes()].concat()))
        .collect()
}

#[test]
fn every_proof_of_every_small_tree_verifies_and_only_for_its_place() {
    for n in 0..=33u64 {
        let l = leaves(n as usize, n);
        let tree_root = root(&l);
        for index in 0..n {
            let proof = inclusion_proof(&l, index).unwrap();
            let leaf = &l[index as usize];
            assert_eq!(
                verify_inclusion(leaf, index, n, &proof, &tree_root),
                Ok(()),
                "leaf {index} of {n}"
            );
            for other in (0..n).filter(|&o| o != index) {
                assert!(
                    verify_inclusion(leaf, other, n, &proof, &tree_root).is_err(),
                    "leaf {index} of {n} accepted at {other}"
                );
            }
        }
        for old in 1..=n {
            let proof = consistency_proof(&l, old).unwrap();
            let old_root = root(&l[..old as usize]);
            assert_eq!(
                verify_consistency(old, n, &old_root, &tree_root, &proof),
                Ok(()),
                "{old} -> {n}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_proofs_verify_and_tampered_ones_do_not(
        (n, index, old) in (1..=300u64).prop_flat_map(|n| (Just(n), 0..n, 1..=n)),
        salt in any::<u64>(),
        bit in 0..256usize,
    ) {
        let l = leaves(n as usize, salt);
        let tree_root = root(&l);
        let leaf = l[index as usize];

        let proof = inclusion_proof(&l, index).unwrap();
        prop_assert_eq!(verify_inclusion(&leaf, index, n, &proof, &tree_root), Ok(()));
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, n, &proof, &tree_root).is_err());
        if let Some(first) = proof.first() {
            let mut bad = proof.clone();
            bad[0] = flip(first, bit);
            prop_assert!(verify_inclusion(&leaf, index, n, &bad, &tree_root).is_err());
            let other = (index + 1) % n;
            prop_assert!(verify_inclusion(&leaf, other, n, &proof, &tree_root).is_err());
        }

        let old_root = root(&l[..old as usize]);
        let proof = consistency_proof(&l, old).unwrap();
        prop_assert_eq!(verify_consistency(old, n, &old_root, &tree_root, &proof), Ok(()));
        if old < n {
            prop_assert!(!proof.is_empty());
            prop_assert!(verify_consistency(old, n, &old_root, &tree_root, &[]).is_err());
            let mut bad = proof.clone();
            let last = bad.len() - 1;
            bad[last] = flip(&bad[last], bit);
            prop_assert!(verify_consistency(old, n, &old_root, &tree_root, &bad).is_err());
            prop_assert!(
                verify_consistency(old, n, &flip(&old_root, bit), &tree_root, &proof).is_err()
            );
        } else {
            prop_assert!(proof.is_empty());
        }
    }

    #[test]
    fn a_frontier_matches_root_at_every_size_and_resumes(
        n in 0..=300usize,
        salt in any::<u64>(),
        cut in 0..=300usize,
    ) {
        let l = leaves(n, salt);
        let cut = cut.min(n);
        let mut frontier = Frontier::new();
        for (i, leaf) in l.iter().enumerate() {
            if i == cut {
                let saved = (frontier.size(), frontier.hashes().to_vec());
                frontier = Frontier::from_parts(saved.0, saved.1).unwrap();
            }
            frontier.push(*leaf);
            prop_assert_eq!(frontier.size(), i as u64 + 1);
            prop_assert_eq!(frontier.root(), root(&l[..=i]), "size {}", i + 1);
        }
        prop_assert_eq!(frontier.root(), merkle::root(&l));
    }

    /// A writer proves a checkpoint to a witness from the frontier of the tree the
    /// witness cosigned and the leaves since: the proof is the one over all leaves.
    #[test]
    fn a_consistency_proof_from_a_frontier_is_the_one_over_all_leaves(
        (n, old) in (1..=300u64).prop_flat_map(|n| (Just(n), 1..=n)),
        salt in any::<u64>(),
    ) {
        let l = leaves(n as usize, salt);
        let mut frontier = Frontier::new();
        l[..old as usize].iter().for_each(|leaf| frontier.push(*leaf));
        let proof = merkle::consistency_proof_extending(&frontier, &l[old as usize..]).unwrap();
        prop_assert_eq!(&proof, &consistency_proof(&l, old).unwrap());
        prop_assert_eq!(
            verify_consistency(old, n, &frontier.root(), &root(&l), &proof),
            Ok(())
        );
    }
}
