//! Attribute macros for megaobs, re-exported as `megaobs::trace_function`,
//! `megaobs::trace_async` and `megaobs::trace_workflow_node`.
//!
//! Each wraps the function body in a span (an OpenTelemetry span through
//! `megaobs::trace`, so it costs nothing when tracing is off). A function that
//! returns `Result` marks its span failed on `Err`, with the error's `Display`
//! (the error type must implement `Display`).

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{quote, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;
use syn::{Expr, ExprLit, ItemFn, Lit, LitStr, Meta, ReturnType, Token, Type};

/// Traces a synchronous function: a span named after the function (or
/// `name = "..."`) is current while the body runs.
///
/// ```
/// #[megaobs::trace_function(name = "calculate_score")]
/// fn calculate_score(data: &[f64]) -> f64 { data.iter().sum::<f64>() / data.len() as f64 }
/// assert_eq!(calculate_score(&[1.0, 3.0]), 2.0);
/// ```
#[proc_macro_attribute]
pub fn trace_function(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Function)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Traces an `async fn`: the span stays current across every `.await` of the body.
///
/// ```
/// #[megaobs::trace_async(name = "fetch_data")]
/// async fn fetch_data(query: &str) -> Result<String, std::io::Error> {
///     Ok(query.to_uppercase())
/// }
/// ```
#[proc_macro_attribute]
pub fn trace_async(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Async)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Traces a workflow node (sync or async): span `node {name}` with attributes
/// `workflow.name` and `workflow.node`, and one `workflow_nodes_executed_total`
/// count with status `success`, or `error` on `Err` or panic. The workflow is
/// `workflow = "..."` if given, else the one of the enclosing
/// `megaobs::trace::workflow_span`, else `unknown`.
///
/// A node that is an agent step or a tool call says so with `agent` or `tool`:
/// its span is then `invoke_agent {name}` or `execute_tool {name}` with the
/// OpenTelemetry GenAI attributes (`gen_ai.operation.name`, `gen_ai.agent.name`
/// or `gen_ai.tool.name`), and `gen_ai_invoke_agent_duration_seconds` or
/// `gen_ai_execute_tool_duration_seconds` is recorded as well (`error_type`
/// `error` on `Err`, `panic`, or `cancelled` for a future dropped unfinished).
///
/// ```
/// #[megaobs::trace_workflow_node("search", tool)]
/// fn search(query: &str) -> Vec<String> {
///     vec![format!("result for {query}")]
/// }
/// assert_eq!(search("rust").len(), 1);
/// ```
///
/// ```
/// #[megaobs::trace_workflow_node("analyze_query")]
/// fn analyze_query(query: &str) -> Result<usize, std::fmt::Error> {
///     Ok(query.split_whitespace().count())
/// }
///
/// let _workflow = megaobs::trace::workflow_span("research_workflow");
/// assert_eq!(analyze_query("What is AI?"), Ok(3));
/// ```
#[proc_macro_attribute]
pub fn trace_workflow_node(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Node)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Function,
    Async,
    Node,
}

struct Args {
    name: Option<LitStr>,
    workflow: Option<LitStr>,
    /// `agent` or `tool` (workflow nodes only).
    step: Option<syn::Ident>,
}

fn parse_args(args: TokenStream, kind: Kind) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut out = Args {
        name: None,
        workflow: None,
        step: None,
    };
    for (i, meta) in metas.into_iter().enumerate() {
        match (&meta, kind) {
            // `#[trace_workflow_node("analyze_query")]`: the node name, positionally.
            (Meta::Path(p), Kind::Node) if p.is_ident("agent") || p.is_ident("tool") => {
                if out.step.is_some() {
                    return Err(syn::Error::new_spanned(
                        p,
                        "a node is either `agent` or `tool`, not both",
                    ));
                }
                out.step = p.get_ident().cloned();
            }
            (Meta::Path(p), Kind::Node) => {
                return Err(syn::Error::new_spanned(
                    p,
                    "unknown marker; accepted: `agent` (an agent step) or `tool` (a tool call), and `workflow = \"...\"`",
                ));
            }
            (Meta::Path(_), _) => {
                return Err(syn::Error::new_spanned(meta, "expected `name = \"...\"`"));
            }
            (Meta::NameValue(nv), _) => {
                let key = nv
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let value = match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => s.clone(),
                    other => {
                        return Err(syn::Error::new_spanned(other, "expected a string literal"))
                    }
                };
                match (key.as_str(), kind) {
                    ("name", _) => out.name = Some(value),
                    ("workflow", Kind::Node) => out.workflow = Some(value),
                    _ => {
                        let accepted = if kind == Kind::Node {
                            "`workflow = \"...\"`, `agent` or `tool` (and the node name first)"
                        } else {
                            "`name = \"...\"`"
                        };
                        return Err(syn::Error::new_spanned(
                            &nv.path,
                            format!("unknown argument `{key}`; accepted: {accepted}"),
                        ));
                    }
                }
            }
            (Meta::List(l), _) => {
                let _ = i;
                return Err(syn::Error::new_spanned(l, "unexpected argument list"));
            }
        }
    }
    Ok(out)
}

