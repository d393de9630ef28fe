"""Drive the real `anthropic` and `openai` SDKs through llmtrace's gateway and directly against
the mock provider, and compare what the SDK returns both ways.

Usage: gateway_sdk.py (everything comes from the environment)

Environment:
* `MOCK_URL`: the mock provider (`mock_provider.py`), e.g. `http://127.0.0.1:PORT`.
* `GATEWAY_URL`: llmtrace's HTTP base; the gateway is `{GATEWAY_URL}/gateway/{anthropic,openai}`
  (served with `--gateway-upstream anthropic=MOCK_URL --gateway-upstream openai=MOCK_URL`).
* `OTEL_EXPORTER_OTLP_ENDPOINT`: llmtrace's HTTP base, where the app span of the `traceparent`
  scenario is exported (OTLP/HTTP protobuf, no key: a keyless loopback server).
* `PROVIDER_KEY`: the provider API key the SDKs send (`x-api-key`, `Authorization: Bearer`); the
  test checks that llmtrace stores and logs it nowhere.

Each scenario makes its SDK call once directly against the mock and once through the gateway,
and compares the results (the SDK's `model_dump()`, streamed chunks, or the raised error's status
and body) with every id removed: the mock numbers its ids with one counter, so the two runs differ
only there. Every gateway call sends `X-Llmtrace-Session-Id: <scenario>`,
`X-Llmtrace-User-Id: gateway-user` and `X-Llmtrace-Service: gateway-app`, so the test finds the
scenario's trace by session.

Scenarios: anthropic-plain, anthropic-stream, anthropic-tool, anthropic-fail (model
`claude-fail`, HTTP 400), openai-chat, openai-stream (`include_usage`), openai-tool,
openai-responses, openai-embeddings (two inputs), openai-fail (model `gpt-fail`), and traceparent:
an app span `app.request` of an OTel TracerProvider exporting to llmtrace, whose context is
injected (W3C `traceparent`) into the headers of one anthropic call through the gateway.

The anthropic SDK's own OTel span is turned off (`ANTHROPIC_OPEN_TELEMETRY=false`): it would send
its own `traceparent` in place of the application's.

Prints one JSON line {"errors", "scenarios": {name: {"response_id", ...}}, "app_trace_id",
"app_span_id"}; `errors` lists every mismatch and every logged export error (a WARNING+ record
of the `opentelemetry` logger). Exits non-zero when `errors` is not empty.
"""

import json
import logging
import os
import sys
import traceback

os.environ["ANTHROPIC_OPEN_TELEMETRY"] = "false"

import anthropic  # noqa: E402
import openai  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.propagate import inject  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

ANTHROPIC_MODEL = "claude-sonnet-4-6"
OPENAI_MODEL = "gpt-4o"
EMBEDDING_MODEL = "text-embedding-3-small"
QUESTION = "What is the capital of France?"
ID_KEYS = {"id", "call_id", "tool_call_id", "tool_use_id"}

ANTHROPIC_TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "capital_of",
            "description": "The capital of a country.",
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


def strip_ids(value):
    """`value` with every id field (see `ID_KEYS`) removed, recursively."""
    if isinstance(value, dict):
        return {k: strip_ids(v) for k, v in value.items() if k not in ID_KEYS}
    if isinstance(value, list):
        return [strip_ids(v) for v in value]
    return value


def dump(model):
    return model.model_dump(mode="json")


def api_error(e):
    """What an SDK's `APIStatusError` carries that must pass through the gateway unchanged."""
    try:
        response_body = e.response.json()
    except ValueError:
        response_body = e.response.text
    return {
        "error_class": type(e).__name__,
        "status_code": e.status_code,
        "body": e.body,
        "message": e.message,
        "response_body": response_body,
    }


# Each scenario: (anthropic or openai client, extra headers) -> (comparable result, info).
# `info` is reported for the gateway run (the response id, the text, the status).


def anthropic_plain(client, headers):
    m = client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=200,
        messages=[{"role": "user", "content": QUESTION}],
        extra_headers=headers,
    )
    info = {"response_id": m.id, "text": m.content[0].text, "request_id": m._request_id}
    return dump(m), info


def anthropic_stream(client, headers):
    with client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=200,
        messages=[{"role": "user", "content": "And briefly?"}],
        extra_headers=headers,
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    result = {"text": text, "final": dump(final)}
    info = {
        "response_id": final.id,
        "text": text,
        "output_tokens": final.usage.output_tokens,
    }
    return result, info


