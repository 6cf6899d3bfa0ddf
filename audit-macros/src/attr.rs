//! Parsing: the macro arguments into the typed [`Args`], the item under
//! `#[audited]` into an [`Item`]. A syntax error stops parsing; an argument that
//! parses but is not one the macro takes is reported to the [`Ctxt`] and parsing
//! goes on, so that every such error is reported at once.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, LitStr, Signature, Token, Visibility};
use tracing_audit_schema::{FIELD_PREFIX, Member};

use crate::ast::{
    Arg, Args, ContextName, FieldArg, Function, Item, Macro, MemberArg, Name, Sigil, Value,
};
use crate::ctxt::Ctxt;

/// One argument as written, before it is given a meaning.
enum Raw {
    /// `name = value`, `name = %value`, `name = ?value` (`name` may be dotted).
    Value {
        name: Name,
        sigil: Sigil,
        value: Expr,
    },
    /// `%name`, `?name`, `name`: a field named after a variable, or a flag.
    Short { name: Ident, sigil: Sigil },
    /// `name(arg, …)`.
    List {
        name: Ident,
        items: Punctuated<Raw, Token![,]>,
    },
    /// `crate = path`.
    Crate { key: Span, path: syn::Path },
}

impl Raw {
    fn span(&self) -> Span {
        match self {
            Raw::Value { name, .. } => name.span(),
            Raw::Short { name, .. } | Raw::List { name, .. } => name.span(),
            Raw::Crate { key, .. } => *key,
        }
    }

    fn name_text(&self) -> String {
        match self {
            Raw::Value { name, .. } => name.text(),
            Raw::Short { name, .. } | Raw::List { name, .. } => name.unraw().to_string(),
            Raw::Crate { .. } => "crate".into(),
        }
    }
}

fn parse_sigil(input: ParseStream<'_>) -> syn::Result<Sigil> {
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

impl Parse for Raw {
    fn parse(input: ParseStream<'_>) -> syn::Result<Raw> {
        if input.peek(Token![crate]) && input.peek2(Token![=]) {
            let key = input.parse::<Token![crate]>()?.span;
            input.parse::<Token![=]>()?;
            let path = input.call(syn::Path::parse_mod_style)?;
            return Ok(Raw::Crate { key, path });
        }
        let sigil = parse_sigil(input)?;
        if sigil != Sigil::None {
            let name = input.call(Ident::parse_any)?;
            return Ok(Raw::Short { name, sigil });
        }
        let first = input.call(Ident::parse_any)?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let items = content.parse_terminated(Raw::parse, Token![,])?;
            return Ok(Raw::List { name: first, items });
        }
        let mut parts = vec![first];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            parts.push(input.call(Ident::parse_any)?);
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let sigil = parse_sigil(input)?;
            let value: Expr = input.parse()?;
            return Ok(Raw::Value {
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
        Ok(Raw::Short {
            name: parts.remove(0),
            sigil: Sigil::None,
        })
    }
}

/// Parses the arguments of `mac`.
///
/// # Errors
/// A syntax error (the only error then). Arguments the macro does not take are
/// reported to `cx` instead.
pub(crate) fn args(cx: &Ctxt, mac: Macro, tokens: TokenStream) -> syn::Result<Args> {
    let raw = Punctuated::<Raw, Token![,]>::parse_terminated.parse2(tokens)?;
    let args = raw
        .into_iter()
        .filter_map(|r| match mac {
            Macro::Audit => audit_arg(cx, r),
            Macro::Audited => audited_arg(cx, r),
        })
        .collect();
    Ok(Args { mac, args })
}

/// `action = "name"`: the action must be a literal, so the catalog can be checked.
fn action(cx: &Ctxt, raw: Raw) -> Arg {
    let key = match &raw {
        Raw::Value { name, .. } => name.parts[0].clone(),
        Raw::Short { name, .. } | Raw::List { name, .. } => name.clone(),
        Raw::Crate { key, .. } => Ident::new("action", *key),
    };
    let name = match raw {
        Raw::Value {
            sigil: Sigil::None,
            value:
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }),
            ..
        } => Some(s),
        other => {
            cx.error(
                other.span(),
                "expected `action = \"name\"`: the action must be a string literal, so the catalog can be checked",
            );
            None::<LitStr>
        }
    };
    Arg::Action { key, name }
}

