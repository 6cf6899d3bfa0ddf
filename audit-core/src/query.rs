//! Finding records: "every pool deletion by alice last Tuesday".
//!
//! A [`Query`] selects `event` records by action (exact names or globs such as
//! `pool.*`), category, actor, outcome, resource, organisation, project, request id
//! and a time window, and yields them in stream order, at most a limit of them, or
//! only the last N. Segments that lie wholly outside the window are never opened
//! (their names carry their start time), and memory stays flat whatever the trail's
//! size: one read chunk, plus the last N records when [`Query::last`] is used.
//!
//! A query reads; it does not verify. Run [`crate::verify_dir`] (`audit verify`) to
//! know whether what it returns can be trusted.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::query::Query;
//! use tracing_audit_core::{Event, Key, Stream, Writer, WriterConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let mut w = Writer::open(WriterConfig::new(dir.path(), "pools", Key::generate()?))?;
//! let mut e = Event::new("pool.delete");
//! e.actor.id = Some("alice".into());
//! w.append(&[e.into(), Event::new("auth.success").into()])?;
//! w.close()?;
//!
//! let stream = Stream::open(dir.path())?;
//! let found: Vec<_> = Query::new().action("pool.*").actor("alice").run(&stream).collect::<Result<_, _>>()?;
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].json()?["action"], "pool.delete");
//! # Ok(()) }
//! ```

use std::collections::VecDeque;

use crate::error::Result;
use crate::reader::{Record, Records, Stream};
use crate::record::RecordKind;
use crate::timestamp::Timestamp;

/// What to find (every filter given must hold; a filter repeated, such as two
/// actions, matches either).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Query {
    /// Action names or globs (`*` any run of characters, `?` one).
    pub actions: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// `actor.id` values.
    pub actors: Vec<String>,
    /// Outcomes (`success`, `failure`, `denied`, `panic`, `unknown`).
    pub outcomes: Vec<String>,
    /// Resources.
    pub resources: Vec<String>,
    /// Organisations (`org_id`).
    pub orgs: Vec<String>,
    /// Projects (`project_id`).
    pub projects: Vec<String>,
    /// Request ids.
    pub request_ids: Vec<String>,
    /// Records at or after this time.
    pub from: Option<Timestamp>,
    /// Records at or before this time.
    pub to: Option<Timestamp>,
    /// At most this many records (the first ones).
    pub limit: Option<u64>,
    /// Only the last this many records.
    pub last: Option<u64>,
}

macro_rules! adder {
    ($(#[$doc:meta])* $name:ident, $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Query {
            self.$field.push(value.into());
            self
        }
    };
}

impl Query {
    /// Every event record.
    pub fn new() -> Query {
        Query::default()
    }

    adder!(
        /// Adds an action name or glob (`pool.*`).
        action, actions
    );
    adder!(
        /// Adds a category.
        category, categories
    );
    adder!(
        /// Adds an actor id.
        actor, actors
    );
    adder!(
        /// Adds an outcome.
        outcome, outcomes
    );
    adder!(
        /// Adds a resource.
        resource, resources
    );
    adder!(
        /// Adds an organisation id.
        org, orgs
    );
    adder!(
        /// Adds a project id.
        project, projects
    );
    adder!(
        /// Adds a request id.
        request_id, request_ids
    );

    /// Records at or after `from`.
    pub fn from(mut self, from: Timestamp) -> Query {
        self.from = Some(from);
        self
    }

    /// Records at or before `to`.
    pub fn to(mut self, to: Timestamp) -> Query {
        self.to = Some(to);
        self
    }

    /// At most `n` records, the first that match.
    pub fn limit(mut self, n: u64) -> Query {
        self.limit = Some(n);
        self
    }

    /// Only the last `n` records that match.
    pub fn last(mut self, n: u64) -> Query {
        self.last = Some(n);
        self
    }

