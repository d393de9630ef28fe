"""Send one RAG pipeline trace with the real OpenTelemetry Python SDK.

Usage: send_rag.py --protocol {http/protobuf,http/json,grpc} --http URL --grpc HOST:PORT

The trace is a root `rag_query` (SERVER) with `retrieve`, `rerank` and `llm_call` children; the
LLM call carries OTel GenAI attributes. Prints {"trace_id": ..., "span_ids": {...}} as JSON and
exits non-zero if the exporter did not report success.
"""

import argparse
import json
import os
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode


class RecordingExporter:
    """Wraps an exporter and remembers every export result."""

    def __init__(self, inner):
        self.inner = inner
        self.results = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def make_exporter(protocol, http, grpc):
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"{http}/v1/traces")
    if protocol == "http/json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"{http}/v1/traces")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        # With OTEL_EXPORTER_OTLP_CERTIFICATE set (a server behind TLS), the exporter trusts that
        # certificate instead of sending in plain text.
        secure = bool(os.environ.get("OTEL_EXPORTER_OTLP_CERTIFICATE"))
        return OTLPSpanExporter(endpoint=grpc, insecure=not secure)
    raise SystemExit(f"unknown protocol {protocol}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", required=True)
    p.add_argument("--http", default="http://127.0.0.1:4318")
    p.add_argument("--grpc", default="127.0.0.1:4317")
    p.add_argument("--model", default="claude-sonnet-4-6")
    p.add_argument("--provider", default="anthropic")
    args = p.parse_args()

    exporter = RecordingExporter(make_exporter(args.protocol, args.http, args.grpc))
    provider = TracerProvider(resource=Resource.create({"service.name": "rag-interop"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("llmtrace.interop", "1.0")

    ids = {}
    with tracer.start_as_current_span("rag_query", kind=SpanKind.SERVER) as root:
        root.set_attribute("user.id", "interop-user")
        root.set_attribute("session.id", "interop-session")
        ids["rag_query"] = root.get_span_context().span_id
        with tracer.start_as_current_span("retrieve") as s:
            s.set_attribute("gen_ai.operation.name", "retrieval")
            s.set_attribute("gen_ai.data_source.id", "kb-main")
            ids["retrieve"] = s.get_span_context().span_id
        with tracer.start_as_current_span("rerank") as s:
            s.set_attribute("gen_ai.operation.name", "rerank")
            s.set_attribute("gen_ai.request.model", "rerank-v3.5")
            ids["rerank"] = s.get_span_context().span_id
        with tracer.start_as_current_span("llm_call", kind=SpanKind.CLIENT) as s:
            s.set_attribute("gen_ai.provider.name", args.provider)
            s.set_attribute("gen_ai.operation.name", "chat")
            s.set_attribute("gen_ai.request.model", args.model)
            s.set_attribute("gen_ai.response.model", args.model)
            s.set_attribute("gen_ai.request.temperature", 0.2)
            s.set_attribute("gen_ai.request.max_tokens", 512)
            s.set_attribute("gen_ai.usage.input_tokens", 160)
            s.set_attribute("gen_ai.usage.output_tokens", 45)
            s.set_attribute("gen_ai.usage.cache_read.input_tokens", 30)
            s.set_attribute("gen_ai.usage.cache_creation.input_tokens", 10)
            s.set_attribute("gen_ai.response.finish_reasons", ["end_turn"])
            s.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": "What changed in the contract?"}]}]),
            )
            s.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": "Clause 4 now caps liability."}],
                            "finish_reason": "stop",
                        }
                    ]
                ),
            )
            s.set_status(Status(StatusCode.OK))
            ids["llm_call"] = s.get_span_context().span_id
        trace_id = root.get_span_context().trace_id

    provider.force_flush()
    provider.shutdown()
    ok = bool(exporter.results) and all(r == SpanExportResult.SUCCESS for r in exporter.results)
    print(
        json.dumps(
            {
                "trace_id": format(trace_id, "032x"),
                "span_ids": {k: format(v, "016x") for k, v in ids.items()},
                "exports": len(exporter.results),
                "ok": ok,
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
