//! The `audit!` and `#[audited]` macros of audit-trail. Use them through the
//! `audit-trail` crate, which re-exports them and provides what they expand to.
//!
//! Both check their arguments against the action catalog (see `docs/CATALOG.md`) at
//! compile time: an unknown action (with "did you mean" for a close name), a
//! required field missing, a justification missing, an unknown or duplicated
//! argument are errors on the offending token, all reported at once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tracing_audit_catalog::{Action, Catalog, Source};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

/// How a value is recorded: as itself, with `Display` (`%`), or with `Debug` (`?`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sigil {
    None,
    Display,
    Debug,
}

impl Sigil {
    fn parse(input: ParseStream<'_>) -> syn::Result<Sigil> {
        if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            Ok(Sigil::Display)
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            Ok(Sigil::Debug)
        } else {
            Ok(Sigil::None)
        }
    }
}

/// A dotted field name: `resource`, `actor.ip`, `http.status`.
#[derive(Clone)]
struct Name {
    parts: Vec<Ident>,
}

impl Name {
    fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| p.unraw().to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    fn span(&self) -> Span {
        let first = self.parts[0].span();
        self.parts
            .last()
            .and_then(|l| first.join(l.span()))
            .unwrap_or(first)
    }
}

impl ToTokens for Name {
    fn to_tokens(&self, tokens: &mut TokenStream2) {
        let parts = &self.parts;
        tokens.extend(quote!(#(#parts).*));
    }
}

/// One macro argument.
enum Arg {
    /// `name = value`, `name = %value`, `name = ?value`.
    Value {
        name: Name,
        sigil: Sigil,
        value: Expr,
    },
    /// `%name`, `?name`, `name`: a field named after a variable, or a flag.
    Short { name: Ident, sigil: Sigil },
    /// `name(arg, …)`: `fields(…)`, `skip(…)`, `redact(…)`, `context(…)`.
    List {
        name: Ident,
        items: Punctuated<Arg, Token![,]>,
    },
}

impl Arg {
    fn span(&self) -> Span {
        match self {
            Arg::Value { name, .. } => name.span(),
            Arg::Short { name, .. } | Arg::List { name, .. } => name.span(),
        }
    }

    fn name_text(&self) -> String {
        match self {
            Arg::Value { name, .. } => name.text(),
            Arg::Short { name, .. } | Arg::List { name, .. } => name.unraw().to_string(),
        }
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Arg> {
        let sigil = Sigil::parse(input)?;
        if sigil != Sigil::None {
            let name = input.call(Ident::parse_any)?;
            return Ok(Arg::Short { name, sigil });
        }
        let first = input.call(Ident::parse_any)?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let items = content.parse_terminated(Arg::parse, Token![,])?;
            return Ok(Arg::List { name: first, items });
        }
        let mut parts = vec![first];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            parts.push(input.call(Ident::parse_any)?);
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let sigil = Sigil::parse(input)?;
            let value: Expr = input.parse()?;
            return Ok(Arg::Value {
                name: Name { parts },
                sigil,
                value,
            });
        }
        if parts.len() > 1 {
            return Err(syn::Error::new(
                Name { parts }.span(),
                "expected `= value` after a dotted field name",
            ));
        }
        Ok(Arg::Short {
            name: parts.remove(0),
            sigil: Sigil::None,
        })
    }
}

struct Args(Punctuated<Arg, Token![,]>);

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        Ok(Args(input.parse_terminated(Arg::parse, Token![,])?))
    }
}

/// Record members an argument may set, besides `action`.
const MEMBERS: &[&str] = &[
    "outcome",
    "actor",
    "actor.id",
    "actor.ip",
    "actor.auth",
    "actor.session",
    "resource",
    "reason",
    "request_id",
    "trace_id",
    "org_id",
    "project_id",
    "legal_hold_id",
];

/// The catalog for the crate being compiled, and the tokens that make the crate
/// rebuild when it (or `AUDIT_CATALOG`) changes.
struct Loaded {
    catalog: Catalog,
    file: Option<PathBuf>,
}

