//! The typed syntax of an invocation, with the spans of the user's tokens: what
//! [`attr`](crate::attr) parses, [`valid`](crate::valid) checks and
//! [`expand`](crate::expand) generates code from.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt as _;
use syn::{Attribute, Expr, Ident, LitStr, Signature, Visibility};
use tracing_audit_catalog::Action;
use tracing_audit_schema::Member;

/// Which macro is being expanded (for messages and the arguments it accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    /// `audit!(…)`.
    Audit,
    /// `#[audited(…)]`.
    Audited,
}

/// How a value is recorded: as itself, with `Display` (`%`), or with `Debug` (`?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sigil {
    None,
    Display,
    Debug,
}

/// A dotted field name as written: `resource`, `actor.ip`, `http.status`.
#[derive(Clone)]
pub(crate) struct Name {
    /// One or more identifiers (raw identifiers allowed).
    pub parts: Vec<Ident>,
}

impl Name {
    /// The name as text, without `r#`: `http.status`.
    pub(crate) fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| p.unraw().to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// From the first part to the last.
    pub(crate) fn span(&self) -> Span {
        let first = self.parts[0].span();
        self.parts
            .last()
            .and_then(|l| first.join(l.span()))
            .unwrap_or(first)
    }
}

impl ToTokens for Name {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let parts = &self.parts;
        tokens.extend(quote!(#(#parts).*));
    }
}

/// The value of a member or a field: an expression, or (for `%name`, `?name`,
/// `name`) the variable the field is named after.
pub(crate) enum Value {
    Expr(Expr),
    Variable(Ident),
}

impl ToTokens for Value {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Value::Expr(e) => e.to_tokens(tokens),
            Value::Variable(i) => i.to_tokens(tokens),
        }
    }
}

/// A record member given as an argument: `actor = user.id`, `resource = %pool`.
pub(crate) struct MemberArg {
    pub member: Member,
    /// As written (`actor`, `actor.id`, …): where errors point.
    pub name: Name,
    pub sigil: Sigil,
    pub value: Value,
}

/// A free field: `size_gb = 128`, `%pool`, `?details`, inside `fields(…)` for
/// `#[audited]`.
pub(crate) struct FieldArg {
    pub name: Name,
    pub sigil: Sigil,
    pub value: Value,
}

/// A name in `context(…)`: a member (or field) an enclosing span provides.
pub(crate) struct ContextName {
    pub ident: Ident,
}

impl ContextName {
    pub(crate) fn text(&self) -> String {
        self.ident.unraw().to_string()
    }
}

/// One argument of either macro, in the order written.
pub(crate) enum Arg {
    /// `action = "name"`; `None` when the value was not a string literal (already
    /// reported).
    Action { key: Ident, name: Option<LitStr> },
    /// `actor = …`, `resource = …`, …
    Member(MemberArg),
    /// `outcome = …` (`audit!` only).
    Outcome {
        key: Ident,
        sigil: Sigil,
        value: Value,
    },
    /// A free field (`audit!` only; `#[audited]` takes them in `fields(…)`).
    Field(FieldArg),
    /// `fields(name = value, …)` (`#[audited]` only).
    Fields { key: Ident, fields: Vec<FieldArg> },
    /// `context(member, …)`.
    Context { key: Ident, names: Vec<ContextName> },
    /// `skip(arg, …)` (`#[audited]` only).
    Skip { key: Ident, names: Vec<Ident> },
    /// `redact(arg, …)` (`#[audited]` only).
    Redact { key: Ident, names: Vec<Ident> },
    /// `skip_all` (`#[audited]` only).
    SkipAll { key: Ident },
    /// `fail_closed` (`#[audited]` only).
    FailClosed { key: Ident },
    /// `durable` (`#[audited]` only).
    Durable { key: Ident },
    /// `crate = path`: where the facade is, for a renamed dependency.
    Crate { key: Span, path: syn::Path },
}

/// What an argument is about, for the "given twice" check: a member named two ways
/// (`actor`, `actor.id`) is one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Member(Member),
    Name(String),
}

impl Arg {
    /// The key and the span of the argument's name.
    pub(crate) fn key(&self) -> (Key, Span) {
        let named = |i: &Ident| (Key::Name(i.unraw().to_string()), i.span());
        match self {
            Arg::Action { key, .. }
            | Arg::Outcome { key, .. }
            | Arg::Fields { key, .. }
            | Arg::Context { key, .. }
            | Arg::Skip { key, .. }
            | Arg::Redact { key, .. }
            | Arg::SkipAll { key }
            | Arg::FailClosed { key }
            | Arg::Durable { key } => named(key),
            Arg::Member(m) => (Key::Member(m.member), m.name.span()),
            Arg::Field(f) => (Key::Name(f.name.text()), f.name.span()),
            Arg::Crate { key, .. } => (Key::Name("crate".into()), *key),
        }
    }
}

/// The arguments of one invocation.
pub(crate) struct Args {
    pub mac: Macro,
    pub args: Vec<Arg>,
}

impl Args {
    /// The action's name, when given as a string literal.
    pub(crate) fn action(&self) -> Option<&LitStr> {
        self.args.iter().find_map(|a| match a {
            Arg::Action { name, .. } => name.as_ref(),
            _ => None,
        })
    }

    /// Whether `action = …` was written at all (literal or not).
    pub(crate) fn has_action_key(&self) -> bool {
        self.args.iter().any(|a| matches!(a, Arg::Action { .. }))
    }

