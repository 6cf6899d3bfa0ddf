//! Validation: what the arguments say against the function and the action catalog.
//! Every problem is reported to the [`Ctxt`], on the token that causes it.

use proc_macro2::Span;
use quote::ToTokens as _;
use syn::ext::IdentExt as _;
use syn::{Expr, LitStr, Signature};
use tracing_audit_catalog::Action;
use tracing_audit_schema::{Member, Outcome};

use crate::ast::{Arg, Args, Key, Macro, Sigil, Value, function_arguments};
use crate::catalog::Loaded;
use crate::ctxt::Ctxt;

/// An invocation that passed every check: its action and the catalog's entry.
pub(crate) struct Valid<'a> {
    pub action: &'a LitStr,
    pub spec: &'a Action,
}

/// Checks `args` (and, for `#[audited]`, the function's signature `sig` when it
/// parses) against `catalog`. Returns the action when every check passed; when it
/// returns `None`, it has reported at least one error.
pub(crate) fn check<'a>(
    cx: &Ctxt,
    args: &'a Args,
    sig: Option<&Signature>,
    catalog: &'a Result<std::sync::Arc<Loaded>, String>,
) -> Option<Valid<'a>> {
    duplicates(cx, args);
    context_members(cx, args);
    outcome_literals(cx, args);
    if let Some(sig) = sig {
        arguments_exist(cx, args, sig);
    }
    let loaded = match catalog {
        Ok(l) => Some(&**l),
        Err(e) => {
            cx.error(Span::call_site(), e);
            None
        }
    };
    let spec = match args.action() {
        Some(action) => loaded.and_then(|l| check_action(cx, args, sig, l, action)),
        None => {
            if !args.has_action_key() {
                cx.error(
                    Span::call_site(),
                    match args.mac {
                        Macro::Audit => {
                            "missing `action = \"…\"`: every audit event names its catalog action"
                        }
                        Macro::Audited => {
                            "missing `action = \"…\"` in #[audited(…)]: every audit record names its catalog action"
                        }
                    },
                );
            }
            None
        }
    };
    if let Some(sig) = sig
        && args.fail_closed()
        && matches!(sig.output, syn::ReturnType::Default)
    {
        cx.error(
            sig.ident.span(),
            "`fail_closed` needs a function returning `Result<_, E>` with `E: From<AuditUnavailable>`",
        );
    }
    let valid = Valid {
        action: args.action()?,
        spec: spec?,
    };
    (!cx.has_errors()).then_some(valid)
}

/// Each argument once; a member once, whichever of its names is used.
fn duplicates(cx: &Ctxt, args: &Args) {
    let mut seen: Vec<(Key, Span, String)> = Vec::new();
    for arg in &args.args {
        let (key, span) = arg.key();
        let written = written_name(arg);
        match seen.iter().find(|(k, ..)| *k == key) {
            Some((_, _, first)) if *first != written => cx.error(
                span,
                format!("`{written}` is given twice: `{first}` names the same member"),
            ),
            Some(_) => cx.error(span, format!("`{written}` is given twice")),
            None => seen.push((key, span, written)),
        }
    }
}

fn written_name(arg: &Arg) -> String {
    match arg {
        Arg::Member(m) => m.name.text(),
        Arg::Field(f) => f.name.text(),
        other => match other.key().0 {
            Key::Name(n) => n,
            Key::Member(m) => m.name().to_owned(),
        },
    }
}

/// `context(…)` names members a span provides (the layer maps span fields to
/// members only, and checks each at run time): a name that is no member would be a
/// promise nothing can keep or check, and a member also given as `member = …` is
/// a contradiction.
fn context_members(cx: &Ctxt, args: &Args) {
    for c in args.context() {
        let text = c.text();
        match Member::from_name(&text) {
            None => {
                let hint = crate::attr::near_member(&text)
                    .map(|m| format!("did you mean `{m}`? "))
                    .unwrap_or_default();
                let members: Vec<&str> = Member::ALL.iter().map(|m| m.name()).collect();
                cx.error(
                    c.ident.span(),
                    format!(
                        "`{text}` in `context(…)` is not a member a span can provide; {hint}expected one of actor, {}",
                        members.join(", ")
                    ),
                );
            }
            Some(m) if args.members().any(|given| given.member == m) => cx.error(
                c.ident.span(),
                format!("`{text}` is given here and promised by `context({text})`: keep one"),
            ),
            Some(_) => {}
        }
    }
}

