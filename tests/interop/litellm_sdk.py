"""Send LiteLLM's own tracing of five real `litellm` SDK calls against the mock provider to
llmtrace, through one of LiteLLM's tracing callbacks.

Usage: litellm_sdk.py MODE MOCK_URL LLMTRACE_URL PUBLIC_KEY SECRET_KEY

MODE (each in its own process; every one but `langfuse` runs in the venv of
tests/interop/litellm/requirements.txt, `langfuse` in that of requirements-langfuse4.txt):
* `otel`: the `otel` callback (the legacy `OpenTelemetry` logger), OTLP/HTTP protobuf to
  LLMTRACE_URL/v1/traces (OTEL_EXPORTER=otlp_http, OTEL_ENDPOINT, OTEL_HEADERS).
* `otel-semconv`: the same with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental.
* `otel-v2`: the same with LITELLM_OTEL_V2=true (the typed `OpenTelemetryV2` logger, which
  traces async calls only).
* `langfuse_otel`: the `langfuse_otel` callback, OTLP/HTTP protobuf to
  LLMTRACE_URL/api/public/otel/v1/traces (LANGFUSE_OTEL_HOST, LANGFUSE_PUBLIC_KEY/SECRET_KEY).
* `langfuse`: the `langfuse` callback on the langfuse 4.x SDK (LANGFUSE_HOST), which exports
  OTLP/HTTP protobuf to LLMTRACE_URL/api/public/otel/v1/traces as well.
The OTel modes send `Authorization: Basic base64(PUBLIC_KEY:SECRET_KEY)`.

The calls, all async (`litellm.acompletion` / `aembedding`, since the V2 logger only closes
spans from the async callbacks), each with `user=` and metadata `trace_user_id` / `session_id`:
* `plain`: `anthropic/claude-sonnet-4-6` (mock usage input 120 raw + cache read 30 + cache
  write 10, output 45);
* `stream`: the same streamed, the whole stream consumed (output 20);
* `openai`: `openai/gpt-4o` chat (prompt 90 incl. 40 cached, completion 25);
* `embedding`: `openai/text-embedding-3-small` with two inputs (8 tokens each, 16 in all);
* `fail`: `anthropic/claude-fail-1`, answered 400 by the mock; the exception is caught.
Then it drains LiteLLM's logging worker and thread pool and flushes and shuts down the
callback's exporter.

LiteLLM's cost map is the bundled one (LITELLM_LOCAL_MODEL_COST_MAP, LITELLM_OFFLINE_MODE), so
nothing but the mock and LLMTRACE_URL is contacted.

Prints {"mode", "calls": [{"name", "model", "response_id", "litellm_cost", "usage"}...],
"errors"} as one JSON line and exits non-zero when a call went wrong or an export error was
logged (a WARNING+ record of the `opentelemetry` or `langfuse` logger, or an ERROR+ record of
LiteLLM's).
"""

import asyncio
import base64
import json
import logging
import os
import sys

MODES = ("otel", "otel-semconv", "otel-v2", "langfuse_otel", "langfuse")
USER_ID = "user-litellm-1"
SESSION_ID = "sess-litellm-1"
# Variables of the other modes (or of the caller's shell) that would change what a mode sends.
CLEARED_ENV = (
    "OTEL_EXPORTER",
    "OTEL_ENDPOINT",
    "OTEL_HEADERS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
    "LITELLM_OTEL_V2",
    "LANGFUSE_HOST",
    "LANGFUSE_BASE_URL",
    "LANGFUSE_OTEL_HOST",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "ARIZE_API_KEY",
    "PHOENIX_API_KEY",
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_COLLECTOR_HTTP_ENDPOINT",
)


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the `opentelemetry` and `langfuse` loggers (a failed export)
    and ERROR+ records of LiteLLM's (a callback that raised is logged there, not raised)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.name.startswith("LiteLLM") and record.levelno < logging.ERROR:
            return
        self.records.append(f"{record.name}: {record.getMessage()}")


def configure_env(mode, server, public, secret):
    """Sets the environment a mode's callback reads; must run before `litellm` is imported."""
    for var in CLEARED_ENV:
        os.environ.pop(var, None)
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ["LITELLM_OFFLINE_MODE"] = "true"
    basic = base64.b64encode(f"{public}:{secret}".encode()).decode()
    if mode.startswith("otel"):
        # LiteLLM's own spellings: it hands endpoint and headers to the OTLP exporter itself
        # (appending /v1/traces), so the OTel SDK's OTEL_EXPORTER_OTLP_* parsing is not involved.
        os.environ["OTEL_EXPORTER"] = "otlp_http"
        os.environ["OTEL_ENDPOINT"] = server
        os.environ["OTEL_HEADERS"] = f"Authorization=Basic {basic}"
        os.environ["OTEL_SERVICE_NAME"] = f"litellm-{mode}-interop"
        if mode == "otel-semconv":
            os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        if mode == "otel-v2":
            os.environ["LITELLM_OTEL_V2"] = "true"
    else:
        os.environ["LANGFUSE_PUBLIC_KEY"] = public
        os.environ["LANGFUSE_SECRET_KEY"] = secret
        if mode == "langfuse_otel":
            os.environ["LANGFUSE_OTEL_HOST"] = server
        else:
            os.environ["LANGFUSE_HOST"] = server


def callback_name(mode):
    return "otel" if mode.startswith("otel") else mode


def hidden_cost(response):
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    return float(cost) if cost is not None else None


def usage_of(response):
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    if hasattr(usage, "model_dump"):
        return usage.model_dump(exclude_none=True)
    return dict(usage)


