//! The price table in effect, shared by the ingest path (pricing every new span) and the cost
//! recomputation, and replaceable at run time when the user's price file changes.

use llmtrace_model::{Span, SpanCost};
use llmtrace_pricing::PriceBook;
use std::sync::{Arc, RwLock};

/// The current price book.
pub struct PriceTable {
    current: RwLock<Arc<PriceBook>>,
}

impl PriceTable {
    /// A table starting with `book`.
    pub fn new(book: PriceBook) -> Self {
        PriceTable {
            current: RwLock::new(Arc::new(book)),
        }
    }

    /// The book in effect now (cheap: one reference count).
    pub fn current(&self) -> Arc<PriceBook> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Puts a new book in effect for spans priced from now on.
    pub fn replace(&self, book: PriceBook) {
        let book = Arc::new(book);
        match self.current.write() {
            Ok(mut g) => *g = book,
            Err(p) => *p.into_inner() = book,
        }
    }

    /// A pricing function over the book in effect now, for cost recomputation: the span's
    /// computed cost, price provenance and unpriced flag (its reported cost is the store's).
    pub fn pricer(&self) -> llmtrace_store::Pricer {
        let book = self.current();
        Arc::new(move |span: &Span| {
            let mut cost = SpanCost::default();
            llmtrace_pricing::apply_to_cost(&book, span, &mut cost);
            cost
        })
    }

    /// A pricing function that always uses the book in effect when it is called (for the
    /// store's re-pricing of spans merged from an incomplete and a complete copy).
    pub fn live_pricer(self: &Arc<Self>) -> llmtrace_store::Pricer {
        let table = self.clone();
        Arc::new(move |span: &Span| {
            let mut cost = SpanCost::default();
            llmtrace_pricing::apply_to_cost(&table.current(), span, &mut cost);
            cost
        })
    }
}