/// `audit!(outcome = "…")` with a literal: one the record knows.
fn outcome_literals(cx: &Ctxt, args: &Args) {
    for arg in &args.args {
        if let Arg::Outcome {
            sigil: Sigil::None | Sigil::Display,
            value:
                Value::Expr(Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                })),
            ..
        } = arg
            && Outcome::parse(&s.value()).is_none()
        {
            let known: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
            cx.error(
                s.span(),
                format!(
                    "unknown outcome {}; expected one of {}",
                    s.to_token_stream(),
                    known.join(", ")
                ),
            );
        }
    }
}

/// `skip(…)` and `redact(…)` name arguments of the function.
fn arguments_exist(cx: &Ctxt, args: &Args, sig: &Signature) {
    for arg in &args.args {
        let (list, names, allow_self) = match arg {
            // `self` is never recorded; `skip(self)` is accepted for `#[instrument]` habits.
            Arg::Skip { names, .. } => ("skip", names, true),
            Arg::Redact { names, .. } => ("redact", names, false),
            _ => continue,
        };
        for n in names {
            let text = n.unraw().to_string();
            let exists = function_arguments(sig).any(|a| a.unraw() == text);
            let self_in_skip = allow_self && text == "self";
            if !(exists || self_in_skip) {
                cx.error(
                    n.span(),
                    format!("`{list}({text})`: the function has no argument `{text}`"),
                );
            }
        }
    }
}

/// Looks the action up and checks what the invocation provides against it.
fn check_action<'a>(
    cx: &Ctxt,
    args: &Args,
    sig: Option<&Signature>,
    loaded: &'a Loaded,
    action: &LitStr,
) -> Option<&'a Action> {
    let name = action.value();
    let catalog = &loaded.catalog;
    let Some(spec) = catalog.get(&name) else {
        let hint = match catalog.suggest(&name) {
            Some(close) => format!("did you mean `{close}`?"),
            None if loaded.file.is_some() => format!(
                "add it to the catalog; `audit catalog list {}` lists the known actions",
                loaded.list_argument()
            ),
            None => format!(
                "to define your own actions, create {} beside Cargo.toml (format: docs/CATALOG.md); `audit catalog list -` lists the default ones",
                tracing_audit_catalog::FILE_NAME
            ),
        };
        cx.error(
            action.span(),
            format!(
                "unknown action `{name}`: it is not in the catalog {}; {hint}",
                loaded.describe()
            ),
        );
        return None;
    };
    let provided = Provided::of(args, sig, spec);
    for field in &spec.required {
        if !provided.satisfies(field) {
            let how = if Member::from_name(field).is_some() {
                format!("add `{field} = …`, or `context({field})` if an enclosing span provides it")
            } else {
                format!("add `{field} = …` (or `fields({field})` for an argument of that name)")
            };
            cx.error(
                action.span(),
                format!(
                    "action `{name}` requires `{field}` ({}): {how}",
                    loaded.location(spec)
                ),
            );
        }
    }
    // A justification is the record's `reason`, given here.
    if spec.requires_justification && !args.has_reason() {
        cx.error(
            action.span(),
            format!(
                "action `{name}` requires a justification ({}): add `{} = \"…\"`",
                loaded.location(spec),
                Member::Reason.name()
            ),
        );
    }
    Some(spec)
}

/// What an invocation provides, for the catalog's `required`: its members, its
/// fields, the arguments `#[audited]` records, and the names in `context(…)`.
struct Provided {
    members: Vec<Member>,
    names: Vec<String>,
}

impl Provided {
    fn of(args: &Args, sig: Option<&Signature>, spec: &Action) -> Provided {
        let mut names: Vec<String> = args.fields().map(|f| f.name.text()).collect();
        names.extend(args.context().map(|c| c.text()));
        if let Some(sig) = sig {
            names.extend(
                args.recorded(sig, spec)
                    .iter()
                    .map(|r| r.ident.unraw().to_string()),
            );
        }
        Provided {
            members: args.members().map(|m| m.member).collect(),
            names,
        }
    }

