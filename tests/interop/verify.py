#!/usr/bin/env python3
"""An independent verifier for audit-trail streams, written from docs/FORMAT.md alone.

Python 3 standard library only. Usage:

    verify.py DIR [--key-file FILE] [--json]

Exit status: 0 intact and the end proven, 1 failures found, 2 usage or I/O error
(also: no segment at all), 3 records intact but the end not proven (FORMAT.md §4,
"The end of a trail"). With --json it prints {"ok", "end", "records", "segments",
"mac_checked", "first_failure", "failures"} like `audit verify --json`, where "end" is
{"status": "sealed" | "live_writer" | "not_proven", "reason": text or null}.
"""

import argparse
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
SUFFIX_RE = re.compile(rb',"hash":"([0-9a-f]{64})","mac":"([0-9a-f]{64})"\}\Z')
SEGMENT_RE = re.compile(r"\Aseg-(\d{20})-(\d{8}T\d{6}Z)\.jsonl\Z")
KINDS = {"open", "seal", "recovery", "gap", "event"}
HEADER = ("v", "seq", "ts", "epoch", "prev", "kind")
ZERO = "0" * 64


def load_key(path):
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise SystemExit(f"verify.py: {path}: key file mode {st.st_mode & 0o777:04o} is readable by others")
    text = open(path, encoding="ascii").read()
    if text.endswith("\n"):
        text = text[:-1]
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise SystemExit(f"verify.py: {path}: expected 64 hex characters")
    return bytes.fromhex(text)


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


def verify(directory, key):
    names = []
    for name in os.listdir(directory):
        m = SEGMENT_RE.match(name)
        if m:
            names.append((int(m.group(1)), name))
    names.sort()
    failures = []
    records = 0
    expected_seq, expected_prev, prev_sealed, resync = 0, ZERO, True, False
    # The last record read of the newest segment: its kind, seq, and a seal's reason.
    last_kind, last_reason, last_seq = None, None, None

    for index, (first_seq, name) in enumerate(names):
        is_last = index == len(names) - 1
        data = open(os.path.join(directory, name), "rb").read()
        lines = data.split(b"\n")
        torn = lines.pop()  # bytes after the last newline (b"" when none)
        seg_records, sealed, line_no, last_seq = 0, False, 0, None
        last_kind, last_reason = None, None

        def fail(kind, seq=None):
            failures.append({"kind": kind, "file": name, "line": line_no, "seq": seq})

        for raw in lines:
            line_no += 1
            m = SUFFIX_RE.search(raw)
            if len(raw) > MAX_LINE or len(raw) < SUFFIX_LEN or not m or m.start() != len(raw) - SUFFIX_LEN or not raw.startswith(b"{"):
                fail("malformed_line")
                resync = True
                expected_seq += 1
                continue
            written_hash, written_mac = m.group(1).decode(), m.group(2).decode()
            body = raw[:-SUFFIX_LEN] + b"}"
            digest = hashlib.sha256(body).digest()
            try:
                obj = json.loads(body.decode("utf-8"))
                if not isinstance(obj, dict) or any(k not in obj for k in HEADER):
                    raise ValueError("missing header")
                seq = obj["seq"]
                if not isinstance(seq, int) or not isinstance(obj["v"], int):
                    raise ValueError("bad header types")
            except ValueError:
                obj, seq = None, None
            failed = False
            if digest.hex() != written_hash:
                fail("hash_mismatch", seq)
                failed = True
            elif key is not None and hmac.new(key, digest, hashlib.sha256).hexdigest() != written_mac:
                fail("mac_mismatch", seq)
                failed = True
            if obj is None:
                if not failed:
                    fail("malformed_line")
                resync = True
                expected_seq += 1
                expected_prev = written_hash
                continue
            kind = obj["kind"]
            first_line = seg_records == 0
            if not failed and obj["v"] != 1:
                fail("unknown_version", seq)
                failed = True
            if not failed and kind not in KINDS:
                fail("malformed_line", seq)
                failed = True
            if not failed and kind == "open" and obj.get("segment") != name:
                fail("segment_order", seq)
                failed = True
            if not failed and first_line and (kind != "open" or seq != first_seq):
                fail("segment_order", seq)
                failed = True
            if not failed and sealed:
                fail("segment_order", seq)
                failed = True
            if not failed and not resync and seq != expected_seq:
                if first_line and prev_sealed and seq > expected_seq:
                    fail("missing_segment", seq)
                else:
                    fail("seq_gap", seq)
                failed = True
            if not failed and not resync and obj["prev"] != expected_prev:
                fail("prev_mismatch", seq)
            expected_seq = seq + 1
            expected_prev = written_hash
            resync = False
            prev_sealed = False
            sealed = sealed or kind == "seal"
            seg_records += 1
            last_seq = seq
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
        "first_failure": failures[0] if failures else None,
        "failures": failures,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--key-file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(args.dir):
        print(f"verify.py: {args.dir}: not a directory", file=sys.stderr)
        return 2
    key = load_key(args.key_file) if args.key_file else None
    report = verify(args.dir, key)
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
    if not report["ok"]:
        return 1
    return 3 if end["status"] == "not_proven" else 0


if __name__ == "__main__":
    sys.exit(main())
