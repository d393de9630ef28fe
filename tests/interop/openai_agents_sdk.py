"""Run an OpenAI Agents SDK agent with one function tool against the mock's Responses API and
export its traces with the SDK's own exporter to llmtrace's `POST /v1/traces/ingest`.

Usage: openai_agents_sdk.py --mock URL --server URL --key SECRET

The agent `geo-agent` (model gpt-4o, Responses API, non-streaming) runs in the workflow
`geo-workflow`; the mock answers the first request (it offers the tool) with a `function_call` of
`capital_of(country="Paris")` and the second (it carries the `function_call_output`) with text.
The SDK's `BackendSpanExporter` posts the trace and its spans (task, agent, turn ×2, response ×2,
function) as JSON with `Authorization: Bearer SECRET`; the key is given to the exporter itself,
since `set_tracing_export_api_key` only reaches the SDK's default exporter. Every response
reports usage input 90 (40 cached), output 25.

Prints {"trace_id", "output", "tool_calls", "errors"} as JSON and exits non-zero when the SDK
logged an export error (a WARNING+ record of the `openai.agents` logger).
"""

import argparse
import json
import logging
import sys

from agents import (
    Agent,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_trace_processors,
    trace,
)
from agents.tracing.processors import BackendSpanExporter, BatchTraceProcessor
from openai import AsyncOpenAI


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
    logging.getLogger("openai.agents").addHandler(log)
    processor = BatchTraceProcessor(
        BackendSpanExporter(
            api_key=args.key, endpoint=f"{args.server}/v1/traces/ingest", max_retries=1
        )
    )
    set_trace_processors([processor])

    client = AsyncOpenAI(base_url=f"{args.mock}/v1", api_key="mock-key", max_retries=0)
    tool_calls = []

    @function_tool
    def capital_of(country: str) -> str:
        """The capital of a country."""
        tool_calls.append(country)
        return "Paris"

    agent = Agent(
        name="geo-agent",
        instructions="Answer with the tool.",
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        tools=[capital_of],
    )
    with trace("geo-workflow") as t:
        result = Runner.run_sync(agent, "What is the capital of France?")
        trace_id = t.trace_id
    processor.force_flush()
    processor.shutdown()

    out = {
        "trace_id": trace_id,
        "output": result.final_output,
        "tool_calls": tool_calls,
        "errors": log.records,
    }
    print(json.dumps(out))
    return 1 if log.records else 0


if __name__ == "__main__":
    sys.exit(main())