impl Loaded {
    fn load() -> Result<Loaded, String> {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        let env = std::env::var(tracing_audit_catalog::ENV_VAR).ok();
        match Catalog::locate(manifest.as_ref(), env.as_deref()).map_err(|e| e.to_string())? {
            Source::File(path) => Ok(Loaded {
                catalog: Catalog::load(&path).map_err(|e| e.to_string())?,
                file: Some(path),
            }),
            Source::Default => Ok(Loaded {
                catalog: Catalog::default_catalog(),
                file: None,
            }),
        }
    }

    /// `include_bytes!` of the catalog file and `option_env!("AUDIT_CATALOG")`: rustc
    /// records both as dependencies, so cargo rebuilds the crate when they change.
    fn tracking(&self) -> TokenStream2 {
        let file = self.file.as_ref().map(|p| {
            let p = p.display().to_string();
            quote!(
                const _: &[u8] = ::core::include_bytes!(#p);
            )
        });
        quote! {
            #file
            const _: ::core::option::Option<&str> = ::core::option_env!("AUDIT_CATALOG");
        }
    }
}

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Looks the action up and checks what the invocation provides against it.
fn check_action<'c>(
    loaded: &'c Loaded,
    action: &LitStr,
    provided: &BTreeSet<String>,
    has_reason: bool,
    errors: &mut Errors,
) -> Option<&'c Action> {
    let name = action.value();
    let catalog = &loaded.catalog;
    let Some(a) = catalog.get(&name) else {
        let hint = match catalog.suggest(&name) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "add it to the catalog; `audit catalog list {}` lists the known actions",
                if loaded.file.is_some() {
                    catalog.origin.as_str()
                } else {
                    "-"
                }
            ),
        };
        errors.push(
            action.span(),
            format!(
                "unknown action `{name}`: it is not in the catalog {}; {hint}",
                catalog.origin
            ),
        );
        return None;
    };
    for field in &a.required {
        if !provided.contains(field) {
            errors.push(
                action.span(),
                format!(
                    "action `{name}` requires `{field}` ({}:{}): add `{field} = …`, or `context({field})` if an enclosing span provides it",
                    catalog.origin, a.line
                ),
            );
        }
    }
    if a.requires_justification && !has_reason {
        errors.push(
            action.span(),
            format!(
                "action `{name}` requires a justification ({}:{}): add `reason = \"…\"`",
                catalog.origin, a.line
            ),
        );
    }
    Some(a)
}

/// The name a provided field counts as for `required`: `actor.ip` provides `actor`.
fn provided_name(name: &str) -> String {
    match name.split_once('.') {
        Some(("actor", _)) => "actor".into(),
        _ => name.to_owned(),
    }
}

/// The `tracing` field name for an argument: members become `audit.<member>`.
fn field_tokens(name: &Name) -> TokenStream2 {
    let text = name.text();
    if MEMBERS.contains(&text.as_str()) {
        let audit = Ident::new("audit", name.parts[0].span());
        quote!(#audit.#name)
    } else {
        name.to_token_stream()
    }
}

fn lit_action(arg: &Arg, errors: &mut Errors) -> Option<LitStr> {
    if let Arg::Value {
        sigil: Sigil::None,
        value: Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }),
        ..
    } = arg
    {
        return Some(s.clone());
    }
    errors.push(
        arg.span(),
        "expected `action = \"name\"`: the action must be a string literal, so the catalog can be checked",
    );
    None
}

