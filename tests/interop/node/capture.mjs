// Capture what the Node drivers actually send and store it as ingest test fixtures.
//
// Usage: node capture.mjs [FIXTURES_DIR]
//   FIXTURES_DIR defaults to crates/llmtrace-ingest/tests/fixtures of this repository.
//
// Starts tests/interop/mock_provider.py and a loopback OTLP/HTTP JSON receiver (POST /v1/traces),
// then runs, one after the other and with CAPTURE_JSON=1 (the drivers export OTLP/JSON):
//   ai_sdk.mjs new     -> ai_sdk7/new.json            + ai_sdk7/new.driver.json
//   ai_sdk.mjs legacy  -> ai_sdk7/legacy.json         + ai_sdk7/legacy.driver.json
//   openllmetry.mjs    -> openllmetry_node/openllmetry.json + openllmetry_node/openllmetry.driver.json
// Each <name>.json merges the export requests of one run into one {"resourceSpans": [...]};
// <name>.driver.json is the driver's JSON line. The receiver checks that every request carries
// `Authorization: Basic base64(pk-node:sk-node)` and that trace and span ids are lowercase hex.
// Prints each run's span tree and wall time; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const fixtures = path.resolve(process.argv[2] ?? path.join(repo, 'crates/llmtrace-ingest/tests/fixtures'));
const PUBLIC_KEY = 'pk-node';
const SECRET_KEY = 'sk-node';
const AUTH = `Basic ${Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64')}`;

function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.join(here, '..', 'mock_provider.py'), '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', chunk => {
      out += chunk;
      const m = out.match(/READY (\d+)/);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.on('exit', code => reject(new Error(`mock provider exited with ${code}`)));
  });
}

let bucket = null;
const problems = [];
function startReceiver() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !type.startsWith('application/json')) {
        problems.push(`unexpected request ${req.method} ${req.url} (${type})`);
        res.writeHead(415).end();
        return;
      }
      if (req.headers.authorization !== AUTH) {
        problems.push(`wrong Authorization header: ${req.headers.authorization}`);
      }
      if (bucket == null) problems.push('export request outside a driver run');
      else bucket.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}` }),
    ),
  );
}

function runDriver(args) {
  return new Promise(resolve => {
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: here,
      env: { ...process.env, CAPTURE_JSON: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', chunk => (stdout += chunk));
    child.stderr.on('data', chunk => (stderr += chunk));
    child.on('exit', code => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

const HEX = { traceId: /^[0-9a-f]{32}$/, spanId: /^[0-9a-f]{16}$/, parentSpanId: /^([0-9a-f]{16})?$/ };
function checkIds(merged, label) {
  for (const rs of merged.resourceSpans) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        for (const [key, re] of Object.entries(HEX)) {
          if (span[key] != null && !re.test(span[key])) {
            problems.push(`${label}: span ${span.name} has ${key} ${JSON.stringify(span[key])}`);
          }
        }
      }
    }
  }
}

function spanTree(merged) {
  const spans = merged.resourceSpans.flatMap(rs =>
    (rs.scopeSpans ?? []).flatMap(ss => (ss.spans ?? []).map(s => ({ ...s, scope: ss.scope?.name }))),
  );
  const ids = new Set(spans.map(s => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  const lines = [];
  const walk = (parent, depth) => {
    for (const s of children.get(parent) ?? []) {
      const status = s.status?.code === 2 ? ' [ERROR]' : '';
      lines.push(`${'  '.repeat(depth)}${s.name} (kind ${s.kind}, scope ${s.scope})${status}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 1);
  return lines.join('\n');
}

const runs = [
  { dir: 'ai_sdk7', name: 'new', script: 'ai_sdk.mjs', args: ['new'] },
  { dir: 'ai_sdk7', name: 'legacy', script: 'ai_sdk.mjs', args: ['legacy'] },
  { dir: 'openllmetry_node', name: 'openllmetry', script: 'openllmetry.mjs', args: [] },
];

const mock = await startMock();
const receiver = await startReceiver();
let failed = false;
try {
  for (const run of runs) {
    bucket = [];
    const result = await runDriver([
      run.script,
      ...run.args,
      mock.url,
      receiver.url,
      PUBLIC_KEY,
      SECRET_KEY,
    ]);
    const requests = bucket;
    bucket = null;
    const label = `${run.dir}/${run.name}`;
    if (result.code !== 0) {
      failed = true;
      console.error(`${label}: driver exited with ${result.code}\n${result.stderr}${result.stdout}`);
      continue;
    }
    const merged = { resourceSpans: requests.flatMap(r => r.resourceSpans ?? []) };
    checkIds(merged, label);
    const driverLine = JSON.parse(result.stdout.trim().split('\n').pop());
    mkdirSync(path.join(fixtures, run.dir), { recursive: true });
    writeFileSync(path.join(fixtures, run.dir, `${run.name}.json`), `${JSON.stringify(merged, null, 2)}\n`);
    writeFileSync(
      path.join(fixtures, run.dir, `${run.name}.driver.json`),
      `${JSON.stringify(driverLine, null, 2)}\n`,
    );
    const spanCount = merged.resourceSpans.reduce(
      (n, rs) => n + (rs.scopeSpans ?? []).reduce((m, ss) => m + (ss.spans ?? []).length, 0),
      0,
    );
    console.log(`${label}: ${result.ms} ms, ${requests.length} export request(s), ${spanCount} spans`);
    console.log(spanTree(merged));
    if (result.stderr.trim()) console.log(`  stderr: ${result.stderr.trim().split('\n').join('\n  stderr: ')}`);
  }
} finally {
  receiver.server.close();
  mock.child.removeAllListeners('exit');
  mock.child.kill();
}
for (const p of problems) console.error(`problem: ${p}`);
process.exit(failed || problems.length > 0 ? 1 : 0);
