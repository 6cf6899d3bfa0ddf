#!/usr/bin/env python3
"""An independent verifier for audit-trail streams, written from docs/FORMAT.md alone.

Python 3 standard library only; checking the Ed25519 signatures of checkpoints
(--pubkey) also needs the `cryptography` package. Usage:

    verify.py DIR [--key-file FILE] [--pubkey FILE [--checkpoint FILE]] [--json]

Format versions 1 and 2 (FORMAT.md §2-§5): hashes, MACs with the key of each
record's epoch (§5.2; the key file holds K(0) as 64 hex characters or K(e) in the
version 2 form), links, seq, segment order, the stream id, epoch positions, the
Merkle tree over the records (seal frontiers, checkpoint records) and, with
--pubkey, the signatures of checkpoint notes; with --checkpoint, a copied
checkpoint the trail must extend (§4.2).

Exit status: 0 intact and the end proven, 1 failures found, 2 usage or I/O error
(also: no segment at all), 3 records intact but the end not proven (FORMAT.md §4,
"The end of a trail"). With --json it prints {"ok", "end", "records", "segments",
"mac_checked", "macs_unchecked", "first_failure", "failures"} like `audit verify
--json`, where "end" is {"status": "sealed" | "live_writer" | "not_proven",
"reason": text or null} and "macs_unchecked" counts the records whose MAC could not
be checked because their epoch is earlier than the key given (§4 check 5).
"""

import argparse
import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
import sys

SUFFIX_LEN = 148
MAX_LINE = 16 << 20
MAX_U64 = (1 << 64) - 1
SUFFIX_RE = re.compile(rb',"hash":"([0-9a-f]{64})","mac":"([0-9a-f]{64})"\}\Z')
SEGMENT_RE = re.compile(r"\Aseg-(\d{20})-(\d{8}T\d{6}Z)\.jsonl\Z")
HEX64_RE = re.compile(r"\A[0-9a-f]{64}\Z")
STREAM_RE = re.compile(r"\A[0-9a-f]{32}\Z")
# The record kinds of each format version (§2.1, §7).
KINDS = {
    1: {"open", "seal", "recovery", "gap", "event"},
    2: {"open", "seal", "recovery", "gap", "event", "epoch", "checkpoint"},
}
HEADER = ("v", "seq", "ts", "epoch", "prev", "kind")
ZERO = "0" * 64
EPOCH_LABEL = b"audit-trail epoch v2\n"
KEY_FILE_V2 = "tracing-audit key v2"
# How many epochs past the key given this verifier derives keys for (§4 check 5):
# a record claiming an epoch further on gets `mac_mismatch` (no one can have made
# its MAC) instead of a hang. At one epoch an hour, 2^24 epochs are 1900 years.
MAX_EPOCHS_AHEAD = 1 << 24


class UsageError(Exception):
    """A problem with the command line or a file named on it (exit status 2)."""


def is_u64(x):
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_U64


# --- keys (§5, §5.2) -------------------------------------------------------------


def read_private_file(path, what):
    try:
        st = os.stat(path)
    except OSError as e:
        raise UsageError(f"{path}: cannot read the {what}: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: the {what} is not a regular file")
    if st.st_mode & 0o077:
        raise UsageError(f"{path}: {what} mode {st.st_mode & 0o777:04o} is readable by others")
    with open(path, "rb") as f:
        data = f.read(4097)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: the {what} is not text") from e