/// `audit!(action = "pool.deleted", resource = %pool, actor = user, size = 3, ?details)`:
/// emits one audit event (a `tracing` event on the audit target), checked against
/// the action catalog at compile time.
///
/// Arguments: `action` (a string literal, required); the record members `outcome`,
/// `actor` (or `actor.id`, `actor.ip`, `actor.auth`, `actor.session`), `resource`,
/// `reason`, `request_id`, `trace_id`, `org_id`, `project_id`, `legal_hold_id`; any
/// other `name = value` (with `%` for `Display`, `?` for `Debug`, as in `tracing`),
/// or `%var` / `?var` / `var`; and `context(member, …)` to declare required members
/// that an enclosing span provides. Fields the catalog marks sensitive are redacted
/// before the event exists.
#[proc_macro]
pub fn audit(input: TokenStream) -> TokenStream {
    let args = match syn::parse::<Args>(input) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    match expand_audit(args) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_audit(args: Args) -> syn::Result<TokenStream2> {
    let mut errors = Errors::default();
    let mut action = None;
    let mut seen = BTreeSet::new();
    let mut provided = BTreeSet::new();
    let mut fields = Vec::new();
    for arg in &args.0 {
        let name = arg.name_text();
        if let Arg::List { name: list, items } = arg {
            if list == "context" {
                for item in items {
                    match item {
                        Arg::Short {
                            name,
                            sigil: Sigil::None,
                        } => {
                            provided.insert(name.unraw().to_string());
                        }
                        other => errors.push(
                            other.span(),
                            "expected a member name in `context(…)`, like `context(actor, request_id)`",
                        ),
                    }
                }
            } else {
                errors.push(
                    list.span(),
                    format!(
                        "unknown argument `{name}(…)` for `audit!`; expected `context(…)`, or `name = value` fields"
                    ),
                );
            }
            continue;
        }
        if !seen.insert(name.clone()) {
            errors.push(arg.span(), format!("`{name}` is given twice"));
            continue;
        }
        if name == "action" {
            action = lit_action(arg, &mut errors);
            continue;
        }
        if name == "category" {
            errors.push(
                arg.span(),
                "`category` comes from the catalog; remove it here",
            );
            continue;
        }
        if name.starts_with("audit.") {
            errors.push(
                arg.span(),
                format!("field names starting with `audit.` are reserved; found `{name}`"),
            );
            continue;
        }
        provided.insert(provided_name(&name));
        fields.push(arg);
    }
    let loaded = Loaded::load().map_err(|e| syn::Error::new(Span::call_site(), e))?;
    let Some(action) = action else {
        if !seen.contains("action") {
            errors.push(
                Span::call_site(),
                "missing `action = \"…\"`: every audit event names its catalog action",
            );
        }
        return Err(errors
            .into_result()
            .err()
            .unwrap_or_else(|| syn::Error::new(Span::call_site(), "missing `action = \"…\"`")));
    };
    // A justification must be given here, not assumed from a span.
    let spec = check_action(
        &loaded,
        &action,
        &provided,
        seen.contains("reason"),
        &mut errors,
    );
    errors.into_result()?;
    let spec = spec.ok_or_else(|| syn::Error::new(action.span(), "unknown action"))?;

    let category = &spec.category;
    let p = quote!(::tracing_audit::__private);
    let mut out = Vec::new();
    for arg in fields {
        let sensitive = spec.sensitive.contains(&arg.name_text());
        let (name_tokens, sigil, value) = match arg {
            Arg::Value { name, sigil, value } => {
                (field_tokens(name), *sigil, value.to_token_stream())
            }
            Arg::Short { name, sigil } => {
                let n = Name {
                    parts: vec![name.clone()],
                };
                (field_tokens(&n), *sigil, name.to_token_stream())
            }
            Arg::List { .. } => continue,
        };
        let value = if sensitive {
            match sigil {
                Sigil::Debug => quote!(#p::redacted(#p::DebugText(&(#value)))),
                _ => quote!(#p::redacted(&(#value))),
            }
        } else {
            match sigil {
                Sigil::None => value,
                Sigil::Display => quote!(%#value),
                Sigil::Debug => quote!(?#value),
            }
        };
        out.push(quote!(#name_tokens = #value));
    }
    let tracking = loaded.tracking();
    Ok(quote_spanned! {Span::call_site()=>
        {
            #tracking
            #p::tracing::event!(
                target: "@audit",
                #p::tracing::Level::INFO,
                audit.action = #action,
                audit.category = #category,
                #(#out),*
            )
        }
    })
}

/// Records one audit event after each call of the function: its outcome (`Ok` →
/// success; `Err` → failure, with the error's text, redacted and cut to 1 KiB; any
/// other return → success; a panic → `panic`, and the panic goes on; an `async fn`
/// whose future is dropped before it completes → `unknown`, with the error
/// "canceled: …"), its duration
/// (`duration_us`), and the chosen fields.
///
/// Arguments: `action = "…"` (required, checked against the catalog); `resource =
/// expr`, `actor = expr` (or `actor.id`, `actor.ip`, …), `reason = expr`;
/// `fields(name = expr, …)`; the function's arguments are recorded by name unless
/// listed in `skip(…)` (or `skip_all`) or named `_…`, and `redact(…)` records them
/// redacted (each recorded argument must be `Display` or `Debug`);
/// `context(member, …)` declares required members an enclosing span provides;
/// `fail_closed` returns `Err(AuditUnavailable.into())` without running the body
/// while the trail cannot record.
///
/// Works on free functions, methods, `async fn`, generic functions and functions
/// returning `impl Trait`. Field values are captured before the body runs.
#[proc_macro_attribute]
pub fn audited(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item2: TokenStream2 = item.clone().into();
    let result = syn::parse::<Args>(attr).and_then(|args| {
        let func = syn::parse::<syn::ItemFn>(item).map_err(|e| {
            syn::Error::new(
                e.span(),
                "#[audited] goes on a function with a body (a free function, a method, or an `async fn`)",
            )
        })?;
        expand_audited(args, func)
    });
    match result {
        Ok(t) => t.into(),
        // On error the item is emitted unchanged, so the only errors shown are ours.
        Err(e) => {
            let e = e.to_compile_error();
            quote!(#e #item2).into()
        }
    }
}

const AUDITED_ARGS: &str = "action, resource, actor, reason, fields(…), skip(…), skip_all, redact(…), context(…), fail_closed";

#[allow(clippy::too_many_lines)]
fn expand_audited(args: Args, func: syn::ItemFn) -> syn::Result<TokenStream2> {
    let mut errors = Errors::default();
    let mut seen = BTreeSet::new();
    let mut action = None;
    let mut members: Vec<(&Name, Sigil, &Expr)> = Vec::new();
    let mut extra: Vec<(Name, Sigil, TokenStream2)> = Vec::new();
    let mut skip = BTreeSet::new();
    let mut redact = BTreeSet::new();
    let mut provided = BTreeSet::new();
    let mut skip_all = false;
    let mut fail_closed = false;

    let idents = |items: &Punctuated<Arg, Token![,]>, what: &str, errors: &mut Errors| {
        let mut out = Vec::new();
        for item in items {
            match item {
                Arg::Short {
                    name,
                    sigil: Sigil::None,
                } => out.push(name.clone()),
                other => errors.push(
                    other.span(),
                    format!("expected names in `{what}(…)`, like `{what}(a, b)`"),
                ),
            }
        }
        out
    };

    for arg in &args.0 {
        let name = arg.name_text();
        if !seen.insert(name.clone()) {
            errors.push(arg.span(), format!("`{name}` is given twice"));
            continue;
        }
        match (name.as_str(), arg) {
            ("action", _) => action = lit_action(arg, &mut errors),
            (
                "skip_all",
                Arg::Short {
                    sigil: Sigil::None, ..
                },
            ) => skip_all = true,
            (
                "fail_closed",
                Arg::Short {
                    sigil: Sigil::None, ..
                },
            ) => fail_closed = true,
            ("skip", Arg::List { items, .. }) => {
                skip.extend(
                    idents(items, "skip", &mut errors)
                        .iter()
                        .map(|i| i.to_string()),
                );
            }
            ("redact", Arg::List { items, .. }) => {
                redact.extend(
                    idents(items, "redact", &mut errors)
                        .iter()
                        .map(|i| i.to_string()),
                );
            }
            ("context", Arg::List { items, .. }) => {
                provided.extend(
                    idents(items, "context", &mut errors)
                        .iter()
                        .map(|i| i.to_string()),
                );
            }
            ("fields", Arg::List { items, .. }) => {
                for item in items {
                    let n = item.name_text();
                    if MEMBERS.contains(&n.as_str()) || n == "action" || n.starts_with("audit.") {
                        errors.push(
                            item.span(),
                            format!("`{n}` is not a free field; give it as `{n} = …` outside `fields(…)`"),
                        );
                        continue;
                    }
                    match item {
                        Arg::Value { name, sigil, value } => {
                            extra.push((name.clone(), *sigil, value.to_token_stream()));
                        }
                        Arg::Short { name, sigil } => extra.push((
                            Name {
                                parts: vec![name.clone()],
                            },
                            *sigil,
                            name.to_token_stream(),
                        )),
                        Arg::List { name, .. } => {
                            errors.push(name.span(), "expected `name = value` in `fields(…)`");
                            continue;
                        }
                    }
                    provided.insert(n);
                }
            }
            (
                "resource" | "actor" | "actor.id" | "actor.ip" | "actor.auth" | "actor.session"
                | "reason" | "request_id" | "trace_id" | "org_id" | "project_id" | "legal_hold_id",
                Arg::Value {
                    name: n,
                    sigil,
                    value,
                },
            ) => {
                provided.insert(provided_name(&name));
                members.push((n, *sigil, value));
            }
            _ => errors.push(
                arg.span(),
                format!("unknown argument `{name}` for #[audited]; expected one of {AUDITED_ARGS}"),
            ),
        }
    }

    // The function's arguments, recorded by name unless skipped.
    let mut recorded: Vec<(Ident, bool)> = Vec::new();
    let mut arg_names = BTreeSet::new();
    for input in &func.sig.inputs {
        if let syn::FnArg::Typed(pt) = input
            && let syn::Pat::Ident(pi) = &*pt.pat
        {
            let n = pi.ident.unraw().to_string();
            arg_names.insert(n.clone());
            // `_name` says "unused" by convention: not recorded unless redacted.
            let unused = n.starts_with('_') && !redact.contains(&n);
            if !skip_all && !skip.contains(&n) && !unused {
                recorded.push((pi.ident.clone(), redact.contains(&n)));
                provided.insert(n);
            }
        }
    }
    for (list, names) in [("skip", &skip), ("redact", &redact)] {
        // `self` is never recorded; `skip(self)` is accepted for `#[instrument]` habits.
        for n in names
            .iter()
            .filter(|n| !(arg_names.contains(*n) || (list == "skip" && *n == "self")))
        {
            let span = args
                .0
                .iter()
                .find(|a| a.name_text() == list)
                .map_or(Span::call_site(), Arg::span);
            errors.push(
                span,
                format!("`{list}({n})`: the function has no argument `{n}`"),
            );
        }
    }

    let loaded = match Loaded::load() {
        Ok(l) => l,
        Err(e) => {
            errors.push(Span::call_site(), e);
            return Err(errors.into_result().err().unwrap_or_else(|| {
                syn::Error::new(Span::call_site(), "the catalog cannot be loaded")
            }));
        }
    };
    let spec = match &action {
        Some(a) => {
            // A justification is the record's `reason`, given here.
            let has_reason = members.iter().any(|(n, ..)| n.text() == "reason");
            check_action(&loaded, a, &provided, has_reason, &mut errors)
        }
        None => {
            if !seen.contains("action") {
                errors.push(
                    Span::call_site(),
                    "missing `action = \"…\"` in #[audited(…)]: every audit record names its catalog action",
                );
            }
            None
        }
    };
    if fail_closed && matches!(func.sig.output, syn::ReturnType::Default) {
        errors.push(
            func.sig.ident.span(),
            "`fail_closed` needs a function returning `Result<_, E>` with `E: From<AuditUnavailable>`",
        );
    }
    errors.into_result()?;
    let (Some(action), Some(spec)) = (action, spec) else {
        return Err(syn::Error::new(Span::call_site(), "no action"));
    };

    let p = quote!(::tracing_audit::__private);
    let capture = |value: TokenStream2, sigil: Sigil, sensitive: bool| -> TokenStream2 {
        if sensitive {
            return match sigil {
                Sigil::Debug => quote!(#p::redacted_text(#p::DebugText(&(#value)))),
                _ => quote!(#p::redacted_text(&(#value))),
            };
        }
        match sigil {
            Sigil::Display => quote!(::std::string::ToString::to_string(&(#value))),
            Sigil::Debug => quote!(::std::format!("{:?}", &(#value))),
            Sigil::None => quote!({
                #[allow(unused_imports)]
                use #p::{CaptureCopy as _, CaptureDebug as _, CaptureDisplay as _};
                (&&#p::Capture(&(#value))).audit_capture()
            }),
        }
    };
    // Everything recorded is captured into one tuple before the body runs (which
    // may move or change it), and only when audit events are being recorded.
    let mut captures = Vec::new();
    let mut event_fields = Vec::new();
    let mut slot = |v: TokenStream2| {
        captures.push(v);
        syn::Index::from(captures.len())
    };
    for (name, sigil, value) in &members {
        let i = slot(capture(value.to_token_stream(), *sigil, false));
        let f = field_tokens(name);
        event_fields.push(quote!(#f = &__audit_state.#i));
    }
    for (name, sigil, value) in &extra {
        let i = slot(capture(
            value.clone(),
            *sigil,
            spec.sensitive.contains(&name.text()),
        ));
        event_fields.push(quote!(#name = &__audit_state.#i));
    }
    for (ident, redacted) in &recorded {
        let sensitive = *redacted || spec.sensitive.contains(&ident.unraw().to_string());
        let i = slot(capture(ident.to_token_stream(), Sigil::None, sensitive));
        event_fields.push(quote!(#ident = &__audit_state.#i));
    }

    let category = &spec.category;
    let tracking = loaded.tracking();
    let block = &func.block;
    let ret_ty = match &func.sig.output {
        syn::ReturnType::Type(_, ty) if !contains_impl_trait(ty) => Some(ty.clone()),
        _ => None,
    };
    // The body, defined once; run directly when nothing is recorded.
    let (define, call) = if func.sig.asyncness.is_some() {
        (
            quote!(let __audit_body = async move #block;),
            quote!(__audit_body.await),
        )
    } else {
        let arrow = ret_ty.as_ref().map(|t| quote!(-> #t));
        (
            quote!(#[allow(unused_mut)] let mut __audit_body = move || #arrow #block;),
            quote!(__audit_body()),
        )
    };
    let annotate = ret_ty.as_ref().map(|t| quote!(: #t));
    let gate = fail_closed.then(|| {
        quote! {
            if let ::core::result::Result::Err(e) = #p::availability() {
                return ::core::result::Result::Err(::core::convert::From::from(e));
            }
        }
    });
    let body = quote_spanned! {Span::call_site()=>
        {
            #tracking
            #gate
            let __audit_state = if #p::tracing::enabled!(target: "@audit", #p::tracing::Level::INFO) {
                ::core::option::Option::Some((::std::time::Instant::now(), #(#captures,)*))
            } else {
                ::core::option::Option::None
            };
            #define
            // Without a subscriber that records audit events the function costs what
            // it costs without the attribute, give or take a branch.
            let ::core::option::Option::Some(__audit_state) = __audit_state else {
                return #call;
            };
            let __audit_emit = |__audit_outcome: &'static str, __audit_error: ::core::option::Option<&str>| {
                #p::tracing::event!(
                    target: "@audit",
                    #p::tracing::Level::INFO,
                    audit.action = #action,
                    audit.category = #category,
                    audit.outcome = __audit_outcome,
                    error = __audit_error,
                    duration_us = #p::elapsed_micros(__audit_state.0),
                    #(#event_fields),*
                );
            };
            let mut __audit_guard = #p::PanicGuard::new(|__audit_o, __audit_e| __audit_emit(__audit_o, __audit_e));
            let __audit_ret #annotate = #call;
            __audit_guard.disarm();
            let (__audit_outcome, __audit_error) = {
                #[allow(unused_imports)]
                use #p::{OutcomeOfAny as _, OutcomeOfDebugErr as _, OutcomeOfDisplayErr as _};
                (&&#p::Probe(&__audit_ret)).audit_outcome()
            };
            __audit_emit(__audit_outcome, __audit_error.as_deref());
            __audit_ret
        }
    };
    let syn::ItemFn {
        attrs, vis, sig, ..
    } = func;
    Ok(quote! {
        #(#attrs)*
        #vis #sig #body
    })
}

fn contains_impl_trait(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::visit_type(&mut f, ty);
    f.0
}
