"""Send one trace with the real `langsmith` SDK in OTel-only mode and a wrapped real `anthropic`
client; LangSmith exports OTLP/HTTP protobuf to `{LANGSMITH_ENDPOINT}/otel/v1/traces` with
`x-api-key`.

Usage: langsmith_otel_sdk.py --mock URL

Environment: LANGSMITH_ENDPOINT, LANGSMITH_API_KEY, LANGSMITH_TRACING=true,
LANGSMITH_OTEL_ENABLED=true, LANGSMITH_OTEL_ONLY=true (langsmith 0.15.1 resolves these legacy
variables to tracing mode "otel").

The trace is a `@traceable` chain `qa-chain` whose child is the LLM run made by
`wrap_anthropic(anthropic.Anthropic(base_url=mock))` (non-streaming). LangSmith's OTel spans get
their own trace id, while the anthropic SDK's own `anthropic.messages.create` span (a global
TracerProvider exists) is parented by the run UUIDs LangSmith puts in the context, so it lands
in another trace whose parent span never arrives (the orphan the wire notes describe).

Prints {"trace_id": <32 hex of the LangSmith chain span>, "spans": [[name, trace, span, parent]],
"errors": [...]} and exits non-zero when an export error was logged (WARNING+ of the
`langsmith` or `opentelemetry` loggers, or the client's tracing error callback).
"""

import argparse
import json
import logging
import sys

import anthropic
import langsmith
from langsmith import Client, traceable
from langsmith.wrappers import wrap_anthropic
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


class Spans(SpanProcessor):
    """Remembers (name, trace id, span id, parent span id) of every ended span."""

    def __init__(self):
        self.ended = []

    def on_end(self, span):
        c = span.context
        parent = format(span.parent.span_id, "016x") if span.parent else None
        self.ended.append((span.name, format(c.trace_id, "032x"), format(c.span_id, "016x"), parent))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("langsmith").addHandler(log)
    logging.getLogger("opentelemetry").addHandler(log)
    errors = []
    client = Client(tracing_error_callback=lambda e: errors.append(repr(e)))
    provider = trace.get_tracer_provider()
    spans = Spans()
    provider.add_span_processor(spans)
    llm = wrap_anthropic(anthropic.Anthropic(base_url=args.mock, api_key="mock-key", max_retries=0))

    @traceable(name="qa-chain", run_type="chain")
    def qa_chain(question):
        answer = llm.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            messages=[{"role": "user", "content": question}],
        )
        return answer.content[0].text

    with langsmith.tracing_context(client=client, enabled=True, project_name="interop"):
        qa_chain("What is the capital of France?")
    client.flush()
    provider.force_flush()
    client.cleanup()

    errors.extend(log.records)
    out = {"spans": spans.ended}
    chain = [s for s in spans.ended if s[0] == "qa-chain"]
    if len(chain) == 1:
        out["trace_id"] = chain[0][1]
    else:
        errors.append(f"expected one qa-chain span, saw {spans.ended}")
    out["errors"] = errors
    print(json.dumps(out))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
