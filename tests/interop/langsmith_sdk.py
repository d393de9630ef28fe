"""Send one LangSmith trace with the real `langsmith` SDK and a wrapped real `anthropic` client.

Usage: langsmith_sdk.py --mock URL [--mode multipart|batch]

Environment: LANGSMITH_ENDPOINT, LANGSMITH_API_KEY, LANGSMITH_TRACING=true.

The trace is a `@traceable` chain `rag-chain` with a retriever child `retrieve` and an LLM child
made by `wrap_anthropic(anthropic.Anthropic(base_url=mock))` (non-streaming). Run metadata carries
`user_id` and `session_id`. `multipart` is the SDK default (`POST /runs/multipart`, zstd-compressed
when the server advertises it in `GET /info`); `batch` turns multipart off through the `info` the
client is given, so the SDK posts `POST /runs/batch`.

Prints {"trace_id": <32 hex>, "run_ids": {name: uuid}, "errors": [...]} and exits non-zero when
the SDK reported a tracing error (its error callback or an error log record).
"""

import argparse
import json
import logging
import sys

import anthropic
import langsmith
from langsmith import Client, traceable
from langsmith.wrappers import wrap_anthropic


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the langsmith logger (failed uploads are logged there)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mock", required=True)
    p.add_argument("--mode", choices=["multipart", "batch"], default="multipart")
    args = p.parse_args()

    log = ErrorLog()
    logging.getLogger("langsmith").addHandler(log)
    errors = []
    kwargs = {"tracing_error_callback": lambda e: errors.append(repr(e))}
    if args.mode == "batch":
        kwargs["info"] = {
            "version": "0.1.0",
            "batch_ingest_config": {
                "use_multipart_endpoint": False,
                "size_limit": 100,
                "size_limit_bytes": 20_000_000,
                "scale_up_nthreads_limit": 16,
                "scale_up_qsize_trigger": 1000,
                "scale_down_nempty_trigger": 4,
            },
            "instance_flags": {},
        }
    client = Client(**kwargs)
    llm = wrap_anthropic(anthropic.Anthropic(base_url=args.mock, api_key="mock-key", max_retries=0))
    runs = {}

    @traceable(name="retrieve", run_type="retriever")
    def retrieve(question):
        runs["retrieve"] = str(langsmith.get_current_run_tree().id)
        return [{"page_content": "Paris is the capital of France.", "type": "Document"}]

    @traceable(name="rag-chain", run_type="chain")
    def rag_chain(question):
        tree = langsmith.get_current_run_tree()
        runs["rag-chain"] = str(tree.id)
        runs["trace"] = str(tree.trace_id)
        docs = retrieve(question)
        answer = llm.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            system="Answer from the context: " + docs[0]["page_content"],
            messages=[{"role": "user", "content": question}],
        )
        return answer.content[0].text

    with langsmith.tracing_context(client=client, enabled=True, project_name="interop"):
        rag_chain(
            "What is the capital of France?",
            langsmith_extra={
                "metadata": {"user_id": "user-ls-1", "session_id": "sess-ls-1"},
                "tags": ["interop", args.mode],
            },
        )
    client.flush()
    client.cleanup()

    errors.extend(log.records)
    print(
        json.dumps(
            {
                "trace_id": runs["trace"].replace("-", ""),
                "run_ids": runs,
                "mode": args.mode,
                "errors": errors,
            }
        )
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
