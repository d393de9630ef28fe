// Drive the Vercel AI SDK 7 against the mock provider and export its OpenTelemetry spans to llmtrace.
//
// Usage: node ai_sdk.mjs FORMAT MOCK_URL LLMTRACE_URL PUBLIC_KEY SECRET_KEY
//
// FORMAT selects the @ai-sdk/otel integration registered with `registerTelemetry`:
//   new    -> `OpenTelemetry({ runtimeContext: true })`: GenAI semconv spans (`invoke_agent {model}`,
//             `step N`, `chat {model}`, `execute_tool {tool}`, `embeddings {model}`);
//             `runtimeContext: true` turns on the supplemental `ai.settings.context.*` attributes.
//   legacy -> `LegacyOpenTelemetry()`: `ai.generateText` / `ai.generateText.doGenerate` / `ai.toolCall` ...
//             spans; it always writes `ai.settings.context.*`.
// Telemetry is on by default in AI SDK 7 once an integration is registered. User and session travel
// in `runtimeContext` and reach telemetry only for the keys named in `telemetry.includeRuntimeContext`.
//
// Calls, each with runtimeContext { userId: "user-node-1", sessionId: "sess-node-1" }:
//   generate  generateText, Anthropic claude-sonnet-4-6
//   stream    streamText, Anthropic claude-sonnet-4-6, consumed fully
//   tools     generateText, OpenAI chat gpt-4o, one tool, stopWhen stepCountIs(3)
//   embed     embed, OpenAI text-embedding-3-small
//   fail      generateText, Anthropic claude-fail-1 (the mock answers 400; default maxRetries,
//             a 400 is not retried: `requests` shows the HTTP requests the call made)
//   retry     only with AI_SDK_ONLY=retry: generateText on claude-sonnet-4-6-flaky, whose first
//             two requests the mock answers 500; the SDK retries and succeeds (3 requests)
//
// Spans go through a BatchSpanProcessor to LLMTRACE_URL/v1/traces as OTLP/HTTP protobuf with
// `Authorization: Basic base64(PUBLIC_KEY:SECRET_KEY)`; with CAPTURE_JSON=1 as OTLP/HTTP JSON.
// Prints one JSON line {"format", "calls": [{name, usage, response_id, error, requests, ...}],
// "exported_spans", "errors" (export failures)} and exits 1 when an export failed or a call other
// than `fail` failed.