def load_key(path):
    """The key in a key file, as (epoch, key bytes, key id): K(0) from 64 hex characters (the
    version 1 form and FILE.verifier), or K(e) from the version 2 form."""
    text = read_private_file(path, "key file")
    if text.endswith("\n"):
        text = text[:-1]
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        key = bytes.fromhex(text)
        return 0, key, hashlib.sha256(b"audit-trail key id v1\n" + key).hexdigest()[:16]
    lines = text.split("\n")
    names = ("epoch", "id", "fingerprint", "key")
    if len(lines) != 5 or lines[0] != KEY_FILE_V2:
        raise UsageError(f"{path}: expected 64 hex characters, or a version 2 key file starting {KEY_FILE_V2!r}")
    values = {}
    for name, line in zip(names, lines[1:]):
        prefix = name + " "
        if not line.startswith(prefix):
            raise UsageError(f"{path}: version 2 key file: expected a line `{name} <value>`, found {line[:40]!r}")
        values[name] = line[len(prefix):]
    if not re.fullmatch(r"0|[1-9][0-9]*", values["epoch"]) or int(values["epoch"]) > MAX_U64:
        raise UsageError(f"{path}: version 2 key file: expected an epoch number, found {values['epoch']!r}")
    if not re.fullmatch(r"[0-9a-f]{16}", values["id"]):
        raise UsageError(f"{path}: version 2 key file: expected a key id of 16 hex characters")
    for name in ("fingerprint", "key"):
        if not re.fullmatch(r"[0-9a-fA-F]{64}", values[name]):
            raise UsageError(f"{path}: version 2 key file: expected 64 hex characters after `{name}`")
    return int(values["epoch"]), bytes.fromhex(values["key"]), values["id"]


def next_epoch_key(key, epoch):
    """K(epoch + 1) from K(epoch) = key."""
    return hmac.new(key, EPOCH_LABEL + (epoch + 1).to_bytes(8, "big"), hashlib.sha256).digest()


class EpochKeys:
    """The key of each epoch from the key given: later epochs are derived forward,
    earlier ones cannot be (None)."""

    def __init__(self, epoch, key):
        self.base = epoch
        self.keys = {epoch: key}
        self.highest = epoch

    def key_for(self, epoch):
        """(True, key), (True, None) for an epoch earlier than the key given (the MAC
        cannot be checked), or (False, None) for one too far ahead to derive."""
        if epoch < self.base:
            return True, None
        if epoch > self.base + MAX_EPOCHS_AHEAD:
            return False, None
        if epoch not in self.keys:
            e = max(k for k in self.keys if k < epoch) if epoch < self.highest else self.highest
            key = self.keys[e]
            while e < epoch:
                key = next_epoch_key(key, e)
                e += 1
            self.keys[epoch] = key
            self.highest = max(self.highest, epoch)
        return True, self.keys[epoch]


# --- the Merkle tree (§4.2) ------------------------------------------------------


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The RFC 6962 tree over the records' hashes, kept as its frontier: the root of
    each maximal complete subtree, left to right (one per 1 bit of the size)."""

    def __init__(self, size=0, hashes=()):
        self.size = size
        self.hashes = list(hashes)

    def push(self, record_hash):
        h = hashlib.sha256(b"\x00" + record_hash).digest()
        n = self.size
        while n & 1:
            h = node_hash(self.hashes.pop(), h)
            n >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self):
        if not self.hashes:
            return hashlib.sha256(b"").digest()
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r

    def hex_frontier(self):
        return [h.hex() for h in self.hashes]


def frontier_from_seal(tree_size, frontier):
    """The tree a seal's members describe, or None when they do not fit together."""
    if not is_u64(tree_size) or not isinstance(frontier, list):
        return None
    if len(frontier) != bin(tree_size).count("1"):
        return None
    if not all(isinstance(h, str) and HEX64_RE.match(h) for h in frontier):
        return None
    return Frontier(tree_size, [bytes.fromhex(h) for h in frontier])


# --- checkpoints and signed notes (§4.2) -----------------------------------------


def origin_of(service, stream):
    safe = "".join(c if (c.isascii() and (c.isalnum() or c in "._-")) else "_" for c in service)
    return f"tracing-audit/{safe}/{stream}"


