//! Code generation, and the pipeline of each macro: parse ([`attr`]) → validate
//! ([`valid`]) → expand. Every error of an invocation is reported at once; on error,
//! `#[audited]` emits the user's item unchanged beside the errors, so that one typo
//! does not cascade into errors at every call.
//!
//! Generated code names the facade by an absolute path (`::tracing_audit`, or the
//! `crate = path` argument) and takes every name of the record schema (target,
//! marker field, members, outcomes) from `tracing_audit_schema`.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::ext::IdentExt as _;
use tracing_audit_schema::{
    CATEGORY_FIELD, CONTEXT_FIELD, DURATION_FIELD, ERROR_FIELD, MARKER_FIELD, OUTCOME_FIELD, TARGET,
};

use crate::ast::{Arg, Args, Function, Item, Macro, Sigil};
use crate::attr;
use crate::catalog::{self, Loaded};
use crate::ctxt::Ctxt;
use crate::valid::{self, Valid};

/// `audit!(…)`.
pub(crate) fn audit(input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = attr::args(&cx, Macro::Audit, input);
    let loaded = catalog::load();
    let valid = match &args {
        Ok(args) => valid::check(&cx, args, None, &loaded),
        Err(e) => {
            cx.syn_error(e.clone());
            None
        }
    };
    match (cx.check(), valid, &args, &loaded) {
        (Ok(()), Some(v), Ok(args), Ok(loaded)) => event(args, &v, loaded),
        (Err(e), ..) => e.to_compile_error(),
        // `valid::check` reports an error whenever it returns `None`.
        _ => internal_error(),
    }
}

