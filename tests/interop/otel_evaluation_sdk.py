"""Send a chat span and OpenTelemetry evaluation results on it with the real OpenTelemetry
Python SDK (traces and logs over OTLP/HTTP protobuf).

Usage: otel_evaluation_sdk.py

Environment: OTEL_EXPORTER_OTLP_ENDPOINT (llmtrace's base URL), OTEL_EXPORTER_OTLP_HEADERS
(`authorization=Bearer <key>`).

A root span `answer` with a child `chat gpt-4o` (GenAI attributes, response id
`chatcmpl-eval-1`). Two `gen_ai.evaluation.result` events, emitted as log records through the
SDK's logger:
- `relevance` (value 0.9, label `relevant`, an explanation), inside the chat span's context
  (parented to it);
- `groundedness` (value 0.4), emitted outside any span, naming the evaluated call only by
  `gen_ai.response.id`.

Prints {"trace_id": <32 hex>, "chat_span_id": <16 hex>, "errors": [...]} (WARNING and
above logged by the SDK's exporters).
"""

import json
import logging

from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

RESPONSE_ID = "chatcmpl-eval-1"


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the opentelemetry loggers."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


def main():
    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    resource = Resource.create({"service.name": "eval-app"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    logger_provider = LoggerProvider(resource=Resource.create({"service.name": "judge"}))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter()))
    tracer = tracer_provider.get_tracer("eval-app")
    logger = logger_provider.get_logger("evals")

    with tracer.start_as_current_span("answer") as root:
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o",
                "gen_ai.response.id": RESPONSE_ID,
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.usage.output_tokens": 3,
            },
        ) as chat:
            # Emitted in the chat span's context: the record carries its trace and span ids.
            logger.emit(
                LogRecord(
                    event_name="gen_ai.evaluation.result",
                    attributes={
                        "gen_ai.evaluation.name": "relevance",
                        "gen_ai.evaluation.score.value": 0.9,
                        "gen_ai.evaluation.score.label": "relevant",
                        "gen_ai.evaluation.explanation": "answers the question",
                    },
                )
            )
            chat_ctx = chat.get_span_context()
        trace_id = root.get_span_context().trace_id
    tracer_provider.force_flush()
    # Outside any span (an empty context): only the response id says which call it judged.
    logger.emit(
        LogRecord(
            context=Context(),
            event_name="gen_ai.evaluation.result",
            attributes={
                "gen_ai.evaluation.name": "groundedness",
                "gen_ai.evaluation.score.value": 0.4,
                "gen_ai.response.id": RESPONSE_ID,
            },
        )
    )
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(
        json.dumps(
            {
                "trace_id": format(trace_id, "032x"),
                "chat_span_id": format(chat_ctx.span_id, "016x"),
                "errors": log.records,
            }
        )
    )


if __name__ == "__main__":
    main()
