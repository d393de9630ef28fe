"""Send OpenInference (`openinference-instrumentation-anthropic`) spans for one plain `anthropic`
call against the mock provider, over OTLP/HTTP protobuf, to llmtrace.

Usage: openinference_sdk.py --mock URL --server URL --key SECRET

One trace: OpenInference's `messages.create` (INTERNAL, `llm.*` attributes) with the anthropic
SDK's own `anthropic.messages.create` (CLIENT, `gen_ai.*`) as its child, because a global
TracerProvider is installed. Both report the same call (160 in incl. cache, 45 out).

Prints {"trace_id", "span_id", "errors"} as JSON (the ids of OpenInference's span) and exits
non-zero when an export error was logged (a WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import sys

import anthropic
from openinference.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


class Spans(SpanProcessor):
    """Remembers (name, trace id, span id) of every ended span."""

    def __init__(self):
        self.ended = []

    def on_end(self, span):
        c = span.context
        self.ended.append((span.name, format(c.trace_id, "032x"), format(c.span_id, "016x")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    provider = TracerProvider(resource=Resource.create({"service.name": "openinference-interop"}))
    spans = Spans()
    provider.add_span_processor(spans)
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{args.server}/v1/traces",
                headers={"Authorization": f"Bearer {args.key}"},
            )
        )
    )
    trace.set_tracer_provider(provider)
    AnthropicInstrumentor().instrument(tracer_provider=provider)

    llm = anthropic.Anthropic(base_url=args.mock, api_key="mock-key", max_retries=0)
    llm.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        system="Answer briefly.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    provider.force_flush()
    provider.shutdown()

    out = {"spans": spans.ended, "errors": log.records}
    mine = [s for s in spans.ended if s[0] == "messages.create"]
    if len(mine) == 1:
        out["trace_id"], out["span_id"] = mine[0][1], mine[0][2]
    else:
        out["errors"].append(f"expected 1 messages.create span, saw {spans.ended}")
    print(json.dumps(out))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
