//! The canonical line encoding: JSON escaping, the record header, hashing and MAC.
//!
//! A line is `BODY_WITHOUT_CLOSING_BRACE,"hash":"<hex>","mac":"<hex>"}\n`, and
//! `hash = SHA-256(BODY_WITHOUT_CLOSING_BRACE ‖ "}")`. See `docs/FORMAT.md`.

use sha2::{Digest as _, Sha256};

use crate::key::Key;
use crate::record::{Entry, Event, FORMAT_VERSION, FieldValue, Gap, RecordKind};
use crate::timestamp::{Timestamp, TsCache};

/// Length of the fixed line suffix `,"hash":"<64>","mac":"<64>"}` (without `\n`).
pub const SUFFIX_LEN: usize = 9 + 64 + 9 + 64 + 2;

/// 32 zero bytes: the `prev` of the first record of a stream.
pub const ZERO_HASH: [u8; 32] = [0u8; 32];

/// The longest record line, in bytes without its `\n` (16 MiB). The writer refuses
/// to write a longer record; readers report a longer line as `malformed_line`
/// without buffering it.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Size limits applied while encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// A string value longer than this many bytes (UTF-8, before escaping) is cut at a
    /// character boundary and ends with the marker `…[truncated, N bytes in all]`.
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_bytes: 16 * 1024,
        }
    }
}

impl Limits {
    /// The default limits (16 KiB per string value).
    pub fn new() -> Limits {
        Limits::default()
    }

    /// Sets the longest string value, in bytes (builder style).
    pub fn max_value_bytes(mut self, bytes: usize) -> Limits {
        self.max_value_bytes = bytes;
        self
    }
}

/// The header every record starts with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    pub seq: u64,
    pub ts: Timestamp,
    pub epoch: u64,
    pub prev: &'a [u8; 32],
    pub kind: RecordKind,
}

/// Writes the header: `{"v":2,"seq":N,"ts":"…","epoch":E,"prev":"…","kind":"…"`.
pub(crate) fn begin(out: &mut Vec<u8>, h: &Header<'_>, ts_cache: &mut TsCache) {
    let mut ib = itoa::Buffer::new();
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(ib.format(FORMAT_VERSION).as_bytes());
    out.extend_from_slice(b",\"seq\":");
    out.extend_from_slice(ib.format(h.seq).as_bytes());
    out.extend_from_slice(b",\"ts\":\"");
    ts_cache.write(h.ts, out);
    out.extend_from_slice(b"\",\"epoch\":");
    out.extend_from_slice(ib.format(h.epoch).as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    push_hex(out, h.prev);
    out.extend_from_slice(b"\",\"kind\":\"");
    out.extend_from_slice(h.kind.as_str().as_bytes());
    out.push(b'"');
}

/// Appends one whole record line to `out`: the header, the kind's body (written by
/// `body`), then the hash and MAC suffix. Returns the record's hash.
pub(crate) fn line(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    ts_cache: &mut TsCache,
    key: &Key,
    body: impl FnOnce(&mut Vec<u8>),
) -> [u8; 32] {
    let start = out.len();
    begin(out, header, ts_cache);
    body(out);
    finish(out, start, key)
}

/// Closes the record started at `start`: hashes the body, MACs the hash, appends the
/// suffix and the newline. Returns the hash.
pub(crate) fn finish(out: &mut Vec<u8>, start: usize, key: &Key) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&out[start..]);
    h.update(b"}");
    let hash: [u8; 32] = h.finalize().into();
    let mac = key.mac(&hash);
    out.extend_from_slice(b",\"hash\":\"");
    push_hex(out, &hash);
    out.extend_from_slice(b"\",\"mac\":\"");
    push_hex(out, &mac);
    out.extend_from_slice(b"\"}\n");
    hash
}

/// Appends the 64 lowercase hex digits of `bytes`.
///
/// Hand-written rather than `hex::encode_to_slice` (`hex` is a dependency, for the
/// key file) because it pays on the writer's hot path, three times per record
/// (`prev`, `hash`, `mac`): 12.3 ns against 18.8 ns for 32 bytes, about 20 ns per
/// record, a tenth of encoding one (197 ns in the same run). Criterion `hex/*` and
/// `encode/*` of `cargo bench -p tracing-audit-core`, docs/BENCHMARKS.md, 2026-12-01.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8; 32]) {
    /// Each byte's two lowercase hex digits.
    const PAIRS: [[u8; 2]; 256] = {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [HEX[i >> 4], HEX[i & 0xf]];
            i += 1;
        }
        t
    };
    let mut buf = [0u8; 64];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[*b as usize]);
    }
    out.extend_from_slice(&buf);
}