    /// The matching records of `stream`, in stream order. A line that is not a
    /// record is an `Err` item naming its file and line, and reading goes on.
    pub fn run<'s>(&self, stream: &'s Stream) -> Matches<'s> {
        let (first, end) = crate::verify::window(stream.segments(), self.from, self.to);
        self.run_segments(stream, first..end)
    }

    /// The cheap check of a raw line: false when a needed value cannot be in it.
    fn prefilter(&self) -> impl Fn(&[u8]) -> bool + 'static {
        // Only values written as they are (no glob, nothing JSON escapes), and
        // only when every value of a filter is such: then one must occur.
        let plain = |v: &str| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'*' | b'?'))
        };
        let needs: Vec<Vec<memchr::memmem::Finder<'static>>> = [
            &self.actions,
            &self.actors,
            &self.resources,
            &self.request_ids,
        ]
        .into_iter()
        .filter(|values| !values.is_empty() && values.iter().all(|v| plain(v)))
        .map(|values| {
            values
                .iter()
                .map(|v| memchr::memmem::Finder::new(v.as_bytes()).into_owned())
                .collect()
        })
        .collect();
        let event = memchr::memmem::Finder::new(b"\"kind\":\"event\"").into_owned();
        move |raw: &[u8]| {
            event.find(raw).is_some()
                && needs
                    .iter()
                    .all(|any| any.iter().any(|f| f.find(raw).is_some()))
        }
    }

    /// Like [`Query::run`], over the segments `range` of `stream` only (the
    /// time window is still applied to each record).
    pub fn run_segments<'s>(
        &self,
        stream: &'s Stream,
        range: std::ops::Range<usize>,
    ) -> Matches<'s> {
        Matches {
            query: self.clone(),
            records: stream.records_of(range).keeping(self.prefilter()),
            yielded: 0,
            last: self.last.map(|n| (n, VecDeque::new())),
            drained: false,
        }
    }

    /// Whether `record` matches (an `event` record whose fields hold).
    pub fn matches(&self, record: &Record) -> bool {
        if record.kind != Some(RecordKind::Event) {
            return false;
        }
        let Ok(v) = record.json() else {
            return false;
        };
        let text = |path: &[&str]| -> Option<&str> {
            let mut at = &v;
            for p in path {
                at = at.get(p)?;
            }
            at.as_str()
        };
        let any = |values: &[String], found: Option<&str>| {
            values.is_empty() || found.is_some_and(|f| values.iter().any(|v| v == f))
        };
        if !self.actions.is_empty() {
            let Some(action) = text(&["action"]) else {
                return false;
            };
            if !self.actions.iter().any(|g| glob(g, action)) {
                return false;
            }
        }
        if !(any(&self.categories, text(&["category"]))
            && any(&self.actors, text(&["actor", "id"]))
            && any(&self.outcomes, text(&["outcome"]))
            && any(&self.resources, text(&["resource"]))
            && any(&self.orgs, text(&["org_id"]))
            && any(&self.projects, text(&["project_id"]))
            && any(&self.request_ids, text(&["request_id"])))
        {
            return false;
        }
        if self.from.is_some() || self.to.is_some() {
            let Some(ts) = text(&["ts"]).and_then(|t| Timestamp::parse(t).ok()) else {
                return false;
            };
            if self.from.is_some_and(|f| ts < f) || self.to.is_some_and(|t| ts > t) {
                return false;
            }
        }
        true
    }
}

/// The records a [`Query`] matches, in stream order.
pub struct Matches<'s> {
    query: Query,
    records: Records<'s>,
    yielded: u64,
    last: Option<(u64, VecDeque<Record>)>,
    drained: bool,
}

impl std::fmt::Debug for Matches<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matches")
            .field("query", &self.query)
            .field("yielded", &self.yielded)
            .finish_non_exhaustive()
    }
}

impl Iterator for Matches<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.query.limit.is_some_and(|l| self.yielded >= l) {
            return None;
        }
        if let Some((n, ring)) = &mut self.last {
            if !self.drained {
                for r in self.records.by_ref() {
                    match r {
                        Ok(r) if self.query.matches(&r) => {
                            if ring.len() as u64 == *n {
                                ring.pop_front();
                            }
                            if *n > 0 {
                                ring.push_back(r);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => return Some(Err(e)),
                    }
                }
                self.drained = true;
            }
            let r = ring.pop_front()?;
            self.yielded += 1;
            return Some(Ok(r));
        }
        for r in self.records.by_ref() {
            match r {
                Ok(r) if self.query.matches(&r) => {
                    self.yielded += 1;
                    return Some(Ok(r));
                }
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

/// Whether `text` matches the glob `pattern` (`*`: any run of characters, `?`:
/// one character; nothing else is special).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_as_a_shell_does() {
        assert!(glob("pool.*", "pool.delete"));
        assert!(glob("pool.*", "pool."));
        assert!(!glob("pool.*", "pools.delete"));
        assert!(glob("*.delete", "pool.delete"));
        assert!(glob("p??l.*", "pool.x"));
        assert!(!glob("pool.delete", "pool.deleted"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }
}
