"""Send OpenLLMetry (`opentelemetry-instrumentation-openai`) spans for a tool round trip (a chat
completion offering one function tool, answered with a `tool_calls` entry, then a second one with
the tool result) and one streaming chat completion (`stream_options.include_usage`) of an
`openai` client against the mock provider, over OTLP/HTTP protobuf, to llmtrace.

Usage: openllmetry_openai_sdk.py --mock URL --server URL --key SECRET

The openai SDK has no spans of its own, so each call is exactly one trace with one `openai.chat`
span.

Prints {"trace_ids", "tool_trace_id", "answer_trace_id", "stream_trace_id", "tool_call",
"answer", "stream_text", "errors"} as JSON and exits non-zero when an export error was logged (a
WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "capital_of",
            "description": "The capital city of a country.",
            "parameters": {
                "type": "object",
                "properties": {"country": {"type": "string"}},
                "required": ["country"],
            },
        },
    }
]


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


class TraceIds(SpanProcessor):
    """Remembers the trace id of every `openai.chat` span, in end order."""

    def __init__(self):
        self.ids = []

    def on_end(self, span):
        if span.name == "openai.chat":
            self.ids.append(format(span.context.trace_id, "032x"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    provider = TracerProvider(
        resource=Resource.create({"service.name": "openllmetry-openai-interop"})
    )
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
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    llm = openai.OpenAI(base_url=f"{args.mock}/v1", api_key="mock-key", max_retries=0)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    first = llm.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Paris"},
    ]
    second = llm.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    text = ""
    for chunk in llm.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "And briefly?"}],
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    provider.force_flush()
    provider.shutdown()

    out = {
        "trace_ids": ids.ids,
        "tool_call": {"name": call.function.name, "arguments": call.function.arguments},
        "answer": second.choices[0].message.content,
        "stream_text": text,
        "errors": log.records,
    }
    if len(ids.ids) == 3:
        out["tool_trace_id"], out["answer_trace_id"], out["stream_trace_id"] = ids.ids
    else:
        out["errors"].append(f"expected 3 openai.chat spans, saw {len(ids.ids)}")
    print(json.dumps(out))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
