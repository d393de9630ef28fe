"""Send OpenInference (`openinference-instrumentation-openai`) spans for one plain chat
completion of an `openai` client against the mock provider, over OTLP/HTTP protobuf, to llmtrace.

Usage: openinference_openai_sdk.py --mock URL --server URL --key SECRET

One trace of one `ChatCompletion` span (`llm.*` attributes); the openai SDK has no spans of its
own.

Prints {"spans", "trace_id", "span_id", "answer", "errors"} as JSON and exits non-zero when an
export error was logged (a WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import sys

import openai
from openinference.instrumentation.openai import OpenAIInstrumentor
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
    provider = TracerProvider(
        resource=Resource.create({"service.name": "openinference-openai-interop"})
    )
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
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    llm = openai.OpenAI(base_url=f"{args.mock}/v1", api_key="mock-key", max_retries=0)
    answer = llm.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )
    provider.force_flush()
    provider.shutdown()

    out = {"spans": spans.ended, "answer": answer.choices[0].message.content, "errors": log.records}
    if len(spans.ended) == 1:
        out["trace_id"], out["span_id"] = spans.ended[0][1], spans.ended[0][2]
    else:
        out["errors"].append(f"expected 1 span, saw {spans.ended}")
    print(json.dumps(out))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