/// Checks a free field's name: not a reserved one.
fn reserved_field(cx: &Ctxt, name: &Name) -> bool {
    let text = name.text();
    if text.starts_with(FIELD_PREFIX) {
        cx.error(
            name.span(),
            format!("field names starting with `{FIELD_PREFIX}` are reserved; found `{text}`"),
        );
        return true;
    }
    if let Some(close) = near_member(&text) {
        cx.error(
            name.span(),
            format!(
                "`{text}` is not a member: did you mean `{close}`? (a field named this close to a member is refused, so that a typo cannot turn a member into an extra field; if it is a field, give it a more distinct name)"
            ),
        );
        return true;
    }
    false
}

/// The member (or `action`, `outcome`) whose name `text` is a likely typo of:
/// within one edit (two for names of seven letters or more), not equal.
pub(crate) fn near_member(text: &str) -> Option<&'static str> {
    if Member::from_name(text).is_some() {
        return None;
    }
    let limit = if text.chars().count() >= 7 { 2 } else { 1 };
    let actor = Member::ActorId.name().split('.').next();
    actor
        .into_iter()
        .chain(Member::ALL.iter().map(|m| m.name()))
        .chain(["action", "outcome"])
        .filter(|m| *m != text)
        .map(|m| (strsim::damerau_levenshtein(text, m), m))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, m)| m)
}

fn audit_arg(cx: &Ctxt, raw: Raw) -> Option<Arg> {
    let text = raw.name_text();
    match raw {
        Raw::Crate { key, path } => Some(Arg::Crate { key, path }),
        Raw::List { name, items } if name == "context" => Some(Arg::Context {
            names: context_names(cx, "context", items),
            key: name,
        }),
        Raw::List { name, .. } => {
            cx.error(
                name.span(),
                format!(
                    "unknown argument `{text}(…)` for `audit!`; expected `context(…)`, or `name = value` fields"
                ),
            );
            None
        }
        raw if text == "action" => Some(action(cx, raw)),
        raw if text == "category" => {
            cx.error(
                raw.span(),
                "`category` comes from the catalog; remove it here",
            );
            None
        }
        Raw::Value { name, sigil, value } if text == "outcome" => Some(Arg::Outcome {
            key: name.parts[0].clone(),
            sigil,
            value: Value::Expr(value),
        }),
        Raw::Short { name, sigil } if text == "outcome" => Some(Arg::Outcome {
            key: name.clone(),
            sigil,
            value: Value::Variable(name),
        }),
        raw => {
            let (name, sigil, value) = match raw {
                Raw::Value { name, sigil, value } => (name, sigil, Value::Expr(value)),
                Raw::Short { name, sigil } => (
                    Name {
                        parts: vec![name.clone()],
                    },
                    sigil,
                    Value::Variable(name),
                ),
                Raw::List { .. } | Raw::Crate { .. } => return None,
            };
            if reserved_field(cx, &name) {
                return None;
            }
            Some(match Member::from_name(&text) {
                Some(member) => Arg::Member(MemberArg {
                    member,
                    name,
                    sigil,
                    value,
                }),
                None => Arg::Field(FieldArg { name, sigil, value }),
            })
        }
    }
}

/// The arguments `#[audited]` takes, for the "unknown argument" message.
fn audited_expected() -> String {
    // `actor`, the short name of `actor.id`, first.
    let actor = Member::ActorId.name().split('.').next();
    let members: Vec<&str> = actor
        .into_iter()
        .chain(Member::ALL.iter().map(|m| m.name()))
        .collect();
    format!(
        "action, the members ({}), fields(…), skip(…), skip_all, redact(…), context(…), fail_closed, durable, crate",
        members.join(", ")
    )
}

fn audited_arg(cx: &Ctxt, raw: Raw) -> Option<Arg> {
    let text = raw.name_text();
    match raw {
        Raw::Crate { key, path } => Some(Arg::Crate { key, path }),
        raw if text == "action" => Some(action(cx, raw)),
        Raw::Short {
            name,
            sigil: Sigil::None,
        } if text == "skip_all" => Some(Arg::SkipAll { key: name }),
        Raw::Short {
            name,
            sigil: Sigil::None,
        } if text == "fail_closed" => Some(Arg::FailClosed { key: name }),
        Raw::Short {
            name,
            sigil: Sigil::None,
        } if text == "durable" => Some(Arg::Durable { key: name }),
        Raw::List { name, items } if text == "skip" => Some(Arg::Skip {
            names: idents(cx, "skip", items),
            key: name,
        }),
        Raw::List { name, items } if text == "redact" => Some(Arg::Redact {
            names: idents(cx, "redact", items),
            key: name,
        }),
        Raw::List { name, items } if text == "context" => Some(Arg::Context {
            names: context_names(cx, "context", items),
            key: name,
        }),
        Raw::List { name, items } if text == "fields" => Some(Arg::Fields {
            fields: items
                .into_iter()
                .filter_map(|i| free_field(cx, i))
                .collect(),
            key: name,
        }),
        Raw::Value { name, sigil, value } if Member::from_name(&text).is_some() => {
            Member::from_name(&text).map(|member| {
                Arg::Member(MemberArg {
                    member,
                    name,
                    sigil,
                    value: Value::Expr(value),
                })
            })
        }
        raw => {
            cx.error(
                raw.span(),
                format!(
                    "unknown argument `{text}` for #[audited]; expected one of {}",
                    audited_expected()
                ),
            );
            None
        }
    }
}