async def run_calls(litellm, mock):
    anthropic = {"api_base": mock, "api_key": "mock-key"}
    openai = {"api_base": f"{mock}/v1", "api_key": "mock-key"}

    def tracing():
        # No `trace_name` / `generation_name`: the legacy `otel` logger would name its spans
        # after them instead of its default `litellm_request`.
        return {
            "user": USER_ID,
            "metadata": {
                "trace_user_id": USER_ID,
                "session_id": SESSION_ID,
            },
            "num_retries": 0,
            "max_retries": 0,
        }

    question = [{"role": "user", "content": "What is the capital of France?"}]
    calls, problems = [], []

    r = await litellm.acompletion(
        model="anthropic/claude-sonnet-4-6",
        messages=question,
        max_tokens=200,
        **anthropic,
        **tracing(),
    )
    calls.append(
        {
            "name": "plain",
            "model": r.model,
            "response_id": r.id,
            "litellm_cost": hidden_cost(r),
            "usage": usage_of(r),
        }
    )

    chunks = []
    stream = await litellm.acompletion(
        model="anthropic/claude-sonnet-4-6",
        messages=[{"role": "user", "content": "And briefly?"}],
        max_tokens=200,
        stream=True,
        stream_options={"include_usage": True},
        **anthropic,
        **tracing(),
    )
    async for chunk in stream:
        chunks.append(chunk)
    built = litellm.stream_chunk_builder(chunks, messages=[{"role": "user", "content": "And briefly?"}])
    stream_cost = hidden_cost(built)
    if stream_cost is None:
        stream_cost = float(litellm.completion_cost(completion_response=built))
    calls.append(
        {
            "name": "stream",
            "model": built.model,
            "response_id": built.id,
            "litellm_cost": stream_cost,
            "usage": usage_of(built),
            "text": built.choices[0].message.content,
            "chunks": len(chunks),
        }
    )

    r = await litellm.acompletion(
        model="openai/gpt-4o", messages=question, **openai, **tracing()
    )
    calls.append(
        {
            "name": "openai",
            "model": r.model,
            "response_id": r.id,
            "litellm_cost": hidden_cost(r),
            "usage": usage_of(r),
        }
    )

    r = await litellm.aembedding(
        model="openai/text-embedding-3-small",
        input=["Paris is the capital of France.", "Berlin is the capital of Germany."],
        **openai,
        **tracing(),
    )
    calls.append(
        {
            "name": "embedding",
            "model": r.model,
            "response_id": getattr(r, "id", None),
            "litellm_cost": hidden_cost(r),
            "usage": usage_of(r),
        }
    )

    try:
        await litellm.acompletion(
            model="anthropic/claude-fail-1",
            messages=question,
            max_tokens=200,
            **anthropic,
            **tracing(),
        )
        problems.append("the failing call did not raise")
        error = None
    except Exception as e:  # noqa: BLE001 - any provider error is the expected outcome
        error = {"type": type(e).__name__, "status_code": getattr(e, "status_code", None)}
    calls.append(
        {
            "name": "fail",
            "model": "anthropic/claude-fail-1",
            "response_id": None,
            "litellm_cost": None,
            "usage": None,
            "error": error,
        }
    )
    return calls, problems


async def drain_logging():
    """Waits for LiteLLM's async callback worker (success/failure events of async calls)."""
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout=60)


def flush_exporters(litellm, mode):
    """Drains LiteLLM's sync-callback thread pool, then flushes and shuts down every tracer
    provider the configured callback built (and the langfuse SDK's export channels)."""
    from litellm.litellm_core_utils import litellm_logging
    from litellm.litellm_core_utils.thread_pool_executor import executor

    executor.shutdown(wait=True)
    loggers = list(litellm_logging._in_memory_loggers) + [
        c for c in litellm.callbacks if not isinstance(c, str)
    ]
    providers = []
    for logger in loggers:
        for attr in ("_tracer_provider", "tracer_provider"):
            provider = getattr(logger, attr, None)
            if provider is not None and hasattr(provider, "force_flush"):
                if all(provider is not p for p in providers):
                    providers.append(provider)
    from opentelemetry import trace

    global_provider = trace.get_tracer_provider()
    if hasattr(global_provider, "force_flush") and all(global_provider is not p for p in providers):
        providers.append(global_provider)
    flushed = True
    for provider in providers:
        flushed = provider.force_flush(30000) is not False and flushed
    if mode == "langfuse":
        from litellm.integrations.langfuse.langfuse_sdk import flush_langfuse_tracing

        flushed = flush_langfuse_tracing(30000) and flushed
        for logger in loggers:
            if hasattr(logger, "flush") and type(logger).__name__.startswith("Lang"):
                logger.flush()
    for provider in providers:
        if hasattr(provider, "shutdown"):
            provider.shutdown()
    return flushed, [type(l).__name__ for l in loggers]


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in MODES:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(MODES)}}} MOCK_URL LLMTRACE_URL PUBLIC SECRET")
    mode, mock, server, public, secret = sys.argv[1:]
    mock, server = mock.rstrip("/"), server.rstrip("/")
    configure_env(mode, server, public, secret)

    log = ErrorLog()
    for name in ("opentelemetry", "langfuse", "LiteLLM", "LiteLLM Proxy", "LiteLLM Router"):
        logging.getLogger(name).addHandler(log)

    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banner on stdout for the 400
    litellm.callbacks = [callback_name(mode)]

    async def run():
        calls, problems = await run_calls(litellm, mock)
        await drain_logging()
        return calls, problems

    calls, problems = asyncio.run(run())
    flushed, loggers = flush_exporters(litellm, mode)
    errors = list(problems) + log.records
    if not flushed:
        errors.append("an exporter did not flush within 30 s")
    print(json.dumps({"mode": mode, "calls": calls, "loggers": loggers, "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
