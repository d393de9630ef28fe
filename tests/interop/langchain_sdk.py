"""Run a LangChain chain (`ChatPromptTemplate | ChatAnthropic`) with `.batch()` of three inputs
against the anthropic mock, instrumented with OpenLLMetry's `opentelemetry-instrumentation-
langchain`, exported over OTLP/HTTP protobuf to llmtrace.

Usage: langchain_sdk.py --mock URL --server URL --key SECRET

Each of the three model calls reports 160 in (incl. cache), 45 out; OpenLLMetry's
`ChatAnthropic.chat` span sends cache write 0 (truth 10, see the wire notes).
opentelemetry-instrumentation-langchain 0.62.4 leaks its context across the batch's worker
threads, so the three items end up nested inside each other in ONE trace instead of three.

The anthropic SDK's own span is turned off (`ANTHROPIC_OPEN_TELEMETRY=false`): under the leak its
three `anthropic.messages.create` spans all land under the innermost `RunnableSequence.workflow`,
as *siblings* of the `ChatAnthropic.chat` spans rather than their children, and llmtrace then
counts every call twice (it only folds an SDK span nested under its instrumentation span).

Prints {"trace_ids": [distinct trace ids of the ended spans], "spans": [[name, trace, span,
parent]], "answers", "errors"} as JSON and exits non-zero when an export error was logged (a
WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import os
import sys

os.environ["ANTHROPIC_OPEN_TELEMETRY"] = "false"

from langchain_anthropic import ChatAnthropic
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.langchain import LangchainInstrumentor
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
    p.add_argument("--server", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    provider = TracerProvider(resource=Resource.create({"service.name": "langchain-interop"}))
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
    LangchainInstrumentor().instrument(tracer_provider=provider)

    llm = ChatAnthropic(
        model="claude-sonnet-4-6",
        base_url=args.mock,
        api_key="mock-key",
        max_tokens=200,
        max_retries=0,
    )
    chain = ChatPromptTemplate.from_messages([("user", "What is the capital of {country}?")]) | llm
    answers = chain.batch([{"country": c} for c in ["France", "Italy", "Spain"]])
    provider.force_flush()
    provider.shutdown()

    out = {
        "answers": [a.content for a in answers],
        "spans": spans.ended,
        "trace_ids": sorted({s[1] for s in spans.ended}),
        "errors": log.records,
    }
    print(json.dumps(out))
    return 1 if log.records else 0


if __name__ == "__main__":
    sys.exit(main())