/// Writes `,"name":`. Names are the format's own member names: plain ASCII
/// identifiers that never need escaping (user-chosen names go through [`string`]).
pub(crate) fn key(out: &mut Vec<u8>, name: &'static str) {
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `,"name":"value"` with `value` escaped and limited.
pub(crate) fn str_field(out: &mut Vec<u8>, name: &'static str, value: &str, limits: &Limits) {
    key(out, name);
    string(out, value, limits.max_value_bytes);
}

/// Writes `,"name":N`.
pub(crate) fn u64_field(out: &mut Vec<u8>, name: &'static str, value: u64) {
    key(out, name);
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes `,"name":["<64 hex>",…]`.
pub(crate) fn hex_array_field(out: &mut Vec<u8>, name: &'static str, values: &[[u8; 32]]) {
    key(out, name);
    out.push(b'[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        push_hex(out, v);
        out.push(b'"');
    }
    out.push(b']');
}

fn opt_field(out: &mut Vec<u8>, name: &'static str, value: Option<&str>, limits: &Limits) {
    if let Some(v) = value {
        str_field(out, name, v, limits);
    }
}

/// Writes the kind-specific part of an appended entry.
pub(crate) fn entry_body(out: &mut Vec<u8>, entry: &Entry, service: &str, limits: &Limits) {
    match entry {
        Entry::Event(e) => event_body(out, e, service, limits),
        Entry::Gap(g) => gap_body(out, g, limits),
    }
}

fn event_body(out: &mut Vec<u8>, e: &Event, service: &str, limits: &Limits) {
    out.extend_from_slice(b",\"id\":\"");
    let mut ub = uuid::Uuid::encode_buffer();
    out.extend_from_slice(e.id.hyphenated().encode_lower(&mut ub).as_bytes());
    out.push(b'"');
    str_field(out, "service", service, limits);
    str_field(out, "action", &e.action, limits);
    opt_field(out, "category", e.category.as_deref(), limits);
    str_field(out, "outcome", e.outcome.as_str(), limits);
    if !e.actor.is_empty() {
        out.extend_from_slice(b",\"actor\":{");
        let mut first = true;
        for (name, v) in [
            ("id", &e.actor.id),
            ("ip", &e.actor.ip),
            ("auth", &e.actor.auth),
            ("session", &e.actor.session),
        ] {
            if let Some(v) = v {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.push(b'"');
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                string(out, v, limits.max_value_bytes);
            }
        }
        out.push(b'}');
    }
    opt_field(out, "resource", e.resource.as_deref(), limits);
    opt_field(out, "reason", e.reason.as_deref(), limits);
    opt_field(out, "request_id", e.request_id.as_deref(), limits);
    opt_field(out, "trace_id", e.trace_id.as_deref(), limits);
    opt_field(out, "org_id", e.org_id.as_deref(), limits);
    opt_field(out, "project_id", e.project_id.as_deref(), limits);
    opt_field(out, "legal_hold_id", e.legal_hold_id.as_deref(), limits);
    out.extend_from_slice(b",\"fields\":{");
    for (i, (name, value)) in e.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name, limits.max_value_bytes);
        out.push(b':');
        field_value(out, value, limits);
    }
    out.push(b'}');
}

fn gap_body(out: &mut Vec<u8>, g: &Gap, limits: &Limits) {
    u64_field(out, "count", g.count);
    key(out, "from");
    out.push(b'"');
    g.from.write_rfc3339(out);
    out.push(b'"');
    key(out, "to");
    out.push(b'"');
    g.to.write_rfc3339(out);
    out.push(b'"');
    str_field(out, "reason", &g.reason, limits);
}

fn field_value(out: &mut Vec<u8>, v: &FieldValue, limits: &Limits) {
    match v {
        FieldValue::Null => out.extend_from_slice(b"null"),
        FieldValue::Bool(true) => out.extend_from_slice(b"true"),
        FieldValue::Bool(false) => out.extend_from_slice(b"false"),
        FieldValue::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::U64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::F64(f) if f.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes());
        }
        FieldValue::F64(f) if f.is_nan() => out.extend_from_slice(b"\"NaN\""),
        FieldValue::F64(f) if *f > 0.0 => out.extend_from_slice(b"\"inf\""),
        FieldValue::F64(_) => out.extend_from_slice(b"\"-inf\""),
        FieldValue::Str(s) => string(out, s, limits.max_value_bytes),
    }
}

/// Writes `s` as a JSON string, cut to `max` bytes with a visible marker.
///
/// Besides what JSON requires (`"`, `\`, U+0000–U+001F), this escapes DEL, the line
/// and paragraph separators, the bidirectional controls and the byte-order mark, so
/// that no record can reorder or hide text on an operator's terminal.
pub(crate) fn string(out: &mut Vec<u8>, s: &str, max: usize) {
    out.push(b'"');
    if s.len() <= max {
        escape_into(out, s);
    } else {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        escape_into(out, &s[..cut]);
        out.extend_from_slice("…[truncated, ".as_bytes());
        out.extend_from_slice(itoa::Buffer::new().format(s.len()).as_bytes());
        out.extend_from_slice(b" bytes in all]");
    }
    out.push(b'"');
}

/// Bytes that may start something to escape: `"`, `\\`, controls, DEL, and the lead
/// bytes of U+061C (0xD8), U+2xxx (0xE2) and U+FEFF (0xEF).
const ATTENTION: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t[0xd8] = true;
    t[0xe2] = true;
    t[0xef] = true;
    t
};