fn expand(
    args: TokenStream,
    item: TokenStream,
    kind: Kind,
) -> syn::Result<proc_macro2::TokenStream> {
    let func: ItemFn = syn::parse(item)?;
    let args = if kind == Kind::Node {
        // First argument: the node name as a plain string literal.
        let tokens = proc_macro2::TokenStream::from(args);
        let mut iter = tokens.clone().into_iter();
        match iter.next() {
            Some(proc_macro2::TokenTree::Literal(lit)) => {
                let name: LitStr = syn::parse2(lit.into_token_stream()).map_err(|_| {
                    syn::Error::new(Span::call_site(), "the node name must be a string literal: #[trace_workflow_node(\"analyze_query\")]")
                })?;
                let rest: proc_macro2::TokenStream = iter.skip_while(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',')).collect();
                let mut parsed = parse_args(rest.into(), kind)?;
                parsed.name = Some(name);
                parsed
            }
            _ => {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "#[trace_workflow_node] needs the node name: #[trace_workflow_node(\"analyze_query\")]",
                ))
            }
        }
    } else {
        parse_args(args, kind)?
    };
    let is_async = func.sig.asyncness.is_some();
    match (kind, is_async) {
        (Kind::Function, true) => return Err(syn::Error::new_spanned(
            func.sig.asyncness,
            "#[trace_function] is for synchronous functions; use #[trace_async] on an `async fn`",
        )),
        (Kind::Async, false) => return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[trace_async] needs an `async fn`; use #[trace_function] for a synchronous function",
        )),
        _ => {}
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let fn_name = sig.ident.to_string();
    let span_name = args
        .name
        .map(|n| n.value())
        .unwrap_or_else(|| fn_name.clone());
    // The body's type, to annotate it (so `?` in the body knows its error type),
    // with each `impl Trait` left to inference: a `let` or closure cannot name it.
    let (ret_ty, is_result) = match &sig.output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => {
            let mut inferred = (**ty).clone();
            InferImplTrait.visit_type_mut(&mut inferred);
            (quote!(#inferred), is_result_type(ty))
        }
    };
    let record = if is_result {
        quote!(::megaobs::trace::__private::Outcome::from_result(
            &__megaobs_result
        ))
    } else {
        quote!(::megaobs::trace::__private::Outcome::Ok)
    };
    let start = match kind {
        Kind::Node => {
            let workflow = match args.workflow {
                Some(w) => quote!(::core::option::Option::Some(#w)),
                None => quote!(::core::option::Option::None),
            };
            match args.step.as_ref().map(|s| s.to_string()).as_deref() {
                Some("agent") => quote!(::megaobs::trace::__private::SpanScope::node_step(
                    #span_name,
                    #workflow,
                    ::megaobs::trace::__private::GenAiStep::Agent
                )),
                Some(_) => quote!(::megaobs::trace::__private::SpanScope::node_step(
                    #span_name,
                    #workflow,
                    ::megaobs::trace::__private::GenAiStep::Tool
                )),
                None => quote!(::megaobs::trace::__private::SpanScope::node(#span_name, #workflow)),
            }
        }
        _ => quote!(::megaobs::trace::__private::SpanScope::function(#span_name)),
    };
    // Plain functions with tracing off take a fast path: the body alone, after one
    // branch (no scope to build, move and drop). Nodes always record their metric.
    let fast_path = if matches!(kind, Kind::Node) {
        quote!()
    } else if is_async {
        quote! {
            if ::megaobs::trace::__private::tracing_off() {
                return __megaobs_body.await;
            }
        }
    } else {
        quote! {
            if ::megaobs::trace::__private::tracing_off() {
                return __megaobs_body();
            }
        }
    };
    let body = if is_async {
        quote! {
            let __megaobs_body = async move {
                let __megaobs_value: #ret_ty = #block;
                __megaobs_value
            };
            #fast_path
            let __megaobs_scope = #start;
            let __megaobs_result = __megaobs_scope.instrument(__megaobs_body).await;
            __megaobs_scope.finish(#record);
            __megaobs_result
        }
    } else {
        quote! {
            let __megaobs_body = || -> #ret_ty #block;
            #fast_path
            let __megaobs_scope = #start;
            let __megaobs_result = __megaobs_scope.in_scope(__megaobs_body);
            __megaobs_scope.finish(#record);
            __megaobs_result
        }
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

/// Replaces every `impl Trait` in a type with `_`.
struct InferImplTrait;

impl VisitMut for InferImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(_) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: Default::default(),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

fn is_result_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Group(g) => is_result_type(&g.elem),
        Type::Paren(p) => is_result_type(&p.elem),
        _ => false,
    }
}
