"""Send one LangSmith trace and feedback on it with the real `langsmith` SDK.

Usage: langsmith_feedback_sdk.py

Environment: LANGSMITH_ENDPOINT, LANGSMITH_API_KEY, LANGSMITH_TRACING=true.

The trace is a `trace` block `graded-chain` with a `@traceable` child `answer`. After a flush, two
feedbacks with `create_feedback`: `user_feedback` (score 1) on the trace, and `correctness`
(score 0, value "wrong", a comment) on the child run.

Prints {"trace_id": <32 hex>, "child_run_id": uuid, "errors": [...]}.
"""

import json
import logging
import uuid

from langsmith import Client, traceable, trace


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the langsmith logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


def main():
    log = ErrorLog()
    logging.getLogger("langsmith").addHandler(log)
    errors = []
    client = Client(tracing_error_callback=lambda e: errors.append(repr(e)))
    child = {}

    @traceable(name="answer", client=client)
    def answer(question):
        from langsmith.run_helpers import get_current_run_tree

        child["id"] = str(get_current_run_tree().id)
        return {"answer": "Paris"}

    with trace(name="graded-chain", inputs={"q": "capital?"}, client=client) as root:
        root.outputs = answer("capital?")
        trace_id = root.id
    client.flush()

    session_id = uuid.uuid4()
    client.create_feedback(key="user_feedback", score=1, trace_id=trace_id, session_id=session_id)
    client.create_feedback(
        key="correctness",
        score=0,
        value="wrong",
        comment="not what was asked",
        run_id=child["id"],
        trace_id=trace_id,
        session_id=session_id,
    )
    client.flush()
    errors.extend(log.records)
    print(
        json.dumps(
            {"trace_id": uuid.UUID(str(trace_id)).hex, "child_run_id": child["id"], "errors": errors}
        )
    )


if __name__ == "__main__":
    main()
