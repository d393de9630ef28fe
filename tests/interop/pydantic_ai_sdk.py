"""Run a Pydantic AI agent with one tool, its model the anthropic mock, instrumented with
Pydantic AI's own OpenTelemetry spans, exported over OTLP/HTTP protobuf to llmtrace.

Usage: pydantic_ai_sdk.py --mock URL --server URL --key SECRET

The mock answers the first model request (it offers the tool) with a `tool_use` of
`capital_of(country="Paris")` and the second one (it carries the tool_result) with text. One trace: `invoke_agent geo-agent` → `chat claude-sonnet-4-6`
×2 and `execute_tool capital_of`; each `chat` span has the anthropic SDK's own
`anthropic.messages.create` span as its child (a global TracerProvider is installed). Every model
request reports 160 in (incl. cache) and 45 out. `max_tokens` is set so the requests are not
streamed.

Prints {"trace_id", "root_id", "output", "tool_calls", "errors"} as JSON and exits non-zero when an
export error was logged (a WARNING+ record of the `opentelemetry` logger).
"""

import argparse
import json
import logging
import sys

from anthropic import AsyncAnthropic
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider


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
    provider = TracerProvider(resource=Resource.create({"service.name": "pydantic-ai-interop"}))
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

    client = AsyncAnthropic(base_url=args.mock, api_key="mock-key", max_retries=0)
    model = AnthropicModel("claude-sonnet-4-6", provider=AnthropicProvider(anthropic_client=client))
    agent = Agent(
        model,
        name="geo-agent",
        instructions="Answer with the tool.",
        model_settings={"max_tokens": 200},
    )
    agent.instrument = True
    tool_calls = []

    @agent.tool_plain
    def capital_of(country: str) -> str:
        """The capital of a country."""
        tool_calls.append(country)
        return "Paris"

    result = agent.run_sync("What is the capital of France?")
    provider.force_flush()
    provider.shutdown()

    out = {"output": result.output, "tool_calls": tool_calls, "spans": spans.ended}
    roots = [s for s in spans.ended if s[3] is None]
    errors = log.records
    if len(roots) == 1 and roots[0][0] == "invoke_agent geo-agent":
        out["trace_id"], out["root_id"] = roots[0][1], roots[0][2]
    else:
        errors.append(f"expected one root span invoke_agent geo-agent, saw {roots}")
    out["errors"] = errors
    print(json.dumps(out))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
