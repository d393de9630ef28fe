// Drive OpenLLMetry for Node (@traceloop/node-server-sdk) against the mock provider and export its
// OpenTelemetry spans to llmtrace.
//
// Usage: node openllmetry.mjs MOCK_URL LLMTRACE_URL PUBLIC_KEY SECRET_KEY
//
// The official `openai` and `@anthropic-ai/sdk` clients are instrumented explicitly through
// `instrumentModules` (the automatic require hook does not see ES module imports). Inside the
// workflow `node-openllmetry` (`withWorkflow`) and the association properties user_id
// "user-node-1" / session_id "sess-node-1" (`withAssociationProperties`) it makes two calls:
//   chat      openai.chat.completions.create, gpt-4o (usage prompt 90, 40 cached, completion 25)
//   messages  anthropic.messages.create, claude-sonnet-4-6 (input 120, cache read 30, cache write 10,
//             output 45)
// @anthropic-ai/sdk (0.137) also traces itself whenever a tracer provider is registered (scope
// `com.anthropic.sdk.typescript`, span `anthropic.messages.create`, a child of OpenLLMetry's
// `chat claude-sonnet-4-6`); it is left on, as in an app (`ANTHROPIC_OPEN_TELEMETRY=false` or the
// client option `openTelemetry: false` turns it off), so that call yields two CLIENT spans.
//
// Spans go through the SDK's batch processor to LLMTRACE_URL/v1/traces as OTLP/HTTP protobuf with
// `Authorization: Basic base64(PUBLIC_KEY:SECRET_KEY)`; with CAPTURE_JSON=1 as OTLP/HTTP JSON.
// Prints one JSON line {"sdk", "calls": [{name, usage, response_id, error}], "exported_spans",
// "errors" (export failures)} and exits 1 when a call or an export failed.

import * as AnthropicModule from '@anthropic-ai/sdk';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import * as traceloop from '@traceloop/node-server-sdk';
import OpenAI from 'openai';

const USER_ID = 'user-node-1';
const SESSION_ID = 'sess-node-1';

const [mockUrl, llmtraceUrl, publicKey, secretKey] = process.argv.slice(2);
if (!mockUrl || !llmtraceUrl || !publicKey || !secretKey) {
  console.error('usage: node openllmetry.mjs MOCK_URL LLMTRACE_URL PUBLIC_KEY SECRET_KEY');
  process.exit(2);
}
const mock = mockUrl.replace(/\/$/, '');
const server = llmtraceUrl.replace(/\/$/, '');

// The SDK would build the same protobuf exporter from `baseUrl` + `headers`; it is passed in here so
// that CAPTURE_JSON can swap in the JSON one and export failures are counted.
const exportState = { spans: 0, errors: [] };
const Exporter = process.env.CAPTURE_JSON === '1' ? JsonTraceExporter : ProtoTraceExporter;
const inner = new Exporter({
  url: `${server}/v1/traces`,
  headers: {
    Authorization: `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`,
  },
});
const exporter = {
  export(spans, done) {
    inner.export(spans, result => {
      if (result.code === 0) exportState.spans += spans.length;
      else exportState.errors.push(String(result.error?.message ?? result.error ?? 'export failed'));
      done(result);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};

traceloop.initialize({
  appName: 'openllmetry-node-interop',
  baseUrl: server,
  exporter,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
  instrumentModules: { openAI: OpenAI, anthropic: AnthropicModule },
});

const openai = new OpenAI({ baseURL: `${mock}/v1`, apiKey: 'mock-key', maxRetries: 0 });
const anthropic = new AnthropicModule.default({ baseURL: mock, apiKey: 'mock-key', maxRetries: 0 });

const calls = [];
async function run(name, body) {
  const entry = { name, usage: null, response_id: null, error: null };
  try {
    Object.assign(entry, await body());
  } catch (error) {
    entry.error = { name: error?.name, message: error?.message, status_code: error?.status ?? null };
  }
  calls.push(entry);
}

await traceloop.withAssociationProperties(
  {
    [traceloop.AssociationProperty.USER_ID]: USER_ID,
    [traceloop.AssociationProperty.SESSION_ID]: SESSION_ID,
  },
  () =>
    traceloop.withWorkflow({ name: 'node-openllmetry' }, async () => {
      await run('chat', async () => {
        const r = await openai.chat.completions.create({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'What is the capital of France?' }],
        });
        return { usage: r.usage, response_id: r.id, text: r.choices[0]?.message?.content };
      });
      await run('messages', async () => {
        const r = await anthropic.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 256,
          messages: [{ role: 'user', content: 'What is the capital of France?' }],
        });
        return { usage: r.usage, response_id: r.id, text: r.content[0]?.text };
      });
    }),
);

await traceloop.forceFlush();

console.log(
  JSON.stringify({
    sdk: 'openllmetry_node',
    calls,
    exported_spans: exportState.spans,
    errors: exportState.errors,
  }),
);
process.exit(exportState.errors.length > 0 || calls.some(c => c.error != null) ? 1 : 0);
