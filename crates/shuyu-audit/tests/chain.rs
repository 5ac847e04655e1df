//! Tampering with a stored chain is reported by verify, naming the first broken event.
//!
//! Every case goes through [`check`]: build 53 events with checkpoints at 10, 20, 30, 40 and 50, apply
//! one tampering to the stored rows, and verify them both ways (all hashes kept, and checkpoints
//! registered up front), which must agree. Each case is also verified with `push_batch` in both
//! modes, on 1, 2, 3 and 8 threads, in pages of every size in [`PAGES`] and mixed with `push`: every
//! run must return the same first break, at the same call, and the same result from `finish`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_audit::{
    AuditSigner, Break, ChainHead, ChainVerifier, Checkpoint, EventDraft, EventRecord, GENESIS,
    Outcome, Report, change_digest, event_hash,
};

const EVENTS: u64 = 53;
const EVERY: u64 = 10;
/// The event most tamperings hit: between checkpoints 10 and 20.
const VICTIM: u64 = 17;

/// The stored state of the audit tables, as an attacker with database access sees it.
#[derive(Clone)]
struct Stored {
    records: Vec<EventRecord>,
    checkpoints: Vec<Checkpoint>,
    head: ChainHead,
}

fn signer(seed: u64) -> AuditSigner {
    AuditSigner::generate(&mut StdRng::seed_from_u64(seed))
}

fn draft(i: u64) -> EventDraft {
    EventDraft {
        at_micros: 1_767_225_600_000_000 + i64::try_from(i).unwrap() * 1_000,
        actor_person: Some(format!("0190f1c2-7b1a-7c3e-9a4b-{i:012x}")),
        actor_org: Some(format!("0190f1c2-0000-7c3e-9a4b-{i:012x}")),
        role: "authority".into(),
        action: ["person.create", "auth.login", "resource.publish"]
            [usize::try_from(i % 3).unwrap()]
        .into(),
        object_type: "person".into(),
        object_id: format!("0190f1c2-1111-7c3e-9a4b-{i:012x}"),
        digest: change_digest(&i.to_be_bytes()),
        request_id: format!("req-{i}"),
        source: "127.0.0.1".into(),
        outcome: if i.is_multiple_of(7) {
            Outcome::Denied
        } else {
            Outcome::Ok
        },
        detail: if i.is_multiple_of(7) {
            "no signed NDA".into()
        } else {
            String::new()
        },
    }
}

fn chain(signer: &AuditSigner) -> Stored {
    let mut head = ChainHead::genesis();
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for i in 1..=EVENTS {
        records.push(head.advance(draft(i)));
        if i.is_multiple_of(EVERY) {
            checkpoints.push(signer.sign_checkpoint(&head, 1_767_225_600_000_000 + 1));
        }
    }
    Stored {
        records,
        checkpoints,
        head,
    }
}

fn index_of(stored: &Stored, seq: u64) -> usize {
    stored.records.iter().position(|r| r.seq == seq).unwrap()
}

fn verify_with(signer: &AuditSigner, stored: &Stored) -> Result<Report, Break> {
    let mut all = ChainVerifier::new(signer.verifier());
    let mut kept = ChainVerifier::with_checkpoints(signer.verifier(), &stored.checkpoints);
    let mut pushed = Ok(());
    for r in &stored.records {
        let a = all.push(r);
        let b = kept.push(r);
        assert_eq!(a, b, "both modes agree on event {}", r.seq);
        if a.is_err() {
            pushed = a;
            break;
        }
    }
    let a = all.finish(&stored.checkpoints, Some(&stored.head));
    let b = kept.finish(&[], Some(&stored.head));
    assert_eq!(a, b, "both modes agree at finish");
    if let Err(first) = &pushed {
        assert_eq!(a, Err(first.clone()), "finish repeats the break push found");
    }
    for threads in THREADS {
        for page in PAGES {
            for mixed in [false, true] {
                for registered in [false, true] {
                    let (v, at_finish) = if registered {
                        let v =
                            ChainVerifier::with_checkpoints(signer.verifier(), &stored.checkpoints);
                        (v, &[][..])
                    } else {
                        (
                            ChainVerifier::new(signer.verifier()),
                            &stored.checkpoints[..],
                        )
                    };
                    let how = format!(
                        "push_batch on {threads} threads, pages of {page}, mixed with push: {mixed}, \
                         checkpoints registered: {registered}"
                    );
                    let (batch_pushed, batch_finished) =
                        in_batches(v.with_threads(threads), stored, page, mixed, at_finish);
                    assert_eq!(batch_pushed, pushed, "{how}: same first break as push");
                    assert_eq!(batch_finished, a, "{how}: same result at finish");
                }
            }
        }
    }
    a
}

