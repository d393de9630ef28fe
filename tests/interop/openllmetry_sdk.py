"""Send OpenLLMetry (`opentelemetry-instrumentation-anthropic`) spans for one plain and one
streaming `anthropic` call against the mock provider, over OTLP/HTTP protobuf, to llmtrace.

Usage: openllmetry_sdk.py --mock URL --server URL --key SECRET

The anthropic SDK's own span is turned off (`ANTHROPIC_OPEN_TELEMETRY=false`) unless the caller
sets `ANTHROPIC_OPEN_TELEMETRY=true`: with OpenLLMetry it lands in a different trace (OpenLLMetry
does not make its span current), so by default each call is exactly one trace with one
`anthropic.chat` span, and with the variable set each call is two traces reporting one response. OpenLLMetry reports the streaming call's output
as 21 (message_start's 1 + message_delta's 20; the truth is 20) and llmtrace keeps what it sent.

Prints {"plain_trace_id", "stream_trace_id", "stream_text", "errors"} as JSON and exits non-zero
when an export error was logged (a WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import os
import sys

os.environ.setdefault("ANTHROPIC_OPEN_TELEMETRY", "false")

import anthropic  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


class TraceIds(SpanProcessor):
    """Remembers the trace id of every `anthropic.chat` span, in end order."""

    def __init__(self):
        self.ids = []

    def on_end(self, span):
        if span.name == "anthropic.chat":
            self.ids.append(format(span.context.trace_id, "032x"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    provider = TracerProvider(resource=Resource.create({"service.name": "openllmetry-interop"}))
    ids = TraceIds()
    provider.add_span_processor(ids)
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
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    text = ""
    for event in llm.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "And briefly?"}],
        stream=True,
    ):
        if event.type == "content_block_delta":
            text += event.delta.text
    provider.force_flush()
    provider.shutdown()

    out = {"trace_ids": ids.ids, "stream_text": text, "errors": log.records}
    if len(ids.ids) == 2:
        out["plain_trace_id"], out["stream_trace_id"] = ids.ids
    else:
        out["errors"].append(f"expected 2 anthropic.chat spans, saw {len(ids.ids)}")
    print(json.dumps(out))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