/// An item of `#[audited]`'s `fields(…)`.
fn free_field(cx: &Ctxt, raw: Raw) -> Option<FieldArg> {
    let n = raw.name_text();
    if Member::from_name(&n).is_some() || n == "action" {
        cx.error(
            raw.span(),
            format!("`{n}` is not a free field; give it as `{n} = …` outside `fields(…)`"),
        );
        return None;
    }
    if n == "outcome" || n == "category" {
        cx.error(
            raw.span(),
            format!(
                "`{n}` is not a free field: #[audited] records it (the outcome from the function's result, the category from the catalog)"
            ),
        );
        return None;
    }
    let field = match raw {
        Raw::Value { name, sigil, value } => FieldArg {
            name,
            sigil,
            value: Value::Expr(value),
        },
        Raw::Short { name, sigil } => FieldArg {
            name: Name {
                parts: vec![name.clone()],
            },
            sigil,
            value: Value::Variable(name),
        },
        Raw::List { .. } | Raw::Crate { .. } => {
            cx.error(raw.span(), "expected `name = value` in `fields(…)`");
            return None;
        }
    };
    (!reserved_field(cx, &field.name)).then_some(field)
}

/// `skip(a, b)`, `redact(a, b)`: plain names.
fn idents(cx: &Ctxt, what: &str, items: Punctuated<Raw, Token![,]>) -> Vec<Ident> {
    plain_names(cx, items, || {
        format!("expected names in `{what}(…)`, like `{what}(a, b)`")
    })
}

/// `context(actor, request_id)`: member names.
fn context_names(cx: &Ctxt, what: &str, items: Punctuated<Raw, Token![,]>) -> Vec<ContextName> {
    plain_names(cx, items, || {
        format!("expected a member name in `{what}(…)`, like `{what}(actor, request_id)`")
    })
    .into_iter()
    .map(|ident| ContextName { ident })
    .collect()
}

/// The plain names of a list; anything else is an error (`expected()`) on its token.
fn plain_names(
    cx: &Ctxt,
    items: Punctuated<Raw, Token![,]>,
    expected: impl Fn() -> String,
) -> Vec<Ident> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Raw::Short {
                name,
                sigil: Sigil::None,
            } => Some(name),
            other => {
                cx.error(other.span(), expected());
                None
            }
        })
        .collect()
}

/// The head of a function: outer attributes, visibility, signature; then its body
/// as raw tokens, so that a body that does not parse is still a function.
struct Head {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: proc_macro2::Group,
}

/// A function with a signature that parses, and a body or not.
enum Parsed {
    Head(Box<Head>),
    /// No `{ … }` body (a declaration such as `fn f();`): where it should start.
    NoBody(Span),
}

