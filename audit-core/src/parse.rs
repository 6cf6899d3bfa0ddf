//! Reading one record line: the fixed suffix, the body, and the header fields.

use std::borrow::Cow;

use serde::Deserialize;

use crate::encode::SUFFIX_LEN;

/// The chain-relevant parts of one record line, borrowed from the line.
#[derive(Debug, Clone)]
pub(crate) struct ParsedLine<'a> {
    /// The body bytes without the closing `}` (the hash covers these plus `}`).
    pub body_open: &'a [u8],
    /// The `hash` field, decoded.
    pub hash: [u8; 32],
    /// The `mac` field, decoded.
    pub mac: [u8; 32],
}

/// The header fields of a record body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderFields<'a> {
    /// Format version.
    pub v: u64,
    /// Sequence number.
    pub seq: u64,
    /// Timestamp text (RFC 3339).
    pub ts: Cow<'a, str>,
    /// Key epoch.
    pub epoch: u64,
    /// The previous record's hash, decoded.
    pub prev: [u8; 32],
    /// The record kind text.
    pub kind: Cow<'a, str>,
}

/// Splits a line (without `\n`) into body and the decoded `hash`/`mac`.
///
/// # Errors
/// A message saying what was expected and what was found.
pub(crate) fn split_line(line: &[u8]) -> Result<ParsedLine<'_>, String> {
    if line.len() < SUFFIX_LEN + 2 {
        return Err(format!(
            "expected a record ending in ,\"hash\":\"<64 hex>\",\"mac\":\"<64 hex>\"}}, found a line of {} bytes",
            line.len()
        ));
    }
    let (body_open, suffix) = line.split_at(line.len() - SUFFIX_LEN);
    let bad = || {
        format!(
            "expected the line to end with ,\"hash\":\"<64 hex>\",\"mac\":\"<64 hex>\"}}, found …{}",
            String::from_utf8_lossy(&line[line.len().saturating_sub(SUFFIX_LEN + 8)..])
        )
    };
    if !(suffix.starts_with(b",\"hash\":\"")
        && &suffix[73..82] == b"\",\"mac\":\""
        && suffix.ends_with(b"\"}")
        && body_open.first() == Some(&b'{'))
    {
        return Err(bad());
    }
    let hash = decode_lower_hex(&suffix[9..73]).ok_or_else(bad)?;
    let mac = decode_lower_hex(&suffix[82..146]).ok_or_else(bad)?;
    Ok(ParsedLine {
        body_open,
        hash,
        mac,
    })
}

/// Decodes 64 lowercase hex characters; `None` for anything else (uppercase too).
pub(crate) fn decode_lower_hex(s: &[u8]) -> Option<[u8; 32]> {
    /// The value of a lowercase hex digit, or 0xff.
    const VAL: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let mut i = 0u8;
        while i < 10 {
            t[(b'0' + i) as usize] = i;
            i += 1;
        }
        let mut i = 0u8;
        while i < 6 {
            t[(b'a' + i) as usize] = 10 + i;
            i += 1;
        }
        t
    };
    let s: &[u8; 64] = s.try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, lo) = (VAL[pair[0] as usize], VAL[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0xf);
    }
    // Valid digits are < 16, so any 0xff sets the high bit of `bad`.
    (bad & 0xf0 == 0).then_some(out)
}

/// Reads the header fields from a body (without its closing `}`).
///
/// The writer always puts them first, in the order `v, seq, ts, epoch, prev, kind`;
/// that common case is read without a JSON parser. Any other valid JSON order is
/// accepted through `serde_json`.
///
/// # Errors
/// A message saying which field is missing or malformed.
pub(crate) fn header(body_open: &[u8]) -> Result<HeaderFields<'_>, String> {
    if let Some(h) = fast_header(body_open) {
        return Ok(h);
    }
    slow_header(body_open)
}