/// Thread counts for `push_batch`: the calling thread only, even and odd splits, more threads than
/// the machine has cores.
const THREADS: [usize; 4] = [1, 2, 3, 8];
/// Page sizes: the whole chain at once, single events, pages aligned with the checkpoints and pages
/// that are not.
const PAGES: [usize; 4] = [usize::MAX, 1, 10, 7];

/// Feeds `stored` to `v` in pages of `page` events, each by `push_batch` (or, if `mixed`, every
/// other page by `push` one event at a time), stopping at the first break; returns that break (the
/// page and event it was reported at must match `push`, which `verify_with` checks by comparing the
/// break, whose seq names the event) and what `finish` returns.
fn in_batches(
    mut v: ChainVerifier,
    stored: &Stored,
    page: usize,
    mixed: bool,
    at_finish: &[Checkpoint],
) -> (Result<(), Break>, Result<Report, Break>) {
    let mut pushed = Ok(());
    for (i, chunk) in stored.records.chunks(page).enumerate() {
        let result = if mixed && i % 2 == 1 {
            chunk.iter().try_for_each(|r| v.push(r))
        } else {
            v.push_batch(chunk)
        };
        if result.is_err() {
            pushed = result;
            break;
        }
    }
    if let Err(first) = &pushed {
        assert_eq!(v.push_batch(&stored.records), Err(first.clone()), "sticky");
        assert_eq!(v.push_batch(&[]), Err(first.clone()), "sticky");
    }
    (pushed, v.finish(at_finish, Some(&stored.head)))
}

/// Builds the chain, applies `tamper` to the stored rows, verifies.
fn check(tamper: impl FnOnce(&mut Stored, &AuditSigner)) -> Result<Report, Break> {
    let signer = signer(1);
    let mut stored = chain(&signer);
    tamper(&mut stored, &signer);
    verify_with(&signer, &stored)
}

/// Recomputes prev links and hashes from `from_index` on, as an attacker without the key can.
fn rechain(stored: &mut Stored, from_index: usize) {
    let mut prev = from_index
        .checked_sub(1)
        .map_or(GENESIS, |i| stored.records[i].hash);
    for r in &mut stored.records[from_index..] {
        r.prev_hash = prev;
        r.hash = event_hash(&r.prev_hash, r.seq, &r.draft);
        prev = r.hash;
    }
    stored.head = stored
        .records
        .last()
        .map_or(ChainHead::genesis(), EventRecord::head);
}

fn forged() -> EventDraft {
    EventDraft {
        action: "export.release".into(),
        detail: "forged".into(),
        ..draft(1000)
    }
}

#[test]
fn intact_chain_passes_with_the_right_counts() {
    let signer = signer(1);
    let stored = chain(&signer);
    let report = check(|_, _| {}).unwrap();
    let bytes: u64 = stored
        .records
        .iter()
        .map(|r| shuyu_audit::canonical_bytes(r).len() as u64)
        .sum();
    assert_eq!(
        report,
        Report {
            events: 53,
            bytes,
            checkpoints: 5,
            last_checkpoint_seq: 50,
            unsigned_tail: 3,
            head: stored.head,
        }
    );
}

