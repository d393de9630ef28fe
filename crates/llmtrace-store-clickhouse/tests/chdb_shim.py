# A minimal ClickHouse HTTP interface over chdb (embedded current ClickHouse), to run this crate's
# conformance suite against a modern engine without installing a server:
#
#   python3 -m venv /tmp/chdb-venv && /tmp/chdb-venv/bin/pip install chdb      # ~17 s, ~900 MB
#   /tmp/chdb-venv/bin/python tests/chdb_shim.py 18200 /tmp/chdb-session &
#   LLMTRACE_TEST_CLICKHOUSE_URL=http://127.0.0.1:18200 \
#       cargo test -j2 -p llmtrace-store-clickhouse --test conformance external
#
# Serves POST / with the SQL in the body (or `query` parameter plus data in the body, as for
# INSERT ... FORMAT JSONEachRow; a RowBinary body goes through a file, INSERT ... FROM INFILE);
# errors answer 500 with ClickHouse's "Code: N" text. URL settings are ignored (the modern
# defaults are what the store asks 18.16 for).
import sys, re, os, traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
from chdb import session

S = session.Session(sys.argv[2])

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def handle_one(self):
        u = urlparse(self.path)
        qs = parse_qs(u.query)
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        if u.path == '/ping':
            return self.reply(200, 'Ok.\n')
        q = qs.get('query', [''])[0]
        binary = re.match(r'(INSERT INTO .*) FORMAT RowBinary\s*$', q.strip(), re.S)
        if binary:
            path = os.path.join(sys.argv[2], 'insert.bin')
            with open(path, 'wb') as f:
                f.write(raw)
            sql = "%s FROM INFILE '%s' FORMAT RowBinary" % (binary.group(1), path)
        else:
            body = raw.decode()
            sql = (q + '\n' + body) if q else body
        fmt = 'JSONEachRow' if re.search(r'FORMAT\s+JSONEachRow\s*$', sql.strip()) else 'TSV'
        if fmt == 'JSONEachRow':
            sql = re.sub(r'FORMAT\s+JSONEachRow\s*$', '', sql.strip())
        try:
            r = S.query(sql, fmt)
            data = r.data() if r is not None else ''
            self.reply(200, data)
        except Exception as e:
            msg = str(e)
            m = re.search(r'Code: (\d+)', msg)
            code = m.group(1) if m else '1000'
            sys.stderr.write('ERR ' + msg[:500] + '\nSQL: ' + sql[:800] + '\n')
            self.reply(500, 'Code: %s. %s' % (code, msg))
    def do_POST(self): self.handle_one()
    def do_GET(self): self.handle_one()
    def reply(self, code, text):
        b = text.encode()
        self.send_response(code)
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)

HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