    pub(crate) fn members(&self) -> impl Iterator<Item = &MemberArg> {
        self.args.iter().filter_map(|a| match a {
            Arg::Member(m) => Some(m),
            _ => None,
        })
    }

    /// Free fields: `audit!`'s, or those in `#[audited]`'s `fields(…)`.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &FieldArg> {
        self.args.iter().flat_map(|a| match a {
            Arg::Field(f) => std::slice::from_ref(f),
            Arg::Fields { fields, .. } => fields.as_slice(),
            _ => &[],
        })
    }

    pub(crate) fn context(&self) -> impl Iterator<Item = &ContextName> {
        self.args.iter().flat_map(|a| match a {
            Arg::Context { names, .. } => names.as_slice(),
            _ => &[],
        })
    }

    pub(crate) fn skip(&self) -> impl Iterator<Item = &Ident> {
        self.args.iter().flat_map(|a| match a {
            Arg::Skip { names, .. } => names.as_slice(),
            _ => &[],
        })
    }

    pub(crate) fn redact(&self) -> impl Iterator<Item = &Ident> {
        self.args.iter().flat_map(|a| match a {
            Arg::Redact { names, .. } => names.as_slice(),
            _ => &[],
        })
    }

    pub(crate) fn skip_all(&self) -> bool {
        self.args.iter().any(|a| matches!(a, Arg::SkipAll { .. }))
    }

    pub(crate) fn durable(&self) -> bool {
        self.args.iter().any(|a| matches!(a, Arg::Durable { .. }))
    }

    pub(crate) fn fail_closed(&self) -> bool {
        self.args
            .iter()
            .any(|a| matches!(a, Arg::FailClosed { .. }))
    }

    /// The facade's path: `crate = path`, else `::tracing_audit`.
    pub(crate) fn krate(&self) -> TokenStream {
        self.args
            .iter()
            .find_map(|a| match a {
                Arg::Crate { path, .. } => Some(path.to_token_stream()),
                _ => None,
            })
            .unwrap_or_else(|| quote!(::tracing_audit))
    }

    /// The justification: `reason = …` given here (a span or an argument named
    /// `reason` does not count).
    pub(crate) fn has_reason(&self) -> bool {
        self.members().any(|m| m.member == Member::Reason)
    }

    /// The function's arguments that `#[audited]` records by name: those listed in
    /// `redact(…)` (as fingerprints), and those the catalog's action requires by
    /// name (`required = ["pool_id"]`), unless skipped (`skip(…)`, `skip_all`),
    /// named `_…`, or already given in `fields(…)`.
    ///
    /// Nothing else: secure by default. An argument's `Debug` text can hold
    /// anything (a password inside a request body), redaction by field name cannot
    /// see inside it, and a trail cannot be edited afterwards without breaking its
    /// verification. A caller records more by asking: `fields(pool_id, force)`.
    pub(crate) fn recorded<'f>(&self, func: &'f Signature, spec: &Action) -> Vec<Recorded<'f>> {
        let skip_all = self.skip_all();
        function_arguments(func)
            .filter_map(|ident| {
                let name = ident.unraw().to_string();
                let redact = self.redact().any(|i| i.unraw() == name);
                // A required *field* named like the argument; a required member
                // (`actor`, `resource`, `reason`, …) is given as a member, never
                // taken from an argument's text.
                let required = Member::from_name(&name).is_none() && spec.is_required(&name);
                let skip = self.skip().any(|i| i.unraw() == name);
                let in_fields = self.fields().any(|f| f.name.text() == name);
                // `_name` says "unused" by convention: not recorded unless redacted.
                let unused = name.starts_with('_') && !redact;
                ((redact || required) && !skip_all && !skip && !unused && !in_fields)
                    .then_some(Recorded { ident, redact })
            })
            .collect()
    }
}

/// A function argument `#[audited]` records.
pub(crate) struct Recorded<'f> {
    pub ident: &'f Ident,
    /// Listed in `redact(…)`.
    pub redact: bool,
}

/// The names of a function's arguments that are plain identifiers (`self` and
/// patterns such as `(a, b): (u8, u8)` are never recorded).
pub(crate) fn function_arguments(sig: &Signature) -> impl Iterator<Item = &Ident> {
    sig.inputs.iter().filter_map(|input| match input {
        syn::FnArg::Typed(pt) => match &*pt.pat {
            syn::Pat::Ident(pi) => Some(&pi.ident),
            _ => None,
        },
        syn::FnArg::Receiver(_) => None,
    })
}

/// The function under `#[audited]`, with its outer and inner attributes kept apart
/// (as tracing-attributes' `MaybeItemFn`): the inner ones (`#![allow(…)]`) stay
/// inside the body.
pub(crate) struct Function {
    pub outer_attrs: Vec<Attribute>,
    pub inner_attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The body's statements, in the user's braces.
    pub block: syn::Block,
}

/// What `#[audited]` was put on.
pub(crate) enum Item {
    /// A function whose body parses.
    Function(Function),
    /// A function whose body (or signature: `sig` is then `None`) does not parse:
    /// it is emitted unchanged, so that the compiler reports the real error at its
    /// place.
    Unparsed {
        sig: Option<Signature>,
        error: syn::Error,
    },
    /// Not a function with a body: the parse error says where.
    NotAFunction(syn::Error),
}