#[test]
fn empty_chain_passes_against_the_genesis_head() {
    let s = signer(1);
    let genesis = s.sign_checkpoint(&ChainHead::genesis(), 0);
    let report = ChainVerifier::new(s.verifier())
        .finish(std::slice::from_ref(&genesis), Some(&ChainHead::genesis()))
        .unwrap();
    assert_eq!(
        (
            report.events,
            report.bytes,
            report.checkpoints,
            report.unsigned_tail
        ),
        (0, 0, 1, 0)
    );
    let mut batched = ChainVerifier::with_checkpoints(s.verifier(), std::slice::from_ref(&genesis))
        .with_threads(2);
    batched.push_batch(&[]).unwrap();
    assert_eq!(batched.finish(&[], Some(&ChainHead::genesis())), Ok(report));
}

/// One test per stored column: editing it on event 17 is reported at event 17.
macro_rules! editing_a_column_is_detected {
    ($($name:ident: |$r:ident| $edit:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let result = check(|s, _| {
                let i = index_of(s, VICTIM);
                let $r = &mut s.records[i];
                $edit;
            });
            let found = result.unwrap_err();
            assert_eq!(found, $expected);
            assert_eq!(found.seq(), VICTIM, "{found}");
            assert!(found.to_string().contains("17"), "{found}");
        }
    )*};
}

editing_a_column_is_detected! {
    editing_seq_is_detected: |r| r.seq = 99 => Break::SeqGap { expected: VICTIM, found: 99 };
    editing_at_is_detected: |r| r.draft.at_micros += 1 => Break::HashMismatch { seq: VICTIM };
    editing_actor_person_is_detected:
        |r| r.draft.actor_person = Some("0190f1c2-7b1a-7c3e-9a4b-ffffffffffff".into())
        => Break::HashMismatch { seq: VICTIM };
    removing_actor_person_is_detected:
        |r| r.draft.actor_person = None => Break::HashMismatch { seq: VICTIM };
    editing_actor_org_is_detected:
        |r| r.draft.actor_org = None => Break::HashMismatch { seq: VICTIM };
    editing_role_is_detected:
        |r| r.draft.role = "system".into() => Break::HashMismatch { seq: VICTIM };
    editing_action_is_detected:
        |r| r.draft.action = "auth.logout".into() => Break::HashMismatch { seq: VICTIM };
    editing_object_type_is_detected:
        |r| r.draft.object_type = "org".into() => Break::HashMismatch { seq: VICTIM };
    editing_object_id_is_detected:
        |r| r.draft.object_id.push('x') => Break::HashMismatch { seq: VICTIM };
    editing_digest_is_detected:
        |r| r.draft.digest[0] ^= 0x80 => Break::HashMismatch { seq: VICTIM };
    editing_request_id_is_detected:
        |r| r.draft.request_id = "req-x".into() => Break::HashMismatch { seq: VICTIM };
    editing_source_is_detected:
        |r| r.draft.source = "10.0.0.1".into() => Break::HashMismatch { seq: VICTIM };
    editing_outcome_is_detected:
        |r| r.draft.outcome = Outcome::Failed => Break::HashMismatch { seq: VICTIM };
    editing_detail_is_detected:
        |r| r.draft.detail = "approved".into() => Break::HashMismatch { seq: VICTIM };
    editing_prev_hash_is_detected:
        |r| r.prev_hash[5] ^= 1 => Break::PrevMismatch { seq: VICTIM };
    editing_hash_is_detected: |r| r.hash[31] ^= 1 => Break::HashMismatch { seq: VICTIM };
}

#[test]
fn editing_a_column_and_its_hash_breaks_the_next_link() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        let r = &mut s.records[i];
        r.draft.outcome = Outcome::Ok;
        r.draft.detail = "approved".into();
        r.hash = event_hash(&r.prev_hash, r.seq, &r.draft);
    });
    assert_eq!(found, Err(Break::PrevMismatch { seq: VICTIM + 1 }));
}

#[test]
fn editing_a_column_and_rechaining_the_rest_is_caught_by_the_next_checkpoint() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        s.records[i].draft.detail = "approved".into();
        rechain(s, i);
    });
    assert_eq!(found, Err(Break::CheckpointHashMismatch { seq: 20 }));
}

