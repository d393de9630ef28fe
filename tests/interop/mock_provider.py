"""A deterministic mock of the Anthropic and OpenAI HTTP APIs for the interop tests (stdlib only).

Usage: mock_provider.py PORT

Answers:
* Anthropic `POST /v1/messages`: model claude-sonnet-4-6, usage input_tokens 120, output_tokens 45,
  cache_read_input_tokens 30, cache_creation_input_tokens 10 (all 5-minute). With `"stream": true`
  it answers SSE (message_start, content_block_start/delta/stop, message_delta, message_stop) with
  output 20 in message_delta (message_start reports output 1, as the real API does).
* OpenAI `POST /v1/chat/completions`: model gpt-4o-2024-08-06, usage prompt_tokens 90 (40 of them
  cached), completion_tokens 25.
  A request that offers function `tools` and carries no `tool` role message yet is answered with
  one `tool_calls` entry calling the first tool (every required string argument "Paris",
  finish_reason `tool_calls`); otherwise with "Paris.". With `"stream": true` it answers SSE
  chunks ("Paris is " + "the capital.", finish_reason `stop`) and, when
  `stream_options.include_usage` is set, a final chunk with empty choices and the same usage,
  then `data: [DONE]`.
* Anthropic tool round trip (non-streaming only): a request that offers `tools` and carries no
  `tool_result` block yet is answered with one `tool_use` block calling the first tool (every
  required string argument set to "Paris", stop_reason `tool_use`); once a `tool_result` is sent
  back, the usual text answer. Same usage as above on both turns.
* OpenAI `POST /v1/responses` (Responses API, non-streaming only): model gpt-4o-2024-08-06, usage
  input_tokens 90 (input_tokens_details.cached_tokens 40), output_tokens 25. A request that offers
  function `tools` and carries no `function_call_output` input item yet is answered with one
  `function_call` output item calling the first function tool (every required string argument
  set to "Paris"); otherwise with an assistant message "Paris is the capital of France.".

* OpenAI `POST /v1/embeddings`: model text-embedding-3-small, one 8-dimension vector per input
  string (float, or base64 with `"encoding_format": "base64"`), usage prompt_tokens 8 per input.
* A failing call: any request whose `model` contains `fail` is answered with HTTP 400 in the
  provider's error shape (Anthropic `invalid_request_error` on `/v1/messages`, OpenAI
  `invalid_request_error` elsewhere); SDKs do not retry a 400.
* A flaky model: the first two requests naming a model that contains `flaky` are answered with
  HTTP 500 (`api_error`), which SDKs retry; later ones as usual.
* A down model: every request naming a model that contains `down` is answered with HTTP 500.
* Learned replies: `POST /mock/learn` with `{"contains": "...", "reply": "..."}` makes later
  non-streaming chat completion and Anthropic message requests that carry a string containing
  `contains` (anywhere in the body) answer `reply` as their text (with the usual usage and a
  unique id); the latest learned match wins. `GET /mock/requests` returns
  `{"by_model": {model: count}}`, the POST requests received per `model`.

Prints `READY <port>` on stdout once it listens, then serves until killed.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANTHROPIC_MODEL = "claude-sonnet-4-6"
OPENAI_MODEL = "gpt-4o-2024-08-06"
ANTHROPIC_USAGE = {
    "input_tokens": 120,
    "output_tokens": 45,
    "cache_read_input_tokens": 30,
    "cache_creation_input_tokens": 10,
    "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0},
    "service_tier": "standard",
}
STREAM_OUTPUT_TOKENS = 20
EMBEDDING_MODEL = "text-embedding-3-small"
EMBEDDING_TOKENS_PER_INPUT = 8
EMBEDDING_DIMENSIONS = 8
CHAT_USAGE = {
    "prompt_tokens": 90,
    "completion_tokens": 25,
    "total_tokens": 115,
    "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}

_counter = 0
_lock = threading.Lock()


def next_id(prefix):
    global _counter
    with _lock:
        _counter += 1
        return f"{prefix}{_counter:024d}"


_flaky = {}
_learned = []
_requests = {}


def _strings(value):
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _learned_reply(body):
    """The reply learned for a request carrying the learned substring, if any (latest first)."""
    with _lock:
        learned = list(_learned)
    strings = list(_strings(body))
    for contains, reply in reversed(learned):
        if any(contains in s for s in strings):
            return reply
    return None


def _flaky_attempt(model):
    """How many requests named `model` so far, this one included."""
    with _lock:
        _flaky[model] = _flaky.get(model, 0) + 1
        return _flaky[model]


def _tool_use(body):
    """The `tool_use` block answering a request that offers tools and has no tool_result yet."""
    tools = body.get("tools") or []
    if not tools:
        return None
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return None
    tool = tools[0]
    schema = tool.get("input_schema") or {}
    props = schema.get("properties") or {}
    args = {
        name: "Paris"
        for name in schema.get("required") or []
        if (props.get(name) or {}).get("type") == "string"
    }
    return {"type": "tool_use", "id": next_id("toolu_"), "name": tool["name"], "input": args}


def _function_call(body):
    """The Responses `function_call` item answering a request that offers function tools and has
    no `function_call_output` input item yet."""
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if not tools:
        return None
    items = body.get("input")
    if isinstance(items, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call_output" for i in items
    ):
        return None
    tool = tools[0]
    schema = tool.get("parameters") or {}
    props = schema.get("properties") or {}
    args = {
        name: "Paris"
        for name in schema.get("required") or []
        if (props.get(name) or {}).get("type") == "string"
    }
    return {
        "type": "function_call",
        "id": next_id("fc_"),
        "call_id": next_id("call_"),
        "name": tool["name"],
        "arguments": json.dumps(args),
        "status": "completed",
    }


def _chat_tool_call(body):
    """The chat completion `tool_calls` entry answering a request that offers function tools and
    has no `tool` role message yet."""
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if not tools:
        return None
    if any(isinstance(m, dict) and m.get("role") == "tool" for m in body.get("messages") or []):
        return None
    fn = tools[0].get("function") or {}
    schema = fn.get("parameters") or {}
    props = schema.get("properties") or {}
    args = {
        name: "Paris"
        for name in schema.get("required") or []
        if (props.get(name) or {}).get("type") == "string"
    }
    return {
        "id": next_id("call_"),
        "type": "function",
        "function": {"name": fn["name"], "arguments": json.dumps(args)},
    }


def _response(body):
    """A non-streaming Responses API answer (see the module docstring)."""
    call = _function_call(body)
    item = call or {
        "type": "message",
        "id": next_id("msg_"),
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": "Paris is the capital of France.", "annotations": []}
        ],
    }
    return {
        "id": next_id("resp_"),
        "object": "response",
        "created_at": 1764000000,
        "status": "completed",
        "model": OPENAI_MODEL,
        "output": [item],
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "temperature": 1.0,
        "top_p": 1.0,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": {},
        "usage": {
            "input_tokens": 90,
            "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 25,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 115,
        },
    }


def _embeddings(body):
    """An OpenAI embeddings answer: one vector per input string."""
    inputs = body.get("input")
    if not isinstance(inputs, list) or (inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    vector = [round(0.125 * (i + 1), 3) for i in range(EMBEDDING_DIMENSIONS)]
    if body.get("encoding_format") == "base64":
        import base64
        import struct

        encoded = base64.b64encode(struct.pack(f"<{EMBEDDING_DIMENSIONS}f", *vector)).decode()
        data = [{"object": "embedding", "index": i, "embedding": encoded}
                for i in range(len(inputs))]
    else:
        data = [{"object": "embedding", "index": i, "embedding": vector}
                for i in range(len(inputs))]
    tokens = EMBEDDING_TOKENS_PER_INPUT * len(inputs)
    return {
        "object": "list",
        "data": data,
        "model": EMBEDDING_MODEL,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _json(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self._json(200, {"ok": True})
        if self.path == "/mock/requests":
            with _lock:
                return self._json(200, {"by_model": dict(_requests)})
        self._json(404, {"error": {"type": "not_found_error", "message": self.path}})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        body = self._body()
        if path == "/mock/learn":
            with _lock:
                _learned.append((str(body.get("contains") or ""), str(body.get("reply") or "")))
            return self._json(200, {"ok": True})
        model = str(body.get("model") or "")
        with _lock:
            _requests[model] = _requests.get(model, 0) + 1
        if "fail" in model:
            return self._failure(path)
        if "flaky" in model and _flaky_attempt(model) <= 2:
            return self._json(
                500, {"type": "error", "error": {"type": "api_error", "message": "mock flake"}}
            )
        if "down" in model:
            return self._json(
                500, {"type": "error", "error": {"type": "api_error", "message": "mock outage"}}
            )
        learned = None if body.get("stream") else _learned_reply(body)
        if path == "/v1/embeddings":
            return self._json(200, _embeddings(body))
        if path == "/v1/messages":
            if body.get("stream"):
                return self._anthropic_stream()
            tool_use = _tool_use(body)
            return self._json(
                200,
                {
                    "id": next_id("msg_"),
                    "type": "message",
                    "role": "assistant",
                    "model": ANTHROPIC_MODEL,
                    "content": [tool_use]
                    if tool_use
                    else [{"type": "text", "text": learned or "Paris is the capital of France."}],
                    "stop_reason": "tool_use" if tool_use else "end_turn",
                    "stop_sequence": None,
                    "usage": ANTHROPIC_USAGE,
                },
                {"request-id": next_id("req_")},
            )
        if path == "/v1/chat/completions":
            if body.get("stream"):
                return self._chat_stream(body)
            call = _chat_tool_call(body)
            message = (
                {"role": "assistant", "content": None, "tool_calls": [call]}
                if call
                else {"role": "assistant", "content": learned or "Paris."}
            )
            return self._json(
                200,
                {
                    "id": next_id("chatcmpl-"),
                    "object": "chat.completion",
                    "created": 1764000000,
                    "model": OPENAI_MODEL,
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if call else "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": CHAT_USAGE,
                    "system_fingerprint": "fp_mock",
                },
            )
        if path == "/v1/responses":
            return self._json(200, _response(body))
        self._json(404, {"error": {"type": "not_found_error", "message": path}})

    def _failure(self, path):
        """HTTP 400 in the provider's error shape (never retried by the SDKs)."""
        message = "mock failure: the model name asks for it"
        if path == "/v1/messages":
            return self._json(
                400,
                {"type": "error", "error": {"type": "invalid_request_error", "message": message}},
            )
        return self._json(
            400,
            {"error": {"message": message, "type": "invalid_request_error",
                       "param": "model", "code": "mock_failure"}},
        )

    def _chat_stream(self, body):
        """SSE chat completion: role chunk, two content deltas, a finish chunk and, with
        `stream_options.include_usage`, a final chunk with empty choices and the usage."""
        chunk_id = next_id("chatcmpl-")

        def chunk(choices, usage=None):
            c = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": 1764000000,
                "model": OPENAI_MODEL,
                "system_fingerprint": "fp_mock",
                "choices": choices,
            }
            if usage is not None:
                c["usage"] = usage
            return c

        def delta(d, finish=None):
            return [{"index": 0, "delta": d, "finish_reason": finish, "logprobs": None}]

        chunks = [
            chunk(delta({"role": "assistant", "content": ""})),
            chunk(delta({"content": "Paris is "})),
            chunk(delta({"content": "the capital."})),
            chunk(delta({}, "stop")),
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append(chunk([], CHAT_USAGE))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for c in chunks:
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _anthropic_stream(self):
        msg_id = next_id("msg_")
        start_usage = dict(ANTHROPIC_USAGE, output_tokens=1)
        events = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": ANTHROPIC_MODEL,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": "Paris is "}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": "the capital."}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": STREAM_OUTPUT_TOKENS},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
