"""A loopback capture server standing in for llmtrace while recording what LiteLLM's callbacks
send (stdlib + `opentelemetry-proto` from the venv).

Usage: capture.py PORT OUT_DIR
       capture.py --merge OUT_DIR FIXTURE

`--merge` writes what OUT_DIR captured as one fixture file: the OTLP requests merged into one
ExportTraceServiceRequest {"resourceSpans": [...]}, or, when only ingestion batches came,
{"batches": [...]} (their bodies in arrival order); pretty-printed.

Serves:
* `POST /v1/traces` and `POST /api/public/otel/v1/traces`: OTLP/HTTP protobuf (gzip or not),
  answered 200 with an empty ExportTraceServiceResponse; each request is decoded to OTLP/JSON
  (the proto3 JSON mapping as OTLP/JSON specifies it: camelCase names, int64 as strings, enums
  as integers, traceId/spanId/parentSpanId as lowercase hex) and appended to
  OUT_DIR/traces.jsonl as {"path", "headers", "body"}.
* `POST /api/public/ingestion`: Langfuse batch JSON, answered 207 with one 201 success per event;
  appended as-is to OUT_DIR/ingestion.jsonl as {"path", "headers", "body"}.
* `GET /api/public/health` and `GET /api/public/projects`: plausible Langfuse answers.
* Anything else: 404, logged to OUT_DIR/other.jsonl.
Every request's method and path is also appended to OUT_DIR/requests.jsonl.

Only a few request headers are kept (content type and encoding, user agent, the Langfuse
ingestion version and SDK headers, and the scheme of Authorization with the decoded public key).

Prints `READY <port>` on stdout once it listens, then serves until killed.
"""

import base64
import gzip
import json
import os
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

OUT_DIR = "."
_lock = threading.Lock()
KEPT_HEADERS = (
    "content-type",
    "content-encoding",
    "user-agent",
    "x-langfuse-ingestion-version",
    "x-langfuse-sdk-name",
    "x-langfuse-sdk-version",
    "x-langfuse-public-key",
)


def _hex_ids(node):
    """Rewrites base64 traceId/spanId/parentSpanId (proto3 JSON bytes) to lowercase hex, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


def _append(name, record):
    with _lock, open(os.path.join(OUT_DIR, name), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _headers(self):
        kept = {k: v for k, v in self.headers.items() if k.lower() in KEPT_HEADERS}
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, cred = auth.partition(" ")
            kept["authorization"] = scheme
            if scheme.lower() == "basic":
                try:
                    kept["authorization-public-key"] = (
                        base64.b64decode(cred).decode().partition(":")[0]
                    )
                except Exception:
                    kept["authorization-public-key"] = "<undecodable>"
        return kept

    def _body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        return raw

    def _send(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        _append("requests.jsonl", {"method": "GET", "path": self.path})
        if path == "/api/public/health":
            self._send(200, json.dumps({"status": "OK", "version": "3.0.0"}).encode())
        elif path == "/api/public/projects":
            self._send(200, json.dumps({"data": [{"id": "default", "name": "default"}]}).encode())
        else:
            _append("other.jsonl", {"method": "GET", "path": self.path, "headers": self._headers()})
            self._send(404, b'{"error":"not found"}')

    def do_POST(self):
        path = self.path.split("?")[0]
        raw = self._body()
        _append("requests.jsonl", {"method": "POST", "path": self.path, "size": len(raw)})
        if path in ("/v1/traces", "/api/public/otel/v1/traces"):
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" in ctype:
                body = _hex_ids(json.loads(raw))
                answer, answer_type = b"{}", "application/json"
            else:
                req = ExportTraceServiceRequest()
                req.ParseFromString(raw)
                body = _hex_ids(MessageToDict(req, use_integers_for_enums=True))
                answer = ExportTraceServiceResponse().SerializeToString()
                answer_type = "application/x-protobuf"
            _append("traces.jsonl", {"path": path, "headers": self._headers(), "body": body})
            self._send(200, answer, answer_type)
        elif path == "/api/public/ingestion":
            body = json.loads(raw)
            _append("ingestion.jsonl", {"path": path, "headers": self._headers(), "body": body})
            ok = [{"id": e.get("id"), "status": 201} for e in body.get("batch", [])]
            self._send(207, json.dumps({"successes": ok, "errors": []}).encode())
        else:
            _append(
                "other.jsonl",
                {"method": "POST", "path": self.path, "headers": self._headers(), "size": len(raw)},
            )
            self._send(404, b'{"error":"not found"}')


def merge(out_dir, fixture):
    def records(name):
        path = os.path.join(out_dir, name)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line)["body"] for line in f if line.strip()]

    traces, batches = records("traces.jsonl"), records("ingestion.jsonl")
    if traces:
        merged = {"resourceSpans": [rs for body in traces for rs in body.get("resourceSpans", [])]}
        if batches:
            sys.exit(f"{out_dir} holds both OTLP requests and ingestion batches")
    else:
        merged = {"batches": batches}
    with open(fixture, "w", encoding="utf-8") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")


def main():
    global OUT_DIR
    if sys.argv[1] == "--merge":
        merge(sys.argv[2], sys.argv[3])
        return
    port = int(sys.argv[1])
    OUT_DIR = sys.argv[2]
    os.makedirs(OUT_DIR, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