#[test]
fn deleting_an_event_is_reported_as_a_gap() {
    let found = check(|s, _| {
        s.records.remove(index_of(s, VICTIM));
    });
    assert_eq!(
        found,
        Err(Break::SeqGap {
            expected: VICTIM,
            found: VICTIM + 1
        })
    );
}

#[test]
fn deleting_an_event_and_renumbering_is_reported_at_the_renumbered_event() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        s.records.remove(i);
        for r in &mut s.records[i..] {
            r.seq -= 1;
        }
    });
    assert_eq!(found, Err(Break::PrevMismatch { seq: VICTIM }));
}

#[test]
fn deleting_an_event_and_rechaining_the_rest_is_caught_by_the_next_checkpoint() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        s.records.remove(i);
        for r in &mut s.records[i..] {
            r.seq -= 1;
        }
        rechain(s, i);
    });
    assert_eq!(found, Err(Break::CheckpointHashMismatch { seq: 20 }));
}

/// Inserts a forged event after `VICTIM` with a correct seq, prev link and hash, renumbering the
/// events after it.
fn insert_forged(s: &mut Stored) -> usize {
    let i = index_of(s, VICTIM);
    let forged = s.records[i].head().append(forged());
    for r in &mut s.records[i + 1..] {
        r.seq += 1;
    }
    s.records.insert(i + 1, forged);
    i + 1
}

#[test]
fn inserting_a_forged_event_breaks_the_next_events_prev_link() {
    let found = check(|s, _| {
        insert_forged(s);
    });
    assert_eq!(found, Err(Break::PrevMismatch { seq: VICTIM + 2 }));
}

#[test]
fn inserting_a_forged_event_without_renumbering_is_a_duplicate() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        let forged = s.records[i].head().append(forged());
        s.records.insert(i + 1, forged);
    });
    assert_eq!(found, Err(Break::SeqDuplicate { seq: VICTIM + 1 }));
}

#[test]
fn inserting_a_forged_event_and_rechaining_is_caught_by_the_next_checkpoint() {
    let found = check(|s, _| {
        let i = insert_forged(s);
        rechain(s, i);
    });
    assert_eq!(found, Err(Break::CheckpointHashMismatch { seq: 20 }));
}

#[test]
fn swapping_two_events_is_detected() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        s.records.swap(i, i + 1);
        s.records[i].seq = VICTIM;
        s.records[i + 1].seq = VICTIM + 1;
    });
    assert_eq!(found, Err(Break::PrevMismatch { seq: VICTIM }));
}

#[test]
fn rows_returned_out_of_order_are_detected() {
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        s.records.swap(i, i + 1);
    });
    assert_eq!(
        found,
        Err(Break::SeqGap {
            expected: VICTIM,
            found: VICTIM + 1
        })
    );
    let found = check(|s, _| {
        let i = index_of(s, VICTIM);
        let earlier = s.records[i - 5].clone();
        s.records.insert(i, earlier);
    });
    assert_eq!(
        found,
        Err(Break::SeqOutOfOrder {
            expected: VICTIM,
            found: VICTIM - 5
        })
    );
}

#[test]
fn truncating_the_tail_past_a_checkpoint_is_detected_even_with_the_head_rewritten() {
    let found = check(|s, _| {
        s.records.truncate(35);
        s.head = s.records[34].head();
    });
    assert_eq!(
        found,
        Err(Break::CheckpointBeyondEnd {
            checkpoint_seq: 40,
            last_seq: 35
        })
    );
    assert_eq!(found.unwrap_err().seq(), 36);
}

#[test]
fn truncating_the_tail_is_detected_by_the_untouched_head() {
    let found = check(|s, _| {
        s.records.truncate(51);
    });
    assert_eq!(
        found,
        Err(Break::HeadMismatch {
            head_seq: 53,
            last_seq: 51
        })
    );
    assert_eq!(found.unwrap_err().seq(), 52);
}