def anthropic_tool(client, headers):
    m = client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=200,
        tools=ANTHROPIC_TOOLS,
        messages=[{"role": "user", "content": "What is the weather in the capital of France?"}],
        extra_headers=headers,
    )
    blocks = [b for b in m.content if b.type == "tool_use"]
    info = {
        "response_id": m.id,
        "stop_reason": m.stop_reason,
        "tool": blocks[0].name if blocks else None,
        "tool_input": blocks[0].input if blocks else None,
    }
    return dump(m), info


def anthropic_fail(client, headers):
    try:
        client.messages.create(
            model="claude-fail",
            max_tokens=200,
            messages=[{"role": "user", "content": QUESTION}],
            extra_headers=headers,
        )
    except anthropic.BadRequestError as e:
        err = api_error(e)
        return err, {"response_id": None, "status_code": e.status_code}
    raise AssertionError("claude-fail did not raise anthropic.BadRequestError")


def openai_chat(client, headers):
    c = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": QUESTION}],
        extra_headers=headers,
    )
    return dump(c), {"response_id": c.id, "text": c.choices[0].message.content}


def openai_stream(client, headers):
    chunks = list(
        client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "user", "content": "And briefly?"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=headers,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage if chunks else None
    info = {
        "response_id": chunks[0].id if chunks else None,
        "text": text,
        "chunks": len(chunks),
        "usage": dump(usage) if usage is not None else None,
    }
    return [dump(c) for c in chunks], info


def openai_tool(client, headers):
    c = client.chat.completions.create(
        model=OPENAI_MODEL,
        tools=OPENAI_TOOLS,
        messages=[{"role": "user", "content": QUESTION}],
        extra_headers=headers,
    )
    calls = c.choices[0].message.tool_calls or []
    info = {
        "response_id": c.id,
        "finish_reason": c.choices[0].finish_reason,
        "tool": calls[0].function.name if calls else None,
        "arguments": calls[0].function.arguments if calls else None,
    }
    return dump(c), info


def openai_responses(client, headers):
    r = client.responses.create(model=OPENAI_MODEL, input=QUESTION, extra_headers=headers)
    return dump(r), {"response_id": r.id, "text": r.output_text}


def openai_embeddings(client, headers):
    e = client.embeddings.create(
        model=EMBEDDING_MODEL,
        input=["Paris is the capital of France.", "Berlin is the capital of Germany."],
        extra_headers=headers,
    )
    info = {"response_id": None, "vectors": len(e.data), "prompt_tokens": e.usage.prompt_tokens}
    return dump(e), info


def openai_fail(client, headers):
    try:
        client.chat.completions.create(
            model="gpt-fail",
            messages=[{"role": "user", "content": QUESTION}],
            extra_headers=headers,
        )
    except openai.BadRequestError as e:
        return api_error(e), {"response_id": None, "status_code": e.status_code}
    raise AssertionError("gpt-fail did not raise openai.BadRequestError")


SCENARIOS = [
    ("anthropic-plain", "anthropic", anthropic_plain),
    ("anthropic-stream", "anthropic", anthropic_stream),
    ("anthropic-tool", "anthropic", anthropic_tool),
    ("anthropic-fail", "anthropic", anthropic_fail),
    ("openai-chat", "openai", openai_chat),
    ("openai-stream", "openai", openai_stream),
    ("openai-tool", "openai", openai_tool),
    ("openai-responses", "openai", openai_responses),
    ("openai-embeddings", "openai", openai_embeddings),
    ("openai-fail", "openai", openai_fail),
]


def llmtrace_headers(scenario):
    return {
        "X-Llmtrace-Session-Id": scenario,
        "X-Llmtrace-User-Id": "gateway-user",
        "X-Llmtrace-Service": "gateway-app",
    }


def first_difference(a, b, path="$"):
    """Where `a` and `b` first differ, for the error message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'gateway' if k in b else 'direct'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items directly, {len(b)} through the gateway"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if a != b:
        return f"{path}: {a!r} directly, {b!r} through the gateway"
    return None


def run_scenario(name, fn, direct, gateway, headers, errors):
    """Runs `fn` directly and through the gateway; returns the gateway run's info."""
    try:
        direct_result, _ = fn(direct, {})
        gateway_result, info = fn(gateway, headers)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        errors.append(f"{name}: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        return {"response_id": None, "failed": True}
    if strip_ids(direct_result) != strip_ids(gateway_result):
        diff = first_difference(strip_ids(direct_result), strip_ids(gateway_result))
        errors.append(f"{name}: the gateway changed the SDK result: {diff}")
    return info


def check_info(name, info, errors):
    """The gateway run's own results, against the mock's documented answers."""
    expected = {
        "anthropic-plain": {"text": "Paris is the capital of France."},
        "anthropic-stream": {"text": "Paris is the capital.", "output_tokens": 20},
        "anthropic-tool": {"stop_reason": "tool_use", "tool": "get_weather",
                           "tool_input": {"city": "Paris"}},
        "anthropic-fail": {"status_code": 400},
        "openai-chat": {"text": "Paris."},
        "openai-stream": {"text": "Paris is the capital."},
        "openai-tool": {"finish_reason": "tool_calls", "tool": "capital_of",
                        "arguments": json.dumps({"country": "Paris"})},
        "openai-responses": {"text": "Paris is the capital of France."},
        "openai-embeddings": {"vectors": 2, "prompt_tokens": 16},
        "openai-fail": {"status_code": 400},
        "traceparent": {"text": "Paris is the capital of France."},
    }[name]
    for k, v in expected.items():
        if info.get(k) != v:
            errors.append(f"{name}: {k} is {info.get(k)!r}, expected {v!r}")
    if name == "openai-stream":
        usage = info.get("usage") or {}
        got = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
        if got != (90, 25):
            errors.append(f"{name}: include_usage chunk {usage!r}")
    if name in ("anthropic-plain", "traceparent"):
        # The mock's `request-id` header came back through the gateway.
        if not str(info.get("request_id") or "").startswith("req_"):
            errors.append(f"{name}: no request-id response header: {info.get('request_id')!r}")


def main():
    mock = os.environ["MOCK_URL"].rstrip("/")
    gateway_base = os.environ["GATEWAY_URL"].rstrip("/")
    otlp = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/")
    key = os.environ["PROVIDER_KEY"]

    log = ErrorLog()
    logging.getLogger("opentelemetry").addHandler(log)
    errors = []

    clients = {
        "anthropic": (
            anthropic.Anthropic(base_url=mock, api_key=key, max_retries=0),
            anthropic.Anthropic(
                base_url=f"{gateway_base}/gateway/anthropic", api_key=key, max_retries=0
            ),
        ),
        "openai": (
            openai.OpenAI(base_url=f"{mock}/v1", api_key=key, max_retries=0),
            openai.OpenAI(
                base_url=f"{gateway_base}/gateway/openai/v1", api_key=key, max_retries=0
            ),
        ),
    }

    scenarios = {}
    for name, api, fn in SCENARIOS:
        direct, gateway = clients[api]
        info = run_scenario(name, fn, direct, gateway, llmtrace_headers(name), errors)
        if not info.get("failed"):
            check_info(name, info, errors)
        scenarios[name] = info

    # traceparent: the gateway span joins the application's trace. The provider is not made
    # global, so nothing but this span is exported.
    provider = TracerProvider(resource=Resource.create({"service.name": "gateway-driver"}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp}/v1/traces"))
    )
    tracer = provider.get_tracer("gateway-driver")
    span = tracer.start_span("app.request")
    carrier = {}
    inject(carrier, context=trace.set_span_in_context(span))
    if "traceparent" not in carrier:
        errors.append(f"traceparent: inject() set no traceparent: {carrier!r}")
    headers = {**carrier, **llmtrace_headers("traceparent")}
    direct, gateway = clients["anthropic"]
    info = run_scenario("traceparent", anthropic_plain, direct, gateway, headers, errors)
    span.end()
    if not info.get("failed"):
        check_info("traceparent", info, errors)
    info["traceparent"] = carrier.get("traceparent")
    scenarios["traceparent"] = info
    ctx = span.get_span_context()
    if not provider.force_flush(30_000):
        errors.append("traceparent: the app span was not flushed within 30 s")
    provider.shutdown()

    errors.extend(log.records)
    out = {
        "errors": errors,
        "scenarios": scenarios,
        "app_trace_id": format(ctx.trace_id, "032x"),
        "app_span_id": format(ctx.span_id, "016x"),
    }
    print(json.dumps(out))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
