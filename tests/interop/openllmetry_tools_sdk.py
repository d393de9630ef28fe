"""Send OpenLLMetry (`opentelemetry-instrumentation-anthropic`) spans for an anthropic tool round
trip inside one app span, against the mock provider, over OTLP/HTTP protobuf, to llmtrace.

Usage: openllmetry_tools_sdk.py --mock URL --server URL --key SECRET

Inside the app span `agent_turn`: a `messages.create` offering a `get_weather` tool (the mock
answers with a `tool_use` block), the tool run by hand, and a second `messages.create` carrying
the `tool_result` (the mock answers with text). The anthropic SDK's own span is off, as in
openllmetry_sdk.py.

Prints {"trace_id", "tool_input", "answer", "errors"} as JSON and exits non-zero when an export
error was logged (a WARNING+ record of the `opentelemetry` logger).
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
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather in a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    provider = TracerProvider(resource=Resource.create({"service.name": "openllmetry-tools"}))
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
    tracer = trace.get_tracer("interop")

    llm = anthropic.Anthropic(base_url=args.mock, api_key="mock-key", max_retries=0)
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    with tracer.start_as_current_span("agent_turn") as turn:
        trace_id = format(turn.get_span_context().trace_id, "032x")
        first = llm.messages.create(
            model="claude-sonnet-4-6", max_tokens=200, tools=TOOLS, messages=messages
        )
        use = next(b for b in first.content if b.type == "tool_use")
        result = f"Sunny in {use.input['city']}"
        messages += [
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}],
            },
        ]
        second = llm.messages.create(
            model="claude-sonnet-4-6", max_tokens=200, tools=TOOLS, messages=messages
        )
        answer = "".join(b.text for b in second.content if b.type == "text")
    provider.force_flush()
    provider.shutdown()

    out = {"trace_id": trace_id, "tool_input": use.input, "answer": answer, "errors": log.records}
    print(json.dumps(out))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