/// The documented limit: an attacker who rewrites rows and head can cut the unsigned tail.
#[test]
fn cutting_the_unsigned_tail_and_rewriting_the_head_goes_unnoticed() {
    let report = check(|s, _| {
        s.records.truncate(50);
        s.head = s.records[49].head();
    })
    .unwrap();
    assert_eq!((report.events, report.unsigned_tail), (50, 0));
}

#[test]
fn editing_the_head_is_detected() {
    let found = check(|s, _| s.head.hash[0] ^= 1);
    assert_eq!(
        found,
        Err(Break::HeadMismatch {
            head_seq: 53,
            last_seq: 53
        })
    );
}

#[test]
fn deleting_a_checkpoint_loses_only_its_protection() {
    let report = check(|s, _| {
        s.checkpoints.pop();
    })
    .unwrap();
    assert_eq!(
        (
            report.checkpoints,
            report.last_checkpoint_seq,
            report.unsigned_tail
        ),
        (4, 40, 13)
    );
}

#[test]
fn checkpoint_signed_by_another_key_is_rejected() {
    let found = check(|s, _| {
        let intruder = signer(2);
        s.checkpoints[1] = intruder.sign_checkpoint(&s.records[19].head(), 5);
    });
    assert_eq!(
        found,
        Err(Break::UnknownKey {
            seq: 20,
            key_id: signer(2).key_id().to_owned()
        })
    );
}

#[test]
fn checkpoint_signed_by_another_key_under_our_key_id_is_rejected() {
    let found = check(|s, ours| {
        let intruder = signer(2);
        let mut cp = intruder.sign_checkpoint(&s.records[19].head(), 5);
        cp.key_id = ours.key_id().to_owned();
        s.checkpoints[1] = cp;
    });
    assert_eq!(found, Err(Break::BadSignature { seq: 20 }));
}

#[test]
fn forged_signature_is_rejected() {
    let found = check(|s, _| s.checkpoints[2].signature[40] ^= 1);
    assert_eq!(found, Err(Break::BadSignature { seq: 30 }));
    let found = check(|s, _| s.checkpoints[2].signature.truncate(63));
    assert_eq!(found, Err(Break::BadSignature { seq: 30 }));
}

#[test]
fn checkpoint_moved_to_another_event_is_rejected() {
    let found = check(|s, _| {
        s.checkpoints[2].seq = 31;
        s.checkpoints[2].hash = s.records[30].hash;
    });
    assert_eq!(found, Err(Break::BadSignature { seq: 31 }));
}

#[test]
fn checkpoints_of_a_rotated_key_verify_once_it_is_trusted() {
    let old = signer(1);
    let new = signer(2);
    let mut stored = chain(&old);
    stored.checkpoints[4] = new.sign_checkpoint(&stored.records[49].head(), 9);

    let run = |v: ChainVerifier| {
        let mut v = v;
        for r in &stored.records {
            v.push(r)?;
        }
        v.finish(&stored.checkpoints, Some(&stored.head))
    };
    assert!(matches!(
        run(ChainVerifier::new(old.verifier())),
        Err(Break::UnknownKey { seq: 50, .. })
    ));
    let report = run(ChainVerifier::new(old.verifier()).trust(new.verifier())).unwrap();
    assert_eq!(report.last_checkpoint_seq, 50);
}

#[test]
fn a_key_trusted_after_batches_is_used_for_the_checkpoints_they_checked() {
    let old = signer(1);
    let new = signer(2);
    let mut stored = chain(&old);
    stored.checkpoints[4] = new.sign_checkpoint(&stored.records[49].head(), 9);
    let batched = |trust_new_first: bool| {
        let mut v =
            ChainVerifier::with_checkpoints(old.verifier(), &stored.checkpoints).with_threads(2);
        if trust_new_first {
            v = v.trust(new.verifier());
        }
        v.push_batch(&stored.records[..30]).unwrap();
        v.push_batch(&stored.records[30..]).unwrap();
        if !trust_new_first {
            v = v.trust(new.verifier());
        }
        v.finish(&[], Some(&stored.head))
    };
    assert_eq!(batched(true).unwrap().last_checkpoint_seq, 50);
    assert_eq!(batched(false).unwrap().last_checkpoint_seq, 50);
    let untrusted = ChainVerifier::with_checkpoints(old.verifier(), &stored.checkpoints);
    let mut untrusted = untrusted.with_threads(2);
    untrusted.push_batch(&stored.records).unwrap();
    assert!(matches!(
        untrusted.finish(&[], Some(&stored.head)),
        Err(Break::UnknownKey { seq: 50, .. })
    ));
}