def b64decode(text):
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def parse_note(text):
    """A checkpoint note: (origin, size, root bytes, the signed text, [(name, key hash,
    signature)]), or None when it is not one."""
    if not isinstance(text, str) or not text.endswith("\n"):
        return None
    i = text.rfind("\n\n")
    if i < 0:
        return None
    signed, sig_part = text[: i + 1], text[i + 2 :]
    lines = signed[:-1].split("\n")
    if len(lines) != 3:
        return None
    origin, size_text, root_text = lines
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size_text) or int(size_text) > MAX_U64:
        return None
    root = b64decode(root_text)
    if root is None or len(root) != 32:
        return None
    signatures = []
    for line in sig_part[:-1].split("\n") if sig_part else []:
        if not line.startswith("\u2014 "):
            return None
        name, sep, b64 = line[2:].rpartition(" ")
        raw = b64decode(b64)
        if not sep or not name or raw is None or len(raw) < 5:
            return None
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        return None
    return origin, int(size_text), root, signed, signatures


class VerifierKey:
    """A signed-note verifier key `<name>+<8 hex key hash>+<base64(0x01 ‖ public key)>`."""

    def __init__(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(4097)
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{path}: cannot read the verifier key: {e}") from e
        if text.endswith("\n"):
            text = text[:-1]
        parts = text.split("+", 2)
        raw = b64decode(parts[2]) if len(parts) == 3 else None
        if raw is None or len(raw) != 33 or raw[0] != 1 or not parts[0] or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise UsageError(f"{path}: expected a verifier key <name>+<8 hex>+<base64(0x01 ‖ 32-byte Ed25519 public key)>")
        self.name = parts[0]
        self.public = raw[1:]
        self.key_hash = hashlib.sha256(self.name.encode() + b"\n\x01" + self.public).digest()[:4]
        if self.key_hash.hex() != parts[1]:
            raise UsageError(f"{path}: the key hash {parts[1]} is not that of this name and key ({self.key_hash.hex()})")
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        except ImportError as e:
            raise UsageError(
                "--pubkey needs the Python package `cryptography` to check Ed25519 signatures, "
                f"and it cannot be imported ({e}); install it (pip install cryptography, or the "
                "python3-cryptography system package) or leave --pubkey out"
            ) from e
        self.ed25519 = Ed25519PublicKey.from_public_bytes(self.public)

    def verifies(self, signed, signatures):
        """True when the note carries a signature line of this key and every such line
        verifies over the signed text."""
        from cryptography.exceptions import InvalidSignature

        mine = [sig for name, kh, sig in signatures if name == self.name and kh == self.key_hash]
        if not mine:
            return False
        for sig in mine:
            try:
                self.ed25519.verify(sig, signed.encode("utf-8"))
            except InvalidSignature:
                return False
        return True


# --- the verifier (§4) -----------------------------------------------------------


def writer_is_live(directory):
    """True when a writer holds the flock on .lock: probed without waiting, without
    creating the file or following a symlink."""
    try:
        fd = os.open(os.path.join(directory, ".lock"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def read_header(body):
    """The body as a dict with the six header members of the right types, or None."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(obj, dict) or any(k not in obj for k in HEADER):
        return None
    if not all(is_u64(obj[k]) for k in ("v", "seq", "epoch")):
        return None
    if not all(isinstance(obj[k], str) for k in ("ts", "kind", "prev")) or not HEX64_RE.match(obj["prev"]):
        return None
    return obj


def verify(directory, key=None, pubkey=None, checkpoint=None):
    """Verifies the stream in `directory`. `key`: (epoch, key bytes); `pubkey`: a
    VerifierKey; `checkpoint`: (name, note text) of a copied checkpoint."""
    names = []
    failures = []
    for name in sorted(os.listdir(directory)):
        m = SEGMENT_RE.match(name)
        if m:
            # Looked at without opening or following it (§4): a FIFO, a directory or
            # a symlink named like a segment is a not_a_segment failure, never read.
            if not stat.S_ISREG(os.lstat(os.path.join(directory, name)).st_mode):
                failures.append({"kind": "not_a_segment", "file": name, "line": 0, "seq": None})
                continue
            names.append((int(m.group(1)), name))
    names.sort()
    records = 0
    keys = EpochKeys(key[0], key[1]) if key is not None else None
    key_id = key[2] if key is not None and len(key) > 2 else None
    macs_unchecked = 0
    expected_seq, expected_prev, prev_sealed, resync = 0, ZERO, True, False
    epoch = 0  # the epoch of the record before (check 6a)
    version = 0  # the highest v read (check 5)
    stream = service = None  # of the first open record that has them (check 6)
    # The Merkle tree (check 6b): "start" before the first record, then a Frontier,
    # or None while unknown; `tree_lost`: an unreadable line made it unknown for good.
    tree, tree_lost = "start", False
    target = None  # a copied checkpoint: (origin, size, root)
    reached = None  # the tree at the copied checkpoint's size: (root, file, line, seq)
    last_record = None  # (file, line, seq) of the last record read

    if checkpoint is not None:
        cp_name, cp_text = checkpoint
        note = parse_note(cp_text)
        if note is None:
            failures.append({"kind": "malformed_line", "file": cp_name, "line": 1, "seq": None})
        elif pubkey is not None and not pubkey.verifies(note[3], note[4]):
            failures.append({"kind": "bad_signature", "file": cp_name, "line": 1, "seq": None})
        else:
            target = note[:3]

    # The last record read of the newest segment: its kind, seq, and a seal's reason.
    last_kind, last_reason, last_seq = None, None, None

    for index, (first_seq, name) in enumerate(names):
        is_last = index == len(names) - 1
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        torn = lines.pop()  # bytes after the last newline (b"" when none)
        seg_records, sealed, line_no, last_seq = 0, False, 0, None
        last_kind, last_reason = None, None

        def fail(kind, seq=None):
            failures.append({"kind": kind, "file": name, "line": line_no, "seq": seq})

        for raw in lines:
            line_no += 1
            # Check 2.
            m = SUFFIX_RE.search(raw)
            if len(raw) > MAX_LINE or len(raw) < SUFFIX_LEN or not m or m.start() != len(raw) - SUFFIX_LEN or not raw.startswith(b"{"):
                fail("malformed_line")
                resync = True
                expected_seq = None if expected_seq is None or expected_seq == MAX_U64 else expected_seq + 1
                tree, tree_lost = None, True
                continue
            written_hash, written_mac = m.group(1).decode(), m.group(2).decode()
            body = raw[:-SUFFIX_LEN] + b"}"
            digest = hashlib.sha256(body).digest()
            obj = read_header(body)
            seq = obj["seq"] if obj is not None else None
            failed = False
            # Check 3.
            if digest.hex() != written_hash:
                fail("hash_mismatch", seq)
                failed = True
            # Check 4, with the key of the record's own epoch (check 5, §5.2). A line
            # whose header cannot be read is taken to be of the epoch before it.
            if keys is not None:
                derivable, mac_key = keys.key_for(obj["epoch"] if obj is not None else epoch)
                if derivable and mac_key is None:
                    # A record that failed check 3 is not counted (§4 check 5).
                    if not failed:
                        macs_unchecked += 1
                elif not failed and (mac_key is None or hmac.new(mac_key, digest, hashlib.sha256).hexdigest() != written_mac):
                    fail("mac_mismatch", seq)
                    failed = True
            if obj is None:
                if not failed:
                    fail("malformed_line")
                resync = True
                expected_seq = None if expected_seq is None or expected_seq == MAX_U64 else expected_seq + 1
                expected_prev = written_hash
                tree, tree_lost = None, True
                continue

            def check(kind, bad):
                nonlocal failed
                if not failed and bad:
                    fail(kind, seq)
                    failed = True

            kind, v = obj["kind"], obj["v"]
            first_line = seg_records == 0
            first_ever = expected_seq == 0 and seq == 0
            # Check 5.
            check("unknown_version", v not in KINDS or v < version)
            check("malformed_line", kind not in KINDS.get(v, ()))
            # Check 6.
            check("segment_order", kind == "open" and obj.get("segment") != name)
            check("key_mismatch", kind == "open" and key_id is not None
                  and isinstance(obj.get("key_id"), str) and obj.get("key_id") != key_id)
            check("segment_order", first_line and (kind != "open" or seq != first_seq))
            check("segment_order", sealed)
            if kind == "open":
                rec_stream, rec_service = obj.get("stream"), obj.get("service")
                check("stream_mismatch", v >= 2 and not (isinstance(rec_stream, str) and STREAM_RE.match(rec_stream)))
                check("stream_mismatch", stream is not None and rec_stream != stream)
                check("stream_mismatch", service is not None and rec_service != service)
                if stream is None and isinstance(rec_stream, str):
                    stream = rec_stream
                if service is None and isinstance(rec_service, str):
                    service = rec_service
            # Check 6a.
            if v == 1:
                check("epoch_mismatch", obj["epoch"] != 0)
            elif not first_ever and not (first_line and expected_seq is not None and seq > expected_seq):
                # Not after a missing segment (the first record of a segment, later
                # than expected): that is missing_segment, and the epochs between
                # are unknown.
                e = obj["epoch"]
                if kind == "epoch":
                    check("epoch_mismatch", not (e == epoch + 1 and is_u64(obj.get("from")) and obj["from"] == epoch))
                else:
                    check("epoch_mismatch", e != epoch)
            # Check 6b.
            if tree == "start":
                tree = Frontier() if seq == 0 else None
            if kind == "seal" and v >= 2:
                if "tree_size" not in obj or "frontier" not in obj:
                    check("malformed_line", True)
                elif isinstance(tree, Frontier):
                    written = frontier_from_seal(obj["tree_size"], obj["frontier"])
                    check("checkpoint_mismatch", written is None or written.size != tree.size or written.hashes != tree.hashes)
                else:
                    # Verification began after seq 0, or an unreadable line lost the
                    # tree: it is taken from the seal as written (§4 "After a line").
                    written = frontier_from_seal(obj["tree_size"], obj["frontier"])
                    if written is not None and written.size == seq:
                        tree = written
                    else:
                        check("malformed_line", True)
            if kind == "checkpoint":
                size, root, note_text = obj.get("size"), obj.get("root"), obj.get("note")
                if size is None or root is None or note_text is None:
                    check("malformed_line", True)
                else:
                    check("checkpoint_mismatch", size != seq)
                    check("checkpoint_mismatch", isinstance(tree, Frontier) and root != tree.root().hex())
                    note = parse_note(note_text)
                    check("checkpoint_mismatch", note is None)
                    if note is not None:
                        n_origin, n_size, n_root, signed, signatures = note
                        if stream is not None and service is not None:
                            check("stream_mismatch", n_origin != origin_of(service, stream))
                        check("checkpoint_mismatch", n_size != size or n_root.hex() != root)
                        if pubkey is not None:
                            check("bad_signature", not pubkey.verifies(signed, signatures))
            # Check 7.
            if not resync and seq != expected_seq:
                if first_line and prev_sealed and expected_seq is not None and seq > expected_seq:
                    check("missing_segment", True)
                else:
                    check("seq_gap", True)
            # Check 8.
            check("prev_mismatch", not resync and obj["prev"] != expected_prev)
            # After every line whose header could be read.
            expected_seq = None if seq == MAX_U64 else seq + 1
            expected_prev = written_hash
            epoch = obj["epoch"]
            version = max(version, v)
            if isinstance(tree, Frontier):
                tree.push(bytes.fromhex(written_hash))
                if target is not None and reached is None and tree.size == target[1]:
                    reached = (tree.root(), name, line_no, seq)
            resync = False
            prev_sealed = False
            sealed = sealed or kind == "seal"
            seg_records += 1
            last_seq = seq
            last_record = (name, line_no, seq)
            last_kind = kind
            last_reason = obj.get("reason") if kind == "seal" else None
        records += seg_records
        if torn:
            line_no += 1
            if not (is_last and writer_is_live(directory)):
                fail("torn_tail")
        if sealed:
            prev_sealed = True
        elif not is_last:
            line_no = max(line_no, 1)
            fail("segment_order", last_seq)

    if target is not None:
        judge_checkpoint(target, reached, tree, stream, service, last_record, failures)

    end = {"status": "sealed", "reason": None}
    if names and not (last_kind == "seal" and last_reason != "rotate"):
        newest = names[-1][1]
        if writer_is_live(directory):
            end = {"status": "live_writer", "reason": None}
        elif last_kind == "seal":
            end = {"status": "not_proven", "reason": f"the newest segment {newest} is sealed for rotation, but the segment after it (from seq {last_seq + 1}) is missing"}
        else:
            end = {"status": "not_proven", "reason": f"the newest segment {newest} ends without a seal and no writer holds the lock"}
    return {
        "ok": not failures,
        "end": end,
        "records": records,
        "segments": len(names),
        "mac_checked": key is not None,
        "macs_unchecked": macs_unchecked,
        "first_failure": failures[0] if failures else None,
        "failures": failures,
    }


def judge_checkpoint(target, reached, tree, stream, service, last_record, failures):
    """§4.2, "Against a copied checkpoint", once every record was read (its
    signature was checked before)."""
    origin, size, root = target
    file, line, seq = last_record if last_record is not None else (None, 0, None)

    def at_last(kind):
        failures.append({"kind": kind, "file": file, "line": line, "seq": seq})

    if stream is not None and service is not None and origin != origin_of(service, stream):
        return at_last("stream_mismatch")
    if size == 0:
        return None
    if reached is None:
        held = tree.size if isinstance(tree, Frontier) else (seq + 1 if seq is not None else 0)
        if held < size:
            return at_last("truncated")
        # The tree was not known when the trail reached that size: nothing shows
        # the first `size` records are those the checkpoint commits to.
        return at_last("checkpoint_mismatch")
    reached_root, r_file, r_line, r_seq = reached
    if reached_root == root:
        return None
    kind = "checkpoint_mismatch" if isinstance(tree, Frontier) and tree.size == size else "inconsistent"
    failures.append({"kind": kind, "file": r_file, "line": r_line, "seq": r_seq})
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--key-file", help="the HMAC key: K(0) as 64 hex characters, or a version 2 key file")
    ap.add_argument("--pubkey", help="the checkpoint signer's verifier key: check checkpoint signatures (needs `cryptography`)")
    ap.add_argument("--checkpoint", help="a copied checkpoint the trail must extend (needs --pubkey)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(args.dir):
        print(f"verify.py: {args.dir}: not a directory", file=sys.stderr)
        return 2
    try:
        if args.checkpoint and not args.pubkey:
            raise UsageError("--checkpoint needs --pubkey (the signer's verifier key): an unsigned checkpoint proves nothing")
        key = load_key(args.key_file) if args.key_file else None
        pubkey = VerifierKey(args.pubkey) if args.pubkey else None
        checkpoint = None
        if args.checkpoint:
            try:
                with open(args.checkpoint, encoding="utf-8") as f:
                    checkpoint = (os.path.basename(args.checkpoint), f.read(1 << 20))
            except (OSError, UnicodeDecodeError) as e:
                raise UsageError(f"{args.checkpoint}: cannot read the checkpoint: {e}") from e
    except UsageError as e:
        print(f"verify.py: {e}", file=sys.stderr)
        return 2
    report = verify(args.dir, key, pubkey, checkpoint)
    if report["segments"] == 0:
        print(f"verify.py: {args.dir}: no trail here: no segment file", file=sys.stderr)
        return 2
    end = report["end"]
    if args.json:
        print(json.dumps(report))
    else:
        for f in report["failures"]:
            print(f"{f['file']}:{f['line']}: {f['kind']} (seq {f['seq']})")
        if not report["ok"]:
            verdict = "FAILED"
        elif end["status"] == "not_proven":
            verdict = "records intact; end not proven: " + end["reason"]
        else:
            verdict = "intact" + (" (open: a writer is live)" if end["status"] == "live_writer" else "")
        print(f"{report['records']} records in {report['segments']} segments: {verdict}")
        if key is None:
            print("MACs not checked: no key given")
        elif report["macs_unchecked"]:
            print(f"MACs of {report['macs_unchecked']} records not checked: their epoch is earlier than the key given")
    if not report["ok"]:
        return 1
    return 3 if end["status"] == "not_proven" else 0


if __name__ == "__main__":
    sys.exit(main())