fn fast_header(b: &[u8]) -> Option<HeaderFields<'_>> {
    let mut r = Cursor { b, i: 0 };
    r.tag(b"{\"v\":")?;
    let v = r.number()?;
    r.tag(b",\"seq\":")?;
    let seq = r.number()?;
    r.tag(b",\"ts\":\"")?;
    let ts = r.plain_string()?;
    r.tag(b",\"epoch\":")?;
    let epoch = r.number()?;
    r.tag(b",\"prev\":\"")?;
    let prev = decode_lower_hex(b.get(r.i..r.i + 64)?)?;
    r.i += 64;
    r.tag(b"\",\"kind\":\"")?;
    let kind = r.plain_string()?;
    match b.get(r.i) {
        None | Some(b',') => {}
        _ => return None,
    }
    Some(HeaderFields {
        v,
        seq,
        ts: Cow::Borrowed(ts),
        epoch,
        prev,
        kind: Cow::Borrowed(kind),
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn tag(&mut self, t: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + t.len())? == t {
            self.i += t.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON non-negative integer without leading zeros.
    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        let len = self.i - start;
        if len == 0 || (len > 1 && self.b[start] == b'0') {
            return None;
        }
        Some(n)
    }

    /// The rest of a string with no escapes, up to and past its closing quote.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.i;
        let end = start + memchr::memchr(b'"', self.b.get(start..)?)?;
        let s = &self.b[start..end];
        if s.iter().any(|&c| c == b'\\' || c < 0x20) {
            return None;
        }
        self.i = end + 1;
        std::str::from_utf8(s).ok()
    }
}

#[derive(Deserialize)]
struct OwnedHeader<'a> {
    v: u64,
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    epoch: u64,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

fn slow_header(body_open: &[u8]) -> Result<HeaderFields<'static>, String> {
    let mut body = Vec::with_capacity(body_open.len() + 1);
    body.extend_from_slice(body_open);
    body.push(b'}');
    let h: OwnedHeader<'_> = serde_json::from_slice(&body).map_err(|e| {
        format!("expected a JSON object with v, seq, ts, epoch, prev and kind: {e}")
    })?;
    let prev = decode_lower_hex(h.prev.as_bytes()).ok_or_else(|| {
        format!(
            "expected prev to be 64 lowercase hex characters, found {:?}",
            h.prev
        )
    })?;
    Ok(HeaderFields {
        v: h.v,
        seq: h.seq,
        ts: Cow::Owned(h.ts.into_owned()),
        epoch: h.epoch,
        prev,
        kind: Cow::Owned(h.kind.into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn fast_and_slow_paths_agree() {
        let canonical = format!(
            r#"{{"v":1,"seq":7,"ts":"2026-11-23T00:00:00.000000Z","epoch":0,"prev":"{PREV}","kind":"event","x":1"#
        );
        let reordered = format!(
            r#"{{"kind":"event","seq":7,"v":1,"epoch":0,"ts":"2026-11-23T00:00:00.000000Z","prev":"{PREV}","x":1"#
        );
        let a = header(canonical.as_bytes()).unwrap();
        assert!(fast_header(canonical.as_bytes()).is_some());
        assert!(fast_header(reordered.as_bytes()).is_none());
        let b = header(reordered.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.seq, 7);
        assert_eq!(a.kind, "event");
    }

    #[test]
    fn leading_zeros_and_missing_fields_are_rejected() {
        let body = format!(r#"{{"v":1,"seq":07,"ts":"t","epoch":0,"prev":"{PREV}","kind":"event""#);
        let err = header(body.as_bytes()).unwrap_err();
        assert!(err.contains("expected a JSON object"), "{err}");
        let err = header(br#"{"v":1"#).unwrap_err();
        assert!(err.contains("seq"), "{err}");
    }

    #[test]
    fn suffix_must_be_exact() {
        let h = "a".repeat(64);
        let good = format!(r#"{{"v":1,"hash":"{h}","mac":"{h}"}}"#);
        assert!(split_line(good.as_bytes()).is_ok());
        let upper = good.replace('a', "A");
        assert!(split_line(upper.as_bytes()).is_err());
        let spaced = format!(r#"{{"v":1, "hash":"{h}","mac":"{h}"}}"#);
        assert!(split_line(spaced.as_bytes()).is_err());
        let spaced = format!(r#"{{"v":1,"hash": "{h}","mac":"{h}"}}"#);
        assert!(split_line(spaced.as_bytes()).is_err());
    }
}