/// Every single-row tampering at every position, against every block boundary the batch splits
/// create: `push_batch` reports the same first break as `push`. No checkpoints, so no SM2: this is
/// about the hashing and link checks only.
#[test]
fn push_batch_reports_the_first_break_push_would_at_every_position() {
    let s = signer(1);
    let intact = chain(&s);
    let edits: [fn(&mut EventRecord); 5] = [
        |r| r.hash[0] ^= 1,
        |r| r.prev_hash[31] ^= 1,
        |r| r.draft.detail.push('x'),
        |r| r.seq += 1,
        |r| r.seq -= 1,
    ];
    for index in 0..intact.records.len() {
        for edit in edits {
            let mut stored = intact.clone();
            edit(&mut stored.records[index]);
            let mut one_by_one = ChainVerifier::with_checkpoints(s.verifier(), &[]);
            let expected = stored.records.iter().try_for_each(|r| one_by_one.push(r));
            assert!(expected.is_err(), "row {index} edited");
            for threads in [2, 3, 5, 8] {
                for page in [usize::MAX, 13] {
                    let v =
                        ChainVerifier::with_checkpoints(s.verifier(), &[]).with_threads(threads);
                    let (found, _) = in_batches(v, &stored, page, false, &[]);
                    assert_eq!(
                        found, expected,
                        "row {index}, {threads} threads, pages of {page}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_break_ignored_by_the_caller_still_fails_finish() {
    let s = signer(1);
    let mut stored = chain(&s);
    stored.records[3].draft.detail = "edited".into();
    let mut v = ChainVerifier::new(s.verifier());
    for r in &stored.records {
        let _ignored = v.push(r);
    }
    assert_eq!(
        v.finish(&stored.checkpoints, Some(&stored.head)),
        Err(Break::HashMismatch { seq: 4 })
    );
}

#[test]
fn checkpoint_not_registered_up_front_fails_closed() {
    let s = signer(1);
    let stored = chain(&s);
    let mut v = ChainVerifier::with_checkpoints(s.verifier(), &stored.checkpoints[..2]);
    for r in &stored.records {
        v.push(r).unwrap();
    }
    assert_eq!(
        v.finish(&stored.checkpoints, None),
        Err(Break::CheckpointNotKept { seq: 30 })
    );
}

#[test]
fn every_break_says_what_is_wrong_in_a_sentence() {
    let cases = [
        Break::HashMismatch { seq: 7 },
        Break::PrevMismatch { seq: 7 },
        Break::SeqGap {
            expected: 7,
            found: 9,
        },
        Break::SeqDuplicate { seq: 7 },
        Break::SeqOutOfOrder {
            expected: 7,
            found: 3,
        },
        Break::CheckpointBeyondEnd {
            checkpoint_seq: 10,
            last_seq: 6,
        },
        Break::CheckpointHashMismatch { seq: 7 },
        Break::BadSignature { seq: 7 },
        Break::UnknownKey {
            seq: 7,
            key_id: "00ff".into(),
        },
        Break::HeadMismatch {
            head_seq: 9,
            last_seq: 6,
        },
        Break::HeadMismatch {
            head_seq: 6,
            last_seq: 9,
        },
        Break::HeadMismatch {
            head_seq: 7,
            last_seq: 7,
        },
        Break::CheckpointNotKept { seq: 7 },
    ];
    for b in cases {
        assert_eq!(b.seq(), 7, "{b:?}");
        let text = b.to_string();
        assert!(text.contains('7'), "{text}");
        assert!(text.split(' ').count() > 8, "{text}");
    }
}