import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { embed, generateText, registerTelemetry, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

const USER_ID = 'user-node-1';
const SESSION_ID = 'sess-node-1';

const [format, mockUrl, llmtraceUrl, publicKey, secretKey] = process.argv.slice(2);
if (!['new', 'legacy'].includes(format) || !mockUrl || !llmtraceUrl || !publicKey || !secretKey) {
  console.error('usage: node ai_sdk.mjs new|legacy MOCK_URL LLMTRACE_URL PUBLIC_KEY SECRET_KEY');
  process.exit(2);
}

// --- OpenTelemetry: one tracer provider, registered globally (the AI SDK integrations use the global
// tracer: scope "gen_ai" for OpenTelemetry, "ai" for LegacyOpenTelemetry).
const exportState = { spans: 0, errors: [] };
const Exporter = process.env.CAPTURE_JSON === '1' ? JsonTraceExporter : ProtoTraceExporter;
const inner = new Exporter({
  url: `${llmtraceUrl.replace(/\/$/, '')}/v1/traces`,
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
const provider = new NodeTracerProvider({
  resource: defaultResource().merge(
    resourceFromAttributes({ 'service.name': `ai-sdk-interop-${format}` }),
  ),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
provider.register();

registerTelemetry(
  format === 'new' ? new OpenTelemetry({ runtimeContext: true }) : new LegacyOpenTelemetry(),
);

// --- Providers against the mock; a counting fetch tells how many HTTP requests each call made.
let requests = 0;
const countingFetch = (input, init) => {
  requests += 1;
  return fetch(input, init);
};
const anthropic = createAnthropic({
  baseURL: `${mockUrl.replace(/\/$/, '')}/v1`,
  apiKey: 'mock-key',
  fetch: countingFetch,
});
const openai = createOpenAI({
  baseURL: `${mockUrl.replace(/\/$/, '')}/v1`,
  apiKey: 'mock-key',
  fetch: countingFetch,
});

const context = {
  runtimeContext: { userId: USER_ID, sessionId: SESSION_ID },
};
const telemetry = functionId => ({
  functionId,
  includeRuntimeContext: { userId: true, sessionId: true },
});

function describeError(error) {
  return {
    name: error?.name,
    message: error?.message,
    status_code: error?.statusCode ?? null,
    is_retryable: error?.isRetryable ?? null,
  };
}

// AI_SDK_ONLY=NAME runs that call alone; `retry` (run only that way) is a generateText whose
// first two provider requests the mock answers 500 (model `claude-sonnet-4-6-flaky`): the SDK
// retries inside its one span (default maxRetries 2, waiting 2 s then 4 s).
const only = process.env.AI_SDK_ONLY;
const calls = [];
async function run(name, body) {
  if (only ? only !== name : name === 'retry') return;
  const before = requests;
  const started = Date.now();
  const entry = { name, usage: null, response_id: null, error: null };
  try {
    Object.assign(entry, await body());
  } catch (error) {
    entry.error = describeError(error);
  }
  entry.requests = requests - before;
  entry.ms = Date.now() - started;
  calls.push(entry);
}

await run('generate', async () => {
  const result = await generateText({
    model: anthropic('claude-sonnet-4-6'),
    prompt: 'What is the capital of France?',
    ...context,
    telemetry: telemetry('node-generate'),
  });
  return { usage: result.usage, response_id: result.response.id, text: result.text };
});

await run('stream', async () => {
  const result = streamText({
    model: anthropic('claude-sonnet-4-6'),
    prompt: 'What is the capital of France?',
    ...context,
    telemetry: telemetry('node-stream'),
  });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  const [usage, response] = await Promise.all([result.usage, result.response]);
  return { usage, response_id: response.id, text };
});

await run('tools', async () => {
  const result = await generateText({
    model: openai.chat('gpt-4o'),
    prompt: 'What is the weather in Paris?',
    tools: {
      get_weather: tool({
        description: 'Get the current weather in a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
      }),
    },
    stopWhen: stepCountIs(3),
    ...context,
    telemetry: telemetry('node-tools'),
  });
  return {
    usage: result.totalUsage,
    response_id: result.response.id,
    text: result.text,
    steps: result.steps.map(step => ({
      finish_reason: step.finishReason,
      usage: step.usage,
      response_id: step.response.id,
      tool_calls: step.toolCalls.map(call => ({ name: call.toolName, input: call.input })),
    })),
  };
});

await run('embed', async () => {
  const result = await embed({
    model: openai.embedding('text-embedding-3-small'),
    value: 'sunny day at the beach',
    ...context,
    telemetry: telemetry('node-embed'),
  });
  return {
    usage: result.usage,
    response_id: result.response?.id ?? null,
    dimensions: result.embedding.length,
  };
});

await run('fail', async () => {
  await generateText({
    model: anthropic('claude-fail-1'),
    prompt: 'This call fails.',
    ...context,
    telemetry: telemetry('node-fail'),
  });
  return { error: { name: 'none', message: 'the failing call did not fail' } };
});

await run('retry', async () => {
  const result = await generateText({
    model: anthropic('claude-sonnet-4-6-flaky'),
    prompt: 'What is the capital of France?',
    ...context,
    telemetry: telemetry('node-retry'),
  });
  return { usage: result.usage, response_id: result.response.id, text: result.text };
});

await provider.forceFlush();
await provider.shutdown();

console.log(
  JSON.stringify({
    format,
    calls,
    exported_spans: exportState.spans,
    errors: exportState.errors,
  }),
);

const unexpected = calls.filter(c => (c.name === 'fail') !== (c.error != null));
process.exit(exportState.errors.length > 0 || unexpected.length > 0 ? 1 : 0);
