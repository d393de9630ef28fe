"""Send one Langfuse trace with the real `langfuse` SDK (v5, OpenTelemetry-based) and a real
`anthropic` client call, plus scores.

Usage: langfuse_sdk.py --mock URL

Environment: LANGFUSE_BASE_URL (or LANGFUSE_HOST), LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY.

The trace is an `@observe` function `rag-pipeline` (user, session and tags propagated with
`propagate_attributes`, the v5 successor of `update_current_trace`) with a `retrieve` retriever
child and an `llm_call` generation child that calls `anthropic.Anthropic(base_url=mock)` and
reports the call's model, usage (`input` 120 raw, `output` 45, `cache_read_input_tokens` 30,
`cache_creation_input_tokens` 10) and cost (`input` 0.0004065 + `output` 0.000675 USD). Then a
numeric trace score `correctness` 0.9 and a categorical generation score `tone` = "neutral";
`flush()`.

Prints {"trace_id", "generation_id", "root_id", "errors"} as JSON and exits non-zero when the SDK
logged an export error (a WARNING+ record of the `langfuse` or `opentelemetry` logger).
"""

import argparse
import json
import logging
import sys

import anthropic
from langfuse import get_client, observe, propagate_attributes


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the `langfuse` and `opentelemetry` loggers (a failed score
    upload is logged by the former, a failed span export by the OTLP exporter under the latter)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    args = p.parse_args()

    log = ErrorLog()
    for name in ("langfuse", "opentelemetry"):
        logging.getLogger(name).addHandler(log)
    langfuse = get_client()
    llm = anthropic.Anthropic(base_url=args.mock, api_key="mock-key", max_retries=0)
    ids = {}

    @observe(name="retrieve", as_type="retriever")
    def retrieve(question):
        return ["Paris is the capital of France."]

    @observe(name="llm_call", as_type="generation")
    def call_llm(question, docs):
        ids["generation_id"] = langfuse.get_current_observation_id()
        r = llm.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            system="Answer from the context: " + docs[0],
            messages=[{"role": "user", "content": question}],
        )
        u = r.usage
        langfuse.update_current_generation(
            model=r.model,
            model_parameters={"max_tokens": 200},
            usage_details={
                "input": u.input_tokens,
                "output": u.output_tokens,
                "cache_read_input_tokens": u.cache_read_input_tokens,
                "cache_creation_input_tokens": u.cache_creation_input_tokens,
            },
            cost_details={"input": 0.0004065, "output": 0.000675},
        )
        return r.content[0].text

    @observe(name="rag-pipeline")
    def pipeline(question):
        ids["trace_id"] = langfuse.get_current_trace_id()
        ids["root_id"] = langfuse.get_current_observation_id()
        with propagate_attributes(
            user_id="user-lf-1", session_id="sess-lf-1", tags=["interop", "langfuse"]
        ):
            docs = retrieve(question)
            return call_llm(question, docs)

    pipeline("What is the capital of France?")
    langfuse.create_score(
        name="correctness", value=0.9, trace_id=ids["trace_id"], comment="close enough"
    )
    langfuse.create_score(
        name="tone",
        value="neutral",
        trace_id=ids["trace_id"],
        observation_id=ids["generation_id"],
        data_type="CATEGORICAL",
    )
    langfuse.flush()
    langfuse.shutdown()

    ids["errors"] = log.records
    print(json.dumps(ids))
    return 1 if log.records else 0


if __name__ == "__main__":
    sys.exit(main())