/// The character to escape that starts at `bytes[i]`, and its UTF-8 width; `None`
/// when the byte at `i` starts nothing that needs escaping.
fn escape_at(bytes: &[u8], i: usize) -> Option<(u32, usize)> {
    let b = bytes[i];
    match b {
        b'"' | b'\\' | 0x00..=0x1f | 0x7f => Some((u32::from(b), 1)),
        0xd8 if bytes.get(i + 1) == Some(&0x9c) => Some((0x061c, 2)),
        0xe2 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            // U+200E, U+200F, U+2028..U+202E
            (Some(0x80), Some(&c @ (0x8e | 0x8f | 0xa8..=0xae))) => {
                Some((0x2000 + u32::from(c - 0x80), 3))
            }
            // U+2066..U+2069
            (Some(0x81), Some(&c @ 0xa6..=0xa9)) => Some((0x2040 + u32::from(c - 0x80), 3)),
            _ => None,
        },
        0xef if bytes.get(i + 1) == Some(&0xbb) && bytes.get(i + 2) == Some(&0xbf) => {
            Some((0xfeff, 3))
        }
        _ => None,
    }
}

/// True when any byte of the 8 in `w` may need attention: `"`, `\\`, a control, DEL, or
/// any non-ASCII byte (SWAR: the classic "has zero byte" / "has byte less than" tricks).
#[inline]
fn word_needs_attention(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_0x20 = w.wrapping_sub(LO * 0x20) & !w & HI;
    (w & HI)
        | below_0x20
        | has_zero(w ^ (LO * 0x22))
        | has_zero(w ^ (LO * 0x5c))
        | has_zero(w ^ (LO * 0x7f))
        != 0
}

/// Appends `s` with the format's escapes (docs/FORMAT.md).
///
/// Hand-written, not `serde_json`: the format escapes more than JSON requires
/// (DEL, the bidirectional controls, U+2028/U+2029, the BOM), which `serde_json`
/// cannot be told to do, and the bytes are what gets hashed. The 8-byte (SWAR) scan
/// was part of the 40 % cut in encoding time recorded in docs/BENCHMARKS.md
/// (2026-11-24); `escape_into` was 7 % of the writer's profile after it.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut done = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            // Infallible: the slice is exactly 8 bytes long.
            let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            if !word_needs_attention(w) {
                i += 8;
                continue;
            }
        }
        if !ATTENTION[bytes[i] as usize] {
            i += 1;
            continue;
        }
        let Some((c, width)) = escape_at(bytes, i) else {
            i += 1;
            continue;
        };
        out.extend_from_slice(&bytes[done..i]);
        match c {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u");
                for shift in [12u32, 8, 4, 0] {
                    out.push(HEX[((c >> shift) & 0xf) as usize]);
                }
            }
        }
        i += width;
        done = i;
    }
    out.extend_from_slice(&bytes[done..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        string(&mut v, s, usize::MAX);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_what_json_requires_and_what_terminals_abuse() {
        assert_eq!(esc("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(esc("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(esc("\u{0}\u{1b}[31m\u{7f}"), r#""\u0000\u001b[31m\u007f""#);
        assert_eq!(esc("x\u{202e}y\u{2066}z"), r#""x\u202ey\u2066z""#);
        assert_eq!(
            esc("\u{2028}\u{2029}\u{200f}\u{61c}\u{feff}"),
            r#""\u2028\u2029\u200f\u061c\ufeff""#
        );
        // Non-ASCII text that is not a control stays as UTF-8.
        assert_eq!(
            esc("Grüße — 日本 \u{2027}\u{2030}"),
            "\"Grüße — 日本 \u{2027}\u{2030}\""
        );
    }

    #[test]
    fn escaped_strings_parse_back_to_the_original() {
        for s in [
            "\u{0}\u{1f}\"\\\u{7f}",
            "a\u{202a}b\u{2069}c",
            "😀\u{2028}",
            "",
        ] {
            let back: String = serde_json::from_str(&esc(s)).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn word_check_flags_exactly_the_bytes_that_need_a_look() {
        for b in 0u8..=255 {
            let expect = b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f;
            for pos in 0..8 {
                let mut word = *b"abcdefgh";
                word[pos] = b;
                assert_eq!(
                    word_needs_attention(u64::from_le_bytes(word)),
                    expect,
                    "byte {b:#x} at {pos}"
                );
            }
        }
    }

    #[test]
    fn escapes_are_found_at_every_offset() {
        for pos in 0..20 {
            let mut s = "x".repeat(20);
            s.insert(pos, '\n');
            s.insert(pos / 2, '\u{202e}');
            let got = esc(&s);
            let back: String = serde_json::from_str(&got).unwrap();
            assert_eq!(back, s);
            assert!(got.contains("\\n") && got.contains("\\u202e"), "{got}");
        }
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary_with_a_marker() {
        let mut v = Vec::new();
        string(&mut v, "ééé", 3);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "\"é…[truncated, 6 bytes in all]\""
        );
    }
}