fn parse_head(input: ParseStream<'_>) -> syn::Result<Parsed> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis = input.parse()?;
    let sig = input.parse()?;
    let body = match input.parse::<TokenTree>() {
        Ok(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace => g,
        Ok(other) => return Ok(Parsed::NoBody(other.span())),
        Err(e) => return Ok(Parsed::NoBody(e.span())),
    };
    if !input.is_empty() {
        return Ok(Parsed::NoBody(input.span()));
    }
    Ok(Parsed::Head(Box::new(Head {
        attrs,
        vis,
        sig,
        body,
    })))
}

/// The statements of a body, with its inner attributes apart.
struct Body {
    inner_attrs: Vec<Attribute>,
    stmts: Vec<syn::Stmt>,
}

impl Parse for Body {
    fn parse(input: ParseStream<'_>) -> syn::Result<Body> {
        Ok(Body {
            inner_attrs: input.call(Attribute::parse_inner)?,
            stmts: input.call(syn::Block::parse_within)?,
        })
    }
}

/// Parses the item under `#[audited]`.
pub(crate) fn item(tokens: TokenStream) -> Item {
    // A `fn` keyword at the top level: a function, even if its signature does not
    // parse (and then the compiler says why).
    let is_fn = tokens
        .clone()
        .into_iter()
        .any(|t| matches!(&t, TokenTree::Ident(i) if i == "fn"));
    let head = match parse_head.parse2(tokens) {
        Ok(Parsed::Head(h)) => *h,
        Ok(Parsed::NoBody(span)) => {
            return Item::NotAFunction(syn::Error::new(span, "expected a body `{ … }`"));
        }
        Err(error) if is_fn => return Item::Unparsed { sig: None, error },
        Err(e) => return Item::NotAFunction(e),
    };
    match Body::parse.parse2(head.body.stream()) {
        Ok(body) => Item::Function(Function {
            outer_attrs: head.attrs,
            inner_attrs: body.inner_attrs,
            vis: head.vis,
            sig: head.sig,
            block: syn::Block {
                brace_token: syn::token::Brace {
                    span: head.body.delim_span(),
                },
                stmts: body.stmts,
            },
        }),
        Err(error) => Item::Unparsed {
            sig: Some(head.sig),
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens as _, quote};

    fn parse(mac: Macro, tokens: TokenStream) -> (Option<Args>, Vec<String>) {
        let cx = Ctxt::new();
        let args = args(&cx, mac, tokens).ok();
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (args, errors)
    }

    #[test]
    fn members_are_typed_whatever_name_they_are_given_by() {
        let (args, errors) = parse(
            Macro::Audit,
            quote!(action = "a.b", actor = u, actor.id = v, %resource, reason = ?why, size = 3),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let args = args.expect("parses");
        let members: Vec<Member> = args.members().map(|m| m.member).collect();
        assert_eq!(
            members,
            [
                Member::ActorId,
                Member::ActorId,
                Member::Resource,
                Member::Reason
            ]
        );
        let fields: Vec<String> = args.fields().map(|f| f.name.text()).collect();
        assert_eq!(fields, ["size"]);
        assert_eq!(args.action().map(LitStr::value).as_deref(), Some("a.b"));
    }

    #[test]
    fn every_argument_error_is_reported_not_just_the_first() {
        let (_, errors) = parse(
            Macro::Audited,
            quote!(
                colour = 1,
                action = name(),
                fields(resource = 1, audit.x = 2),
                skip(a = 1)
            ),
        );
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("unknown argument `colour`"));
        assert!(errors[1].starts_with("expected `action = \"name\"`"));
        assert!(errors[2].starts_with("`resource` is not a free field"));
        assert!(errors[3].starts_with("field names starting with `audit.`"));
        assert!(errors[4].starts_with("expected names in `skip(…)`"));
    }

    #[test]
    fn crate_takes_a_path() {
        let (args, errors) = parse(
            Macro::Audited,
            quote!(crate = ::renamed::inner, action = "a.b"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let krate = args.expect("parses").krate().to_string();
        assert_eq!(krate, quote!(::renamed::inner).to_string());
        let (args, _) = parse(Macro::Audit, quote!(action = "a.b"));
        assert_eq!(
            args.expect("parses").krate().to_string(),
            quote!(::tracing_audit).to_string()
        );
    }

    #[test]
    fn inner_and_outer_attributes_are_kept_apart() {
        let Item::Function(f) = item(quote! {
            #[inline]
            pub fn f(x: u8) -> u8 {
                #![allow(unused)]
                x
            }
        }) else {
            panic!("a function");
        };
        assert_eq!(f.outer_attrs.len(), 1);
        assert_eq!(f.inner_attrs.len(), 1);
        assert!(matches!(f.inner_attrs[0].style, syn::AttrStyle::Inner(_)));
        assert_eq!(f.block.stmts.len(), 1);
        assert_eq!(f.sig.ident, "f");
        assert!(f.vis.to_token_stream().to_string().contains("pub"));
    }

    #[test]
    fn a_body_that_does_not_parse_is_still_a_function() {
        assert!(matches!(
            item(quote!(fn f() { let = ; })),
            Item::Unparsed { .. }
        ));
        assert!(matches!(
            item(quote!(fn f(x: ) -> {})),
            Item::Unparsed { sig: None, .. }
        ));
        assert!(matches!(
            item(quote!(
                struct S;
            )),
            Item::NotAFunction(_)
        ));
        assert!(matches!(
            item(quote!(
                fn f();
            )),
            Item::NotAFunction(_)
        ));
    }
}