/// `#[audited(…)]` on `item`.
pub(crate) fn audited(attr: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = attr::args(&cx, Macro::Audited, attr);
    if let Err(e) = &args {
        cx.syn_error(e.clone());
    }
    let parsed = attr::item(item.clone());
    let sig = match &parsed {
        Item::Function(f) => Some(&f.sig),
        Item::Unparsed { sig, .. } => sig.as_ref(),
        Item::NotAFunction(e) => {
            cx.error(
                e.span(),
                "#[audited] goes on a function with a body (a free function, a method, or an `async fn`)",
            );
            None
        }
    };
    let loaded = catalog::load();
    let valid = match &args {
        Ok(args) => valid::check(&cx, args, sig, &loaded),
        Err(_) => None,
    };
    if let Item::Unparsed { error, .. } = &parsed {
        // The real error, where it is; the item is emitted unchanged below. Never
        // the item alone: should syn fail on code rustc accepts, the function would
        // compile without its audit record.
        cx.error(
            error.span(),
            format!("#[audited] cannot parse this function, so it is left as written: {error}"),
        );
    }
    match (cx.check(), valid, &args, parsed, &loaded) {
        (Ok(()), Some(v), Ok(args), Item::Function(f), Ok(loaded)) => {
            audited_fn(args, &v, f, loaded)
        }
        // On error the item is emitted unchanged, so the only errors shown are ours
        // (calls of the function still resolve).
        (Err(e), ..) => {
            let e = e.to_compile_error();
            quote!(#e #item)
        }
        _ => {
            let e = internal_error();
            quote!(#e #item)
        }
    }
}

fn internal_error() -> TokenStream {
    syn::Error::new(
        Span::call_site(),
        "tracing-audit-macros: an invocation failed a check without an error; please report it",
    )
    .to_compile_error()
}

/// The facade's run-time support: `<crate>::__private`.
fn private(args: &Args) -> TokenStream {
    let krate = args.krate();
    quote!(#krate::__private)
}

/// A `tracing` field name from the schema, as a literal where the user wrote `span`.
fn field_name(name: &str, span: Span) -> Literal {
    let mut lit = Literal::string(name);
    lit.set_span(span);
    lit
}

/// Whether a field (or an argument recorded under its name) is fingerprinted at the
/// source: the catalog marks it sensitive, or its name says it holds a secret
/// (`password`, `api_key`, `db_token`, …: `tracing_audit_schema::SECRET_FIELD_NAMES`),
/// so that no layer — not even one without the `non_audit` filter — sees it.
fn sensitive_field(spec: &tracing_audit_catalog::Action, name: &str) -> bool {
    spec.is_sensitive(name) || tracing_audit_schema::is_secret_field_name(name)
}

/// Whether a member is fingerprinted at the source: the catalog marks it
/// sensitive, or it holds a credential whatever the catalog says (the session id:
/// `tracing_audit_schema::Member::is_secret`).
fn sensitive_member(
    spec: &tracing_audit_catalog::Action,
    member: tracing_audit_schema::Member,
) -> bool {
    spec.is_sensitive(member.name()) || member.is_secret()
}

/// The names in `context(…)`, comma-separated, if any.
fn context_names(args: &Args) -> Option<String> {
    let names: Vec<String> = args.context().map(|c| c.text()).collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// The event field that tells the layer which members `context(…)` promised, so
/// that a member no span provides is counted and marked rather than left empty.
fn context_field(args: &Args) -> Option<TokenStream> {
    context_names(args).map(|names| quote!(#CONTEXT_FIELD = #names,))
}

/// `audit!`: one event on the audit target.
fn event(args: &Args, valid: &Valid<'_>, loaded: &Loaded) -> TokenStream {
    let p = private(args);
    let Valid { action, spec } = valid;
    let mut out = Vec::new();
    for arg in &args.args {
        let (key, sigil, value, sensitive) = match arg {
            Arg::Member(m) => (
                field_name(m.member.field(), m.name.span()).into_token_stream(),
                m.sigil,
                &m.value,
                sensitive_member(spec, m.member),
            ),
            Arg::Outcome { key, sigil, value } => (
                field_name(OUTCOME_FIELD, key.span()).into_token_stream(),
                *sigil,
                value,
                false,
            ),
            Arg::Field(f) => (
                f.name.to_token_stream(),
                f.sigil,
                &f.value,
                sensitive_field(spec, &f.name.text()),
            ),
            _ => continue,
        };
        let value = if sensitive {
            match sigil {
                Sigil::Debug => quote!(#p::redacted(#p::DebugText(&(#value)))),
                _ => quote!(#p::redacted(&(#value))),
            }
        } else {
            match sigil {
                Sigil::None => value.to_token_stream(),
                Sigil::Display => quote!(%#value),
                Sigil::Debug => quote!(?#value),
            }
        };
        out.push(quote!(#key = #value));
    }
    let category = &spec.category;
    let tracking = loaded.tracking();
    let context = context_field(args);
    quote_spanned! {Span::call_site()=>
        {
            #tracking
            #p::tracing::event!(
                target: #TARGET,
                #p::tracing::Level::INFO,
                #MARKER_FIELD = #action,
                #CATEGORY_FIELD = #category,
                #context
                #(#out),*
            )
        }
    }
}

/// How `#[audited]` captures a value before the body runs; `span` is where a value
/// that cannot be recorded (neither `Display` nor `Debug`) is reported.
fn capture(
    p: &TokenStream,
    value: TokenStream,
    sigil: Sigil,
    sensitive: bool,
    span: Span,
) -> TokenStream {
    let text = match sigil {
        Sigil::Display => quote!(::std::string::ToString::to_string(&(#value))),
        Sigil::Debug => quote!(::std::format!("{:?}", &(#value))),
        Sigil::None => quote_spanned!(span=> #p::recordable({
            #[allow(unused_imports)]
            use #p::{CaptureCopy as _, CaptureDebug as _, CaptureDisplay as _, CaptureNeither as _};
            (&&&#p::Capture(&(#value))).audit_capture()
        })),
    };
    if sensitive {
        quote!(#p::redacted_text(#text))
    } else {
        text
    }
}

/// `#[audited]`: the function, recording one event per call.
fn audited_fn(args: &Args, valid: &Valid<'_>, func: Function, loaded: &Loaded) -> TokenStream {
    let p = private(args);
    let Valid { action, spec } = valid;
    // Everything recorded is captured into one tuple before the body runs (which
    // may move or change it), and only when audit events are being recorded.
    let mut captures = Vec::new();
    let mut event_fields = Vec::new();
    let mut record = |key: TokenStream, v: TokenStream| {
        captures.push(v);
        let i = syn::Index::from(captures.len());
        event_fields.push(quote!(#key = &__audit_state.#i));
    };
    for m in args.members() {
        record(
            field_name(m.member.field(), m.name.span()).into_token_stream(),
            capture(
                &p,
                m.value.to_token_stream(),
                m.sigil,
                sensitive_member(spec, m.member),
                m.name.span(),
            ),
        );
    }
    for f in args.fields() {
        record(
            f.name.to_token_stream(),
            capture(
                &p,
                f.value.to_token_stream(),
                f.sigil,
                sensitive_field(spec, &f.name.text()),
                f.name.span(),
            ),
        );
    }
    for r in args.recorded(&func.sig, spec) {
        let sensitive = r.redact || sensitive_field(spec, &r.ident.unraw().to_string());
        record(
            r.ident.to_token_stream(),
            capture(
                &p,
                r.ident.to_token_stream(),
                Sigil::None,
                sensitive,
                r.ident.span(),
            ),
        );
    }

    let category = &spec.category;
    let tracking = loaded.tracking();
    let Function {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        block,
    } = func;
    let ret_ty = match &sig.output {
        syn::ReturnType::Type(_, ty) if !contains_impl_trait(ty) => Some(ty.clone()),
        _ => None,
    };
    // The body, defined once; run directly when nothing is recorded.
    let (define, call) = if sig.asyncness.is_some() {
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
    let gate = args.fail_closed().then(|| {
        // With `context(…)`, the spans must provide what it promises.
        let context = args.context().map(|c| c.text());
        // A return type that cannot carry the refusal gets one error, in words, at
        // the type (rustc then also reports the mismatch at the attribute).
        let returns = ret_ty.as_ref().map(
            |t| quote_spanned!(syn::spanned::Spanned::span(t)=> #p::fail_closed_returns::<#t>();),
        );
        quote! {
            #returns
            if let ::core::result::Result::Err(e) = #p::availability()
                .and_then(|()| #p::context_available(&[#(#context),*]))
            {
                return ::core::result::Result::Err(::core::convert::From::from(e));
            }
        }
    });
    let context = context_field(args);
    // A durable action returns once its record is on disk (group commit makes the
    // wait about one fsync, shared by every call waiting at the time).
    let durable = (args.durable() || spec.durable).then(|| {
        let flush = if sig.asyncness.is_some() {
            quote!(#p::durable_record(__audit_earlier_lost).await)
        } else {
            quote!(#p::durable_record(__audit_earlier_lost).wait())
        };
        // A failure is counted and logged by `durable`. The call's value then
        // becomes `Err(AuditUnavailable.into())` when it is a `Result` whose error
        // converts from `AuditUnavailable` (picked by autoref); any other value is
        // returned as it is.
        let settle = settle(&p);
        quote! {
            let __audit_failure = #p::durable(#action, #flush).err();
            let __audit_ret #annotate = #settle;
        }
    });
    // Nothing recorded (no subscriber wants INFO events): a durable action whose
    // audit layer is there but filtered out has no record, and says so.
    let skip = if durable.is_some() {
        let settle = settle(&p);
        quote! {
            let __audit_ret #annotate = #call;
            let __audit_failure = #p::durable_unrecorded(#action);
            return #settle;
        }
    } else {
        quote!(return #call;)
    };
    let durable_begin = durable
        .is_some()
        .then(|| quote!(let __audit_earlier_lost = #p::durable_begin();));
    // The gate reads only the global maximum level (no subscriber: off). Asking the
    // filters (`enabled!`) would leave a per-layer filter's "no" on the thread, and
    // the next event — the first line of the body — would vanish for that layer
    // (tokio-rs/tracing#2519). The event itself is filtered as usual.
    let body = quote_spanned! {Span::call_site()=>
        #tracking
        #gate
        let __audit_state = if #p::tracing::level_enabled!(#p::tracing::Level::INFO) {
            ::core::option::Option::Some((::std::time::Instant::now(), #(#captures,)*))
        } else {
            ::core::option::Option::None
        };
        #define
        // Without a subscriber that records audit events the function costs what
        // it costs without the attribute, give or take a branch.
        let ::core::option::Option::Some(__audit_state) = __audit_state else {
            #skip
        };
        let __audit_emit = |__audit_outcome: &'static str, __audit_error: ::core::option::Option<&str>| {
            #p::tracing::event!(
                target: #TARGET,
                #p::tracing::Level::INFO,
                #MARKER_FIELD = #action,
                #CATEGORY_FIELD = #category,
                #OUTCOME_FIELD = __audit_outcome,
                #ERROR_FIELD = __audit_error,
                #context
                #DURATION_FIELD = #p::elapsed_micros(__audit_state.0),
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
        #durable_begin
        __audit_emit(__audit_outcome, __audit_error.as_deref());
        #durable
        __audit_ret
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// A durable call's value given `__audit_failure`: see `DurableReturn`.
fn settle(p: &TokenStream) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use #p::{DurableAny as _, DurableErr as _};
        (&&#p::DurableReturn::new(__audit_ret)).audit_durable(__audit_failure)
    }}
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tracing_audit_catalog::Catalog;

    const CATALOG: &str = r#"version = 1
[actions."session.opened"]
category = "auth"
severity = "low"
description = "d"
sensitive = ["actor", "reason", "token", "secret", "size"]

[actions."pool.deleted"]
category = "resources"
severity = "high"
description = "d"
required = ["actor", "pool_id"]
"#;

    /// Expands `#[audited(args)] item` against `CATALOG`.
    fn audited_with(args: TokenStream, item: TokenStream) -> String {
        let loaded = Ok(Arc::new(Loaded {
            catalog: Catalog::parse(CATALOG, "test.toml").expect("valid"),
            file: None,
        }));
        let cx = Ctxt::new();
        let args = attr::args(&cx, Macro::Audited, args).expect("parses");
        let Item::Function(f) = attr::item(item) else {
            panic!("a function")
        };
        let valid = valid::check(&cx, &args, Some(&f.sig), &loaded).expect("valid");
        cx.check().expect("no errors");
        let Ok(loaded) = &loaded else { unreachable!() };
        audited_fn(&args, &valid, f, loaded).to_string()
    }

    #[test]
    fn audited_redacts_every_sensitive_member_field_and_argument() {
        let out = audited_with(
            quote!(
                action = "session.opened",
                actor.id = user,
                reason = why,
                fields(token = t, secret),
                redact(size)
            ),
            quote!(
                fn f(user: &str, why: &str, t: &str, secret: &str, size: u32, body: &str) {}
            ),
        );
        // actor.id (the catalog says `actor`), reason, the field `token`, the
        // argument `secret` given in `fields(…)` (the catalog says `secret`), the
        // argument `size` in `redact(…)`: five redacted captures.
        assert_eq!(out.matches("redacted_text").count(), 5, "{out}");
        assert!(out.contains("\"audit.actor.id\""), "{out}");
        assert!(out.contains("\"audit.reason\""), "{out}");
        // `body` is not asked for: it is not captured at all.
        assert!(!out.contains("(body)"), "{out}");
    }

    #[test]
    fn only_the_arguments_asked_for_or_required_by_the_catalog_are_recorded() {
        let out = audited_with(
            quote!(action = "pool.deleted", actor = user, fields(force)),
            quote!(
                fn f(user: &str, pool_id: &str, force: bool, password: &str, _pool: &str) {}
            ),
        );
        // `pool_id` is required by name in the catalog; `force` is asked for.
        for recorded in ["(pool_id)", "(force)"] {
            assert!(out.contains(recorded), "{recorded} recorded: {out}");
        }
        for not in ["(password)", "(_pool)", "password =", "_pool ="] {
            assert!(!out.contains(not), "{not} not recorded: {out}");
        }
    }

    /// Red-team finding: an argument named like a required member (`actor`) was
    /// recorded as a plain field with its `Debug` text (a password inside).
    #[test]
    fn an_argument_named_like_a_required_member_is_not_recorded() {
        let out = audited_with(
            quote!(action = "pool.deleted", actor = "svc", fields(pool_id = id)),
            quote!(
                fn f(actor: &Credentials, id: &str) {}
            ),
        );
        assert!(!out.contains("(actor)"), "{out}");
    }

    #[test]
    fn the_crate_path_replaces_the_facade_everywhere() {
        let out = audited_with(
            quote!(crate = ::renamed, action = "session.opened", fail_closed),
            quote!(
                fn f() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(!out.contains("tracing_audit"), "{out}");
        assert!(
            out.contains(&quote!(::renamed::__private).to_string()),
            "{out}"
        );
    }

    #[test]
    fn inner_attributes_open_the_generated_body() {
        let out = audited_with(
            quote!(action = "session.opened"),
            quote!(
                #[inline]
                fn f() {
                    #![allow(unused)]
                    let x = 1;
                }
            ),
        );
        let inner = quote!(#![allow(unused)]).to_string();
        let at = out.find(&inner).expect("kept");
        assert!(
            out[..at].trim_end().ends_with('{'),
            "first in the body: {out}"
        );
        assert!(out.starts_with(&quote!(#[inline]).to_string()), "{out}");
    }
}