    /// A required name is provided by a member or name it names (`actor` and
    /// `actor.id` are one); a group of members (`actor`) also by any member of the
    /// group (`actor.ip = …`).
    fn satisfies(&self, required: &str) -> bool {
        let in_group = |m: &Member| {
            m.name()
                .strip_prefix(required)
                .is_some_and(|rest| rest.starts_with('.'))
        };
        self.names.iter().any(|n| Member::same_name(n, required))
            || self
                .members
                .iter()
                .any(|m| Member::same_name(m.name(), required) || in_group(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;
    use std::sync::Arc;
    use tracing_audit_catalog::Catalog;

    const CATALOG: &str = r#"version = 1
[actions."pool.deleted"]
category = "resources"
severity = "high"
description = "d"
required = ["actor", "resource"]

[actions."session.opened"]
category = "auth"
severity = "low"
description = "d"
required = ["actor.session"]
sensitive = ["actor", "reason"]

[actions."breakglass.activated"]
category = "breakglass"
severity = "critical"
description = "d"
requires_justification = true
"#;

    fn errors(mac: Macro, args: TokenStream, sig: Option<TokenStream>) -> Vec<String> {
        let loaded = Ok(Arc::new(Loaded {
            catalog: Catalog::parse(CATALOG, "test.toml").expect("valid"),
            file: Some("test.toml".into()),
        }));
        let cx = Ctxt::new();
        let sig: Option<Signature> = sig.map(|s| syn::parse2(s).expect("a signature"));
        if let Ok(args) = crate::attr::args(&cx, mac, args) {
            check(&cx, &args, sig.as_ref(), &loaded);
        }
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn any_actor_member_provides_the_actor() {
        for given in [
            quote!(actor = a),
            quote!(actor.id = a),
            quote!(actor.ip = a),
        ] {
            let e = errors(
                Macro::Audit,
                quote!(action = "pool.deleted", resource = r, #given),
                None,
            );
            assert!(e.is_empty(), "{given}: {e:?}");
        }
        let e = errors(
            Macro::Audited,
            quote!(action = "pool.deleted", context(actor), resource = r),
            Some(quote!(fn f(r: &str))),
        );
        assert!(e.is_empty(), "a member and a context: {e:?}");
        // An argument named like a member is not that member (nor recorded).
        let e = errors(
            Macro::Audited,
            quote!(action = "pool.deleted", context(actor)),
            Some(quote!(fn f(resource: &str))),
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("requires `resource`"), "{e:?}");
        let e = errors(
            Macro::Audit,
            quote!(action = "session.opened", actor = a),
            None,
        );
        assert_eq!(e.len(), 1, "actor.session is not provided by actor: {e:?}");
    }

    #[test]
    fn context_names_members_only_and_not_one_given_too() {
        let e = errors(
            Macro::Audit,
            quote!(action = "pool.deleted", resource = r, context(actr)),
            None,
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with(
                "`actr` in `context(…)` is not a member a span can provide; did you mean `actor`?"
            ),
            "{e:?}"
        );
        let e = errors(
            Macro::Audit,
            quote!(
                action = "pool.deleted",
                resource = r,
                actor = a,
                context(actor)
            ),
            None,
        );
        assert_eq!(
            e,
            ["`actor` is given here and promised by `context(actor)`: keep one"]
        );
    }

    #[test]
    fn a_member_given_twice_under_two_names_is_reported() {
        let e = errors(
            Macro::Audit,
            quote!(
                action = "pool.deleted",
                resource = r,
                actor = a,
                actor.id = b
            ),
            None,
        );
        assert_eq!(
            e,
            ["`actor.id` is given twice: `actor` names the same member"]
        );
    }

    #[test]
    fn the_catalog_error_is_reported_with_the_others() {
        let cx = Ctxt::new();
        let args = crate::attr::args(
            &cx,
            Macro::Audit,
            quote!(action = "pool.deleted", resource = r, resource = s),
        )
        .expect("parses");
        let broken = Err("audit-catalog.toml:3: broken".to_owned());
        assert!(check(&cx, &args, None, &broken).is_none());
        let e: Vec<String> = cx
            .check()
            .expect_err("errors")
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            e,
            ["`resource` is given twice", "audit-catalog.toml:3: broken"]
        );
    }

    #[test]
    fn justification_and_unknown_outcomes() {
        let e = errors(Macro::Audit, quote!(action = "breakglass.activated"), None);
        assert_eq!(
            e,
            [
                "action `breakglass.activated` requires a justification (test.toml:15): add `reason = \"…\"`"
            ]
        );
        let e = errors(
            Macro::Audit,
            quote!(
                action = "breakglass.activated",
                reason = "r",
                outcome = "sucess"
            ),
            None,
        );
        assert_eq!(
            e,
            [
                "unknown outcome \"sucess\"; expected one of success, failure, denied, panic, unknown"
            ]
        );
    }

    #[test]
    fn skip_and_redact_name_arguments() {
        let e = errors(
            Macro::Audited,
            quote!(
                action = "breakglass.activated",
                reason = "r",
                skip(self, nope),
                redact(a, self)
            ),
            Some(quote!(fn f(&self, a: u8))),
        );
        assert_eq!(
            e,
            [
                "`skip(nope)`: the function has no argument `nope`",
                "`redact(self)`: the function has no argument `self`"
            ]
        );
    }
}
