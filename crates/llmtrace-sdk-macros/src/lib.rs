//! The `#[observe]` attribute macro of `llmtrace-sdk` (use it through `llmtrace_sdk::observe`).
//!
//! The expansion calls into `llmtrace_sdk`, so depend on `llmtrace-sdk`, not on this crate:
//!
//! ```ignore
//! #[llmtrace_sdk::observe(kind = "tool")] // span `execute_tool search`
//! fn search(query: &str) -> Vec<Doc> { ... }
//! ```
//!
//! The arguments are documented on `llmtrace_sdk::observe`
//! (<https://docs.rs/llmtrace-sdk/latest/llmtrace_sdk/attr.observe.html>).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    parse_macro_input, Expr, ExprLit, FnArg, ItemFn, Lit, Meta, Pat, ReturnType, Token, Type,
};

const KINDS: &[&str] = &[
    "span",
    "llm",
    "generation",
    "tool",
    "agent",
    "retrieval",
    "retriever",
    "rerank",
    "reranker",
    "embedding",
    "embeddings",
    "chain",
    "workflow",
];

struct Args {
    name: Option<String>,
    kind: String,
    capture: Option<bool>,
}

fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
    let mut args = Args {
        name: None,
        kind: "span".into(),
        capture: None,
    };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) => {
                let key = nv
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                match (key.as_str(), &nv.value) {
                    (
                        "name",
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }),
                    ) => args.name = Some(s.value()),
                    (
                        "kind",
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }),
                    ) => {
                        let k = s.value();
                        if !KINDS.contains(&k.as_str()) {
                            return Err(syn::Error::new_spanned(
                                s,
                                format!("unknown kind; expected one of {}", KINDS.join(", ")),
                            ));
                        }
                        args.kind = k;
                    }
                    (
                        "capture",
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(b), ..
                        }),
                    ) => args.capture = Some(b.value),
                    _ => {
                        return Err(syn::Error::new_spanned(
                            &meta,
                            "expected name = \"...\", kind = \"...\" or capture = true|false",
                        ))
                    }
                }
            }
            Meta::Path(p) if p.is_ident("capture") => args.capture = Some(true),
            _ => {
                return Err(syn::Error::new_spanned(
                    &meta,
                    "expected name = \"...\", kind = \"...\" or capture = true|false",
                ))
            }
        }
    }
    Ok(args)
}

/// Whether the return type is spelled `Result<..>` (any path ending in `Result`).
fn returns_result(ret: &ReturnType) -> bool {
    match ret {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident.to_string().ends_with("Result")),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

/// Wraps a sync or async function in a span; see `llmtrace_sdk::observe` for the arguments.
#[proc_macro_attribute]
pub fn observe(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr.into()) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut func = parse_macro_input!(item as ItemFn);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| func.sig.ident.to_string());
    let kind = &args.kind;
    let capture = match args.capture {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let p = quote!(::llmtrace_sdk::__private);

    // Captured arguments: plain identifiers only (patterns and `self` are skipped).
    let mut captured = Vec::new();
    for input in &func.sig.inputs {
        if let FnArg::Typed(t) = input {
            if let Pat::Ident(pi) = t.pat.as_ref() {
                let ident = &pi.ident;
                let key = ident.to_string();
                captured.push(quote! {
                    (#key, (&#p::Capture(&#ident)).capture_json())
                });
            }
        }
    }

    let is_result = returns_result(&func.sig.output);
    let record_output = if is_result {
        quote! {
            #p::ObservedResult::observe_err(&__llmtrace_result, &__llmtrace_span);
            if __llmtrace_capture {
                if let ::core::result::Result::Ok(__v) = &__llmtrace_result {
                    #p::record_output(&__llmtrace_span, (&#p::Capture(__v)).capture_json());
                }
            }
        }
    } else {
        quote! {
            if __llmtrace_capture {
                #p::record_output(&__llmtrace_span, (&#p::Capture(&__llmtrace_result)).capture_json());
            }
        }
    };

    let block = &func.block;
    // The return type, to annotate the wrapped block (so `?` infers), unless it uses `impl Trait`.
    let ret_ty: Option<TokenStream2> = match &func.sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) => {
            let t = quote!(#ty);
            (!t.to_string().contains("impl ")).then_some(t)
        }
    };
    let prologue = quote! {
        #[allow(unused_imports)]
        use #p::{CaptureFallback as _, CaptureSerialize as _};
        let __llmtrace_span = #p::start_span(#name, #kind);
        let __llmtrace_capture = #p::capture(#capture);
        if __llmtrace_capture {
            #p::record_input(&__llmtrace_span, ::std::vec![#(#captured),*]);
        }
    };
    let annotated_async = match &ret_ty {
        Some(t) => quote! { let __llmtrace_inner: #t = #block; __llmtrace_inner },
        None => quote! { #block },
    };
    let closure = match &ret_ty {
        Some(t) => quote! { || -> #t #block },
        None => quote! { || #block },
    };
    let body = if func.sig.asyncness.is_some() {
        quote! {
            {
                #prologue
                let __llmtrace_result = #p::tracing::Instrument::instrument(
                    async move { #annotated_async },
                    ::core::clone::Clone::clone(&__llmtrace_span),
                )
                .await;
                #record_output
                __llmtrace_result
            }
        }
    } else {
        quote! {
            {
                #prologue
                let __llmtrace_result = __llmtrace_span.in_scope(#closure);
                #record_output
                __llmtrace_result
            }
        }
    };
    func.block = match syn::parse2(body) {
        Ok(b) => Box::new(b),
        Err(e) => return e.to_compile_error().into(),
    };
    quote!(#func).into()
}
