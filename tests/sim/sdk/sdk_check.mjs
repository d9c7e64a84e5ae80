// The independent check of the emulator (issue 3): drive it with the official OpenAI and
// Anthropic Node SDKs and fail on any SDK error or any field whose JS type or value is not
// what the real service sends. Run by sim_sdk_check (sdk_check_driver.cc), which starts the
// emulator in-process with fault_plan.json and the lifecycle described there.
//
//   node sdk_check.mjs --base-url http://127.0.0.1:PORT --modules DIR/node_modules \
//                      --fault-plan tests/sim/sdk/fault_plan.json
//
// Exit status: 0 when every check passed, 1 on the first failure (with the reason), 2 on
// bad arguments or missing SDKs.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { File as BufferFile } from 'node:buffer';

// Node 18 (Debian bookworm's nodejs) has no global File; both SDKs name this polyfill.
if (typeof globalThis.File === 'undefined') globalThis.File = BufferFile;

const { values: args } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    modules: { type: 'string' },
    'fault-plan': { type: 'string' },
  },
});
for (const name of ['base-url', 'modules', 'fault-plan']) {
  if (!args[name]) {
    console.error(`usage: node sdk_check.mjs --base-url URL --modules DIR --fault-plan FILE`);
    process.exit(2);
  }
}
const baseUrl = args['base-url'].replace(/\/$/, '');

let OpenAI, toFile, Anthropic, openaiVersion, anthropicVersion;
try {
  const require = createRequire(path.join(path.resolve(args.modules), '..', 'package.json'));
  ({ OpenAI, toFile } = require('openai'));
  ({ Anthropic } = require('@anthropic-ai/sdk'));
  const versionOf = (name) =>
    JSON.parse(readFileSync(path.join(args.modules, name, 'package.json'), 'utf8')).version;
  openaiVersion = versionOf('openai');
  anthropicVersion = versionOf('@anthropic-ai/sdk');
} catch (error) {
  console.error(`sdk_check: cannot load the SDKs from ${args.modules}: ${error.message}`);
  console.error('sdk_check: run tests/sim/sdk/install_sdks.sh (npm ci) first');
  process.exit(2);
}

const plan = JSON.parse(readFileSync(args['fault-plan'], 'utf8'));

// ---------------------------------------------------------------------------------------
// Checking helpers: every failure throws a CheckError naming what was being checked.

class CheckError extends Error {}
let checks = 0;

function check(condition, what) {
  checks += 1;
  if (!condition) throw new CheckError(what);
}
function describe(value) {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
function eq(actual, expected, what) {
  check(actual === expected, `${what}: expected ${describe(expected)}, got ${describe(actual)}`);
}
// Objects compare by content; key order is not part of JSON's meaning.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])]));
  }
  return value;
}
function sameJson(actual, expected, what) {
  eq(JSON.stringify(canonical(actual)), JSON.stringify(canonical(expected)), what);
}
function isInt(value) {
  return typeof value === 'number' && Number.isInteger(value);
}
function expectString(value, what) {
  check(typeof value === 'string' && value.length > 0,
        `${what}: expected a non-empty string, got ${describe(value)}`);
}
function expectInt(value, what) {
  check(isInt(value), `${what}: expected an integer, got ${describe(value)}`);
}
function expectIntOrNull(value, what) {
  check(value === null || isInt(value),
        `${what}: expected an integer or null, got ${describe(value)}`);
}
function expectStringOrNull(value, what) {
  check(value === null || typeof value === 'string',
        `${what}: expected a string or null, got ${describe(value)}`);
}
function expectRfc3339(value, what) {
  check(typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) &&
            !Number.isNaN(Date.parse(value)),
        `${what}: expected an RFC 3339 UTC timestamp, got ${describe(value)}`);
}
function expectRfc3339OrNull(value, what) {
  if (value !== null) expectRfc3339(value, what);
}
// Runs `call`, which must reject with an SDK APIError of class `errorClass` and `status`.
async function expectApiError(call, errorClass, status, what) {
  let error = null;
  try {
    await call();
  } catch (caught) {
    error = caught;
  }
  check(error !== null, `${what}: expected an error, the call succeeded`);
  check(error instanceof errorClass,
        `${what}: expected ${errorClass.name}, got ${error?.constructor?.name}: ${error?.message}`);
  eq(error.status, status, `${what}: status`);
  expectString(error.requestID, `${what}: requestID (from the request id header)`);
  return error;
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
// Polls `fetch` until `done(value)`; bounded in real time.
async function pollUntil(fetchValue, done, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  const seen = [];
  for (;;) {
    const value = await fetchValue();
    seen.push(value);
    if (done(value)) return { value, seen };
    check(Date.now() < deadline, `${what}: not done after ${timeoutMs} ms`);
    await sleep(25);
  }
}
function parseJsonLines(text, what) {
  const lines = text.split('\n').filter((line) => line.length > 0);
  check(text.length === 0 || text.endsWith('\n'), `${what}: the file ends without a newline`);
  return lines.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (error) {
      throw new CheckError(`${what}: line ${i + 1} is not JSON: ${error.message}`);
    }
  });
}
function step(name) {
  console.log(`sdk_check: ${name}`);
}

// The fault plan this script assumes: fail fast with a clear message if it was edited.
const kAlwaysFail = {
  'fail-server': 'server_error', 'fail-invalid': 'invalid_request',
  'fail-ratelimit': 'rate_limit', 'fail-overloaded': 'overloaded', 'fail-timeout': 'timeout',
  'fail-expired': 'expired', filtered: 'content_filter',
};
function checkPlanAssumptions() {
  for (const [customId, kind] of Object.entries(kAlwaysFail)) {
    const entry = plan.request_faults?.always_fail?.find((e) => e.custom_id === customId);
    eq(entry?.kind, kind, `fault plan: request_faults.always_fail of ${customId}`);
  }
  check(plan.request_faults.rates === undefined, 'fault plan: no random request faults');
}
function requireBatchFault(api, kind, ordinal) {
  const found = plan.batch_faults.some((rule) => rule.api === api && rule.kind === kind &&
                                                 rule.batches.includes(ordinal));
  check(found, `fault plan: this script needs a ${kind} batch fault on ${api} batch ${ordinal}`);
}

// The requests of the main batches: successes, one score prompt, and one id per failure kind.
const kFailingIds = ['fail-server', 'fail-invalid', 'fail-ratelimit', 'fail-overloaded',
                     'fail-timeout', 'fail-expired'];
const kPrompts = new Map([
  ['ok-0', 'Paraphrase: the sum of two and two is four.'],
  ['ok-1', 'Paraphrase: seven is prime.'],
  ['ok-2', 'What is the capital of France?'],
  ['ok-score', 'Score this answer from 0 to 10: Paris is the capital of France.'],
  ['filtered', 'Paraphrase: something the filter stops.'],
  ...kFailingIds.map((id) => [id, `Paraphrase: request ${id}.`]),
]);

// ---------------------------------------------------------------------------------------
// OpenAI

function checkOpenAiFile(file, what, expected) {
  expectString(file.id, `${what}.id`);
  check(file.id.startsWith('file-'), `${what}.id starts with file-: ${file.id}`);
  eq(file.object, 'file', `${what}.object`);
  expectInt(file.bytes, `${what}.bytes`);
  expectInt(file.created_at, `${what}.created_at`);
  expectString(file.filename, `${what}.filename`);
  expectString(file.status, `${what}.status`);
  check(file.expires_at === undefined || file.expires_at === null || isInt(file.expires_at),
        `${what}.expires_at: integer, null or absent, got ${describe(file.expires_at)}`);
  for (const [key, value] of Object.entries(expected)) eq(file[key], value, `${what}.${key}`);
}

const kOpenAiStatuses = ['validating', 'failed', 'in_progress', 'finalizing', 'completed',
                         'expired', 'cancelling', 'cancelled'];

function checkBatch(batch, what) {
  expectString(batch.id, `${what}.id`);
  check(batch.id.startsWith('batch_'), `${what}.id starts with batch_: ${batch.id}`);
  eq(batch.object, 'batch', `${what}.object`);
  eq(batch.endpoint, '/v1/chat/completions', `${what}.endpoint`);
  expectString(batch.input_file_id, `${what}.input_file_id`);
  eq(batch.completion_window, '24h', `${what}.completion_window`);
  check(kOpenAiStatuses.includes(batch.status), `${what}.status: ${describe(batch.status)}`);
  expectInt(batch.created_at, `${what}.created_at`);
  for (const key of ['in_progress_at', 'expires_at', 'finalizing_at', 'completed_at', 'failed_at',
                     'expired_at', 'cancelling_at', 'cancelled_at']) {
    expectIntOrNull(batch[key] ?? null, `${what}.${key}`);
  }
  expectStringOrNull(batch.output_file_id ?? null, `${what}.output_file_id`);
  expectStringOrNull(batch.error_file_id ?? null, `${what}.error_file_id`);
  const counts = batch.request_counts;
  check(counts !== null && typeof counts === 'object', `${what}.request_counts is an object`);
  for (const key of ['total', 'completed', 'failed']) {
    expectInt(counts[key], `${what}.request_counts.${key}`);
  }
  check(counts.completed + counts.failed <= counts.total,
        `${what}.request_counts: completed + failed <= total: ${describe(counts)}`);
  check(batch.errors === null || batch.errors === undefined || typeof batch.errors === 'object',
        `${what}.errors is an object or null`);
  // The status's own timestamp is set exactly when the status says so.
  const stamp = `${batch.status}_at`;
  if (batch.status !== 'validating') {
    expectInt(batch[stamp], `${what}.${stamp} while ${batch.status}`);
  }
  if (['validating', 'in_progress', 'finalizing'].includes(batch.status)) {
    for (const key of ['completed_at', 'failed_at', 'expired_at', 'cancelled_at']) {
      eq(batch[key] ?? null, null, `${what}.${key} while ${batch.status}`);
    }
  }
}

// A content-filtered completion may carry no content (null), like the service's.
function checkChatCompletion(body, what, { filtered = false } = {}) {
  eq(body.object, 'chat.completion', `${what}.object`);
  expectString(body.id, `${what}.id`);
  expectInt(body.created, `${what}.created`);
  expectString(body.model, `${what}.model`);
  check(Array.isArray(body.choices) && body.choices.length === 1, `${what}.choices has one choice`);
  const choice = body.choices[0];
  eq(choice.index, 0, `${what}.choices[0].index`);
  eq(choice.message.role, 'assistant', `${what}.choices[0].message.role`);
  if (filtered) {
    expectStringOrNull(choice.message.content, `${what}.choices[0].message.content`);
  } else {
    expectString(choice.message.content, `${what}.choices[0].message.content`);
  }
  expectString(choice.finish_reason, `${what}.choices[0].finish_reason`);
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    expectInt(body.usage[key], `${what}.usage.${key}`);
  }
  eq(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens,
     `${what}.usage.total_tokens`);
  check(body.usage.prompt_tokens > 0, `${what}.usage.prompt_tokens > 0`);
}

// The OpenAI error-file shapes: an HTTP failure (response.status_code, error null) or a
// non-HTTP failure (response null, error.code).
function checkOpenAiFailureLine(line, what) {
  if (line.response !== null) {
    eq(line.error, null, `${what}.error of an HTTP-level failure`);
    expectInt(line.response.status_code, `${what}.response.status_code`);
    check(line.response.status_code >= 400, `${what}.response.status_code is a failure`);
    expectString(line.response.request_id, `${what}.response.request_id`);
    const envelope = line.response.body?.error;
    check(envelope && typeof envelope === 'object', `${what}.response.body.error is an object`);
    expectString(envelope.message, `${what}.response.body.error.message`);
    expectString(envelope.type, `${what}.response.body.error.type`);
    check('param' in envelope && 'code' in envelope,
          `${what}.response.body.error has param and code`);
    return line.response.status_code;
  }
  check(line.error && typeof line.error === 'object',
        `${what}.error is an object when response is null`);
  expectString(line.error.code, `${what}.error.code`);
  expectString(line.error.message, `${what}.error.message`);
  return line.error.code;
}

async function downloadLines(client, fileId, what) {
  const response = await client.files.content(fileId);
  check(typeof response.text === 'function', `${what}: files.content returns a Response`);
  return parseJsonLines(await response.text(), what);
}

function openAiInput(ids) {
  return ids.map((id) => JSON.stringify({
    custom_id: id, method: 'POST', url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', max_tokens: 256,
            messages: [{ role: 'user', content: kPrompts.get(id) ?? `Paraphrase: ${id}.` }] },
  })).join('\n') + '\n';
}

async function uploadInput(client, text, filename) {
  const file = await client.files.create({
    file: await toFile(Buffer.from(text), filename), purpose: 'batch',
  });
  checkOpenAiFile(file, `files.create(${filename})`,
                  { bytes: Buffer.byteLength(text), filename, purpose: 'batch' });
  return file;
}

async function waitForBatch(client, id, terminal, what) {
  const { value, seen } = await pollUntil(() => client.batches.retrieve(id),
                                          (batch) => terminal.includes(batch.status), what);
  seen.forEach((batch, i) => checkBatch(batch, `${what} poll ${i}`));
  return { batch: value, statuses: [...new Set(seen.map((batch) => batch.status))] };
}

async function checkOpenAi() {
  const client = new OpenAI({ apiKey: 'sk-sdk-check', baseURL: `${baseUrl}/v1`, maxRetries: 3,
                              timeout: 30_000 });
  const createdBatchIds = [];

  step('openai: upload the input file (files.create, purpose batch)');
  const ids = [...kPrompts.keys()];
  const input = await uploadInput(client, openAiInput(ids), 'sdk-check-main.jsonl');
  const retrieved = await client.files.retrieve(input.id);
  checkOpenAiFile(retrieved, 'files.retrieve',
                  { id: input.id, bytes: input.bytes, purpose: 'batch' });

  step('openai: create a batch with metadata and retrieve it until completed');
  const metadata = { batchlog_run: 'sdk-check', batchlog_attempt: '1' };
  const created = await client.batches.create({
    input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata,
  });
  checkBatch(created, 'batches.create');
  eq(created.input_file_id, input.id, 'batches.create.input_file_id');
  check(['validating', 'in_progress'].includes(created.status),
        `batches.create.status: ${created.status}`);
  sameJson(created.metadata, metadata, 'batches.create.metadata echoed');
  expectString(created._request_id, 'batches.create._request_id (x-request-id)');
  createdBatchIds.push(created.id);

  const { batch: done, statuses } =
      await waitForBatch(client, created.id, ['completed', 'failed', 'expired', 'cancelled'],
                         'main batch');
  eq(done.status, 'completed', 'main batch final status');
  check(statuses.includes('in_progress') || statuses.includes('finalizing') ||
            statuses.includes('validating'),
        `main batch was observed before completing: ${describe(statuses)}`);
  sameJson(done.metadata, metadata, 'retrieve.metadata echoed');
  const successIds = ids.filter((id) => !kFailingIds.includes(id));
  eq(done.request_counts.total, ids.length, 'request_counts.total');
  eq(done.request_counts.completed, successIds.length, 'request_counts.completed');
  eq(done.request_counts.failed, kFailingIds.length, 'request_counts.failed');
  check(done.created_at <= done.in_progress_at && done.in_progress_at <= done.finalizing_at &&
            done.finalizing_at <= done.completed_at,
        `timestamps in lifecycle order: ${describe(done)}`);
  expectString(done.output_file_id, 'completed batch output_file_id');
  expectString(done.error_file_id, 'completed batch error_file_id');

  step('openai: download and parse the output and error files (files.content)');
  const outputFile = await client.files.retrieve(done.output_file_id);
  checkOpenAiFile(outputFile, 'output file', { purpose: 'batch_output' });
  const outputLines = await downloadLines(client, done.output_file_id, 'output file');
  const errorLines = await downloadLines(client, done.error_file_id, 'error file');
  eq(outputLines.length, successIds.length, 'output file lines');
  eq(errorLines.length, kFailingIds.length, 'error file lines');
  const seenIds = new Set();
  for (const line of outputLines) {
    const what = `output line ${line.custom_id}`;
    check(successIds.includes(line.custom_id), `${what}: a success id`);
    check(!seenIds.has(line.custom_id), `${what}: appears once`);
    seenIds.add(line.custom_id);
    expectString(line.id, `${what}.id`);
    check(line.id.startsWith('batch_req_'), `${what}.id starts with batch_req_: ${line.id}`);
    eq(line.error, null, `${what}.error`);
    eq(line.response.status_code, 200, `${what}.response.status_code`);
    expectString(line.response.request_id, `${what}.response.request_id`);
    checkChatCompletion(line.response.body, `${what}.response.body`,
                        { filtered: line.custom_id === 'filtered' });
    const choice = line.response.body.choices[0];
    if (line.custom_id === 'filtered') {
      eq(choice.finish_reason, 'content_filter', `${what}: finish_reason of a filtered request`);
    } else {
      eq(choice.finish_reason, 'stop', `${what}.finish_reason`);
    }
    if (line.custom_id === 'ok-score') {
      check(/score: \d+/.test(choice.message.content),
            `${what}: a score answer: ${choice.message.content}`);
    }
    if (line.custom_id === 'ok-1') {
      eq(choice.message.content, 'In other words, seven is prime.', `${what}: the paraphrase`);
    }
  }
  const failures = new Map();
  for (const line of errorLines) {
    const what = `error line ${line.custom_id}`;
    check(kFailingIds.includes(line.custom_id), `${what}: a failing id`);
    check(!seenIds.has(line.custom_id), `${what}: appears once across both files`);
    seenIds.add(line.custom_id);
    check(typeof line.id === 'string' && line.id.startsWith('batch_req_'), `${what}.id`);
    failures.set(line.custom_id, checkOpenAiFailureLine(line, what));
  }
  eq(failures.get('fail-server'), 500, 'fail-server: HTTP 500 line');
  eq(failures.get('fail-invalid'), 400, 'fail-invalid: HTTP 400 line');
  eq(failures.get('fail-ratelimit'), 429, 'fail-ratelimit: HTTP 429 line');
  eq(failures.get('fail-overloaded'), 503, 'fail-overloaded: HTTP 503 line');
  eq(failures.get('fail-expired'), 'batch_expired', 'fail-expired: non-HTTP batch_expired line');
  check(failures.has('fail-timeout'), 'fail-timeout: a failure line');

  step('openai: a batch that expires part-way (batch fault) ends expired with partial results');
  requireBatchFault('openai', 'expire', 2);
  const expiring = await client.batches.create({
    input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h',
  });
  createdBatchIds.push(expiring.id);

  step('openai: a batch over the token limit (batch fault) fails with token_limit_exceeded');
  requireBatchFault('openai', 'token_limit_exceeded', 3);
  const limited = await client.batches.create({
    input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h',
  });
  createdBatchIds.push(limited.id);
  const { batch: limitedDone } = await waitForBatch(client, limited.id,
                                                    ['failed', 'completed', 'expired', 'cancelled'],
                                                    'token-limited batch');
  eq(limitedDone.status, 'failed', 'token-limited batch status');
  eq(limitedDone.errors?.object, 'list', 'failed batch errors.object');
  check(Array.isArray(limitedDone.errors.data) && limitedDone.errors.data.length >= 1,
        'failed batch errors.data');
  eq(limitedDone.errors.data[0].code, 'token_limit_exceeded', 'failed batch errors.data[0].code');
  expectString(limitedDone.errors.data[0].message, 'failed batch errors.data[0].message');
  eq(limitedDone.output_file_id ?? null, null, 'failed batch output_file_id');

  step('openai: cancel a running batch (batches.cancel) and wait for cancelled');
  const toCancel = await client.batches.create({
    input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h',
  });
  createdBatchIds.push(toCancel.id);
  const cancelling = await client.batches.cancel(toCancel.id);
  checkBatch(cancelling, 'batches.cancel');
  eq(cancelling.status, 'cancelling', 'batches.cancel status');
  const { batch: cancelled } = await waitForBatch(client, toCancel.id, ['cancelled'],
         'cancelled batch');
  expectInt(cancelled.cancelling_at, 'cancelled batch cancelling_at');
  expectInt(cancelled.cancelled_at, 'cancelled batch cancelled_at');
  for (const fileId of [cancelled.output_file_id, cancelled.error_file_id]) {
    if (fileId) {
      const lines = await downloadLines(client, fileId, 'cancelled batch file');
      lines.forEach((line, i) => check(ids.includes(line.custom_id),
                                       `cancelled batch line ${i} custom_id`));
    }
  }

  step('openai: an input file with a bad JSON line fails validation with the line number');
  const badText = `${openAiInput(['ok-0'])}{"custom_id": "broken", not json\n`;
  const badInput = await uploadInput(client, badText, 'sdk-check-bad.jsonl');
  const bad = await client.batches.create({
    input_file_id: badInput.id, endpoint: '/v1/chat/completions', completion_window: '24h',
  });
  createdBatchIds.push(bad.id);
  const { batch: badDone } = await waitForBatch(client, bad.id, ['failed', 'completed'],
         'bad-input batch');
  eq(badDone.status, 'failed', 'bad-input batch status');
  const lineError = badDone.errors?.data?.find((error) => error.line === 2);
  check(lineError !== undefined,
        `bad-input batch: an error on line 2: ${describe(badDone.errors)}`);
  expectString(lineError.code, 'bad-input errors.data[].code');

  step('openai: list batches with auto-pagination across pages (limit 2)');
  for (let i = 0; i < 5; i++) {
    const extra = await client.batches.create({
      input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h',
      metadata: { page_check: String(i) },
    });
    createdBatchIds.push(extra.id);
  }
  const firstPage = await client.batches.list({ limit: 2 });
  eq(firstPage.data.length, 2, 'first page size');
  check(firstPage.hasNextPage(), 'first page has a next page');
  const listed = [];
  let pages = 0;
  for (let page = firstPage; ; page = await page.getNextPage()) {
    pages += 1;
    check(page.data.length <= 2, `page ${pages} holds at most limit items`);
    page.data.forEach((batch, i) => checkBatch(batch, `list page ${pages} item ${i}`));
    listed.push(...page.data.map((batch) => batch.id));
    if (!page.hasNextPage()) break;
    check(pages < 100, 'pagination terminates');
  }
  check(pages >= 5, `listing took several pages: ${pages}`);
  const autoListed = [];
  for await (const batch of client.batches.list({ limit: 3 })) autoListed.push(batch.id);
  eq(autoListed.length, createdBatchIds.length, 'auto-pagination count');
  eq(new Set(autoListed).size, autoListed.length, 'auto-pagination yields each batch once');
  eq(listed.length, createdBatchIds.length, 'manual pagination count');
  for (const id of createdBatchIds) check(autoListed.includes(id), `batch ${id} is listed`);

  step('openai: the expired batch ended expired with batch_expired lines');
  const { batch: expired } = await waitForBatch(client, expiring.id,
                                                ['expired', 'completed', 'failed', 'cancelled'],
                                                'expiring batch');
  eq(expired.status, 'expired', 'expiring batch status');
  expectInt(expired.expired_at, 'expired batch expired_at');
  check(expired.request_counts.completed + expired.request_counts.failed > 0,
        'expired batch: part of its requests ran');
  expectString(expired.error_file_id, 'expired batch error_file_id');
  const expiredLines = await downloadLines(client, expired.error_file_id,
                                           'expired batch error file');
  const batchExpired = expiredLines.filter((line) => line.response === null &&
                                                     line.error?.code === 'batch_expired');
  check(batchExpired.length > 1,
        `expired batch: batch_expired lines for the requests not run (${batchExpired.length})`);
  batchExpired.forEach((line) => expectString(line.error.message, 'batch_expired message'));

  step('openai: errors come back as typed SDK errors with the envelope');
  const notFound = await expectApiError(() => client.batches.retrieve('batch_does_not_exist'),
                                        OpenAI.NotFoundError, 404, 'retrieve an unknown batch');
  expectString(notFound.error?.message, 'NotFoundError.error.message');
  expectString(notFound.type, 'NotFoundError.type');
  const badWindow = await expectApiError(
      () => client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions',
                                    completion_window: '1h' }),
      OpenAI.BadRequestError, 400, 'completion_window 1h');
  expectString(badWindow.error?.message, 'BadRequestError.error.message');
  const unauthenticated = new OpenAI({ apiKey: 'unused', baseURL: `${baseUrl}/v1`, maxRetries: 0,
                                       defaultHeaders: { Authorization: 'Basic c2RrOmNoZWNr' } });
  await expectApiError(() => unauthenticated.batches.list(), OpenAI.AuthenticationError, 401,
                       'an Authorization header that is not Bearer');

  step('openai: delete the input file (files.delete)');
  const deleted = await client.files.delete(badInput.id);
  eq(deleted.id, badInput.id, 'files.delete.id');
  eq(deleted.object, 'file', 'files.delete.object');
  eq(deleted.deleted, true, 'files.delete.deleted');
  await expectApiError(() => client.files.retrieve(badInput.id), OpenAI.NotFoundError, 404,
                       'retrieve a deleted file');
  return createdBatchIds.length;
}

// ---------------------------------------------------------------------------------------
// Anthropic

const kResultTypes = ['succeeded', 'errored', 'canceled', 'expired'];

function checkMessageBatch(batch, what) {
  expectString(batch.id, `${what}.id`);
  check(batch.id.startsWith('msgbatch_'), `${what}.id starts with msgbatch_: ${batch.id}`);
  eq(batch.type, 'message_batch', `${what}.type`);
  check(['in_progress', 'canceling', 'ended'].includes(batch.processing_status),
        `${what}.processing_status: ${describe(batch.processing_status)}`);
  const counts = batch.request_counts;
  for (const key of ['processing', 'succeeded', 'errored', 'canceled', 'expired']) {
    expectInt(counts?.[key], `${what}.request_counts.${key}`);
  }
  expectRfc3339(batch.created_at, `${what}.created_at`);
  expectRfc3339(batch.expires_at, `${what}.expires_at`);
  expectRfc3339OrNull(batch.ended_at, `${what}.ended_at`);
  expectRfc3339OrNull(batch.cancel_initiated_at, `${what}.cancel_initiated_at`);
  expectRfc3339OrNull(batch.archived_at, `${what}.archived_at`);
  expectStringOrNull(batch.results_url, `${what}.results_url`);
  if (batch.processing_status === 'ended') {
    eq(counts.processing, 0, `${what}: processing once ended`);
    expectRfc3339(batch.ended_at, `${what}.ended_at once ended`);
    expectString(batch.results_url, `${what}.results_url once ended`);
    check(batch.results_url.startsWith(`${baseUrl}/v1/messages/batches/${batch.id}/results`),
          `${what}.results_url is absolute: ${batch.results_url}`);
  } else {
    for (const key of ['succeeded', 'errored', 'canceled', 'expired']) {
      eq(counts[key], 0, `${what}.request_counts.${key} before the batch ended`);
    }
    eq(batch.ended_at, null, `${what}.ended_at before the batch ended`);
    eq(batch.results_url, null, `${what}.results_url before the batch ended`);
  }
}

function anthropicRequests(ids) {
  return ids.map((id) => ({
    custom_id: id,
    params: { model: 'claude-sonnet-4-5', max_tokens: 256,
              messages: [{ role: 'user', content: kPrompts.get(id) ?? `Paraphrase: ${id}.` }] },
  }));
}

async function waitForEnded(client, id, what) {
  const { value, seen } = await pollUntil(() => client.messages.batches.retrieve(id),
                                          (batch) => batch.processing_status === 'ended', what);
  seen.forEach((batch, i) => checkMessageBatch(batch, `${what} poll ${i}`));
  return value;
}

async function readResults(client, id, what) {
  const results = [];
  for await (const entry of await client.messages.batches.results(id)) {
    const where = `${what} result ${results.length}`;
    expectString(entry.custom_id, `${where}.custom_id`);
    check(kResultTypes.includes(entry.result?.type),
          `${where}.result.type: ${describe(entry.result)}`);
    if (entry.result.type === 'succeeded') {
      const message = entry.result.message;
      eq(message.type, 'message', `${where}.message.type`);
      eq(message.role, 'assistant', `${where}.message.role`);
      expectString(message.id, `${where}.message.id`);
      expectString(message.model, `${where}.message.model`);
      check(Array.isArray(message.content) && message.content.length >= 1,
            `${where}.message.content`);
      eq(message.content[0].type, 'text', `${where}.message.content[0].type`);
      check(typeof message.content[0].text === 'string', `${where}.message.content[0].text`);
      expectString(message.stop_reason, `${where}.message.stop_reason`);
      check(message.stop_sequence === null, `${where}.message.stop_sequence is null`);
      expectInt(message.usage?.input_tokens, `${where}.message.usage.input_tokens`);
      expectInt(message.usage?.output_tokens, `${where}.message.usage.output_tokens`);
    } else if (entry.result.type === 'errored') {
      const error = entry.result.error;
      eq(error?.type, 'error', `${where}.error.type`);
      expectString(error.error?.type, `${where}.error.error.type`);
      expectString(error.error?.message, `${where}.error.error.message`);
    } else {
      eq(Object.keys(entry.result).join(','), 'type',
         `${where}: ${entry.result.type} has no other fields`);
    }
    results.push(entry);
  }
  return new Map(results.map((entry) => [entry.custom_id, entry.result]));
}

async function checkAnthropic() {
  const client = new Anthropic({ apiKey: 'sk-ant-sdk-check', baseURL: baseUrl, maxRetries: 3,
                                 timeout: 30_000 });
  const createdBatchIds = [];

  step('anthropic: create a message batch (messages.batches.create)');
  const ids = [...kPrompts.keys()];
  const created = await client.messages.batches.create({ requests: anthropicRequests(ids) });
  checkMessageBatch(created, 'messages.batches.create');
  eq(created.processing_status, 'in_progress', 'create.processing_status');
  eq(created.request_counts.processing, ids.length, 'create.request_counts.processing');
  createdBatchIds.push(created.id);

  step('anthropic: retrieve until ended; stream and decode the results');
  const ended = await waitForEnded(client, created.id, 'main message batch');
  const counts = ended.request_counts;
  eq(counts.succeeded + counts.errored + counts.canceled + counts.expired, ids.length,
     'counts sum');
  const results = await readResults(client, created.id, 'main message batch');
  eq(results.size, ids.length, 'one result per request');
  for (const id of ['ok-0', 'ok-1', 'ok-2', 'ok-score']) {
    eq(results.get(id)?.type, 'succeeded', `${id} result type`);
    eq(results.get(id).message.stop_reason, 'end_turn', `${id} stop_reason`);
  }
  eq(results.get('ok-1').message.content[0].text, 'In other words, seven is prime.',
     'ok-1 paraphrase');
  check(/score: \d+/.test(results.get('ok-score').message.content[0].text),
        'ok-score answer has a score');
  eq(results.get('filtered')?.type, 'succeeded', 'filtered result type');
  eq(results.get('filtered').message.stop_reason, 'refusal', 'filtered stop_reason');
  eq(results.get('fail-expired')?.type, 'expired', 'fail-expired result type');
  const erroredTypes = {
    'fail-server': 'api_error', 'fail-invalid': 'invalid_request_error',
    'fail-ratelimit': 'rate_limit_error', 'fail-overloaded': 'overloaded_error',
  };
  for (const [id, type] of Object.entries(erroredTypes)) {
    eq(results.get(id)?.type, 'errored', `${id} result type`);
    eq(results.get(id).error.error.type, type, `${id} error type`);
  }
  eq(results.get('fail-timeout')?.type, 'errored', 'fail-timeout result type');
  eq(counts.succeeded, 5, 'counts.succeeded');
  eq(counts.expired, 1, 'counts.expired');
  eq(counts.errored, 5, 'counts.errored');

  step('anthropic: cancel a running batch; its unsent requests come back canceled');
  const toCancel = await client.messages.batches.create({ requests: anthropicRequests(ids) });
  createdBatchIds.push(toCancel.id);
  const canceling = await client.messages.batches.cancel(toCancel.id);
  checkMessageBatch(canceling, 'messages.batches.cancel');
  eq(canceling.processing_status, 'canceling', 'cancel.processing_status');
  expectRfc3339(canceling.cancel_initiated_at, 'cancel.cancel_initiated_at');
  const canceledEnd = await waitForEnded(client, toCancel.id, 'canceled message batch');
  check(canceledEnd.request_counts.canceled > 0,
        `canceled count: ${describe(canceledEnd.request_counts)}`);
  const canceledResults = await readResults(client, toCancel.id, 'canceled message batch');
  const canceledCount = [...canceledResults.values()].filter((r) => r.type === 'canceled').length;
  eq(canceledCount, canceledEnd.request_counts.canceled, 'canceled results match the count');

  step('anthropic: a batch that expires part-way (batch fault) ends with expired results');
  requireBatchFault('anthropic', 'expire', 3);
  const expiring = await client.messages.batches.create({ requests: anthropicRequests(ids) });
  createdBatchIds.push(expiring.id);
  await expectApiError(() => client.messages.batches.delete(expiring.id), Anthropic.BadRequestError,
                       400, 'delete a batch that has not ended');

  step('anthropic: list batches with pagination, newest first');
  for (let i = 0; i < 4; i++) {
    const extra = await client.messages.batches.create({ requests: anthropicRequests(['ok-0']) });
    createdBatchIds.push(extra.id);
  }
  const listed = [];
  for await (const batch of client.messages.batches.list({ limit: 2 })) {
    checkMessageBatch(batch, `list item ${listed.length}`);
    listed.push(batch);
  }
  eq(listed.length, createdBatchIds.length, 'auto-pagination count');
  eq(new Set(listed.map((batch) => batch.id)).size, listed.length, 'each batch listed once');
  for (let i = 1; i < listed.length; i++) {
    check(listed[i - 1].created_at >= listed[i].created_at, `newest first at ${i}`);
  }
  eq(listed[0].id, createdBatchIds[createdBatchIds.length - 1], 'the newest batch comes first');
  const firstPage = await client.messages.batches.list({ limit: 2 });
  eq(firstPage.data.length, 2, 'first page size');
  eq(firstPage.has_more, true, 'first page has_more');
  eq(firstPage.first_id, firstPage.data[0].id, 'first page first_id');
  eq(firstPage.last_id, firstPage.data[1].id, 'first page last_id');
  const older = await client.messages.batches.list({ limit: 2, after_id: firstPage.last_id });
  eq(older.data[0].id, listed[2].id, 'after_id continues with the next older batch');
  const newer = await client.messages.batches.list({ limit: 5, before_id: listed[2].id });
  eq(newer.data.map((b) => b.id).join(','), `${listed[0].id},${listed[1].id}`,
     'before_id returns the newer batches');

  step('anthropic: the expiring batch ended with expired results');
  const expiredEnd = await waitForEnded(client, expiring.id, 'expiring message batch');
  check(expiredEnd.request_counts.expired > 1,
        `expired count: ${describe(expiredEnd.request_counts)}`);
  const expiredResults = await readResults(client, expiring.id, 'expiring message batch');
  eq([...expiredResults.values()].filter((r) => r.type === 'expired').length,
     expiredEnd.request_counts.expired, 'expired results match the count');

  step('anthropic: delete an ended batch (messages.batches.delete)');
  const deleted = await client.messages.batches.delete(created.id);
  eq(deleted.id, created.id, 'delete.id');
  eq(deleted.type, 'message_batch_deleted', 'delete.type');
  const gone = await expectApiError(() => client.messages.batches.retrieve(created.id),
                                    Anthropic.NotFoundError, 404, 'retrieve a deleted batch');
  eq(gone.error?.type, 'error', 'NotFoundError body type');
  eq(gone.error?.error?.type, 'not_found_error', 'NotFoundError body error.type');
  expectString(gone.error?.error?.message, 'NotFoundError body error.message');

  step('anthropic: bad input is rejected with typed SDK errors');
  await expectApiError(
      () => client.messages.batches.create({ requests: anthropicRequests(['not a valid id!']) }),
      Anthropic.BadRequestError, 400, 'an invalid custom_id');
  // A null default header removes it; the SDK then sends no credentials at all.
  const noKey = new Anthropic({ apiKey: 'unused', baseURL: baseUrl, maxRetries: 0,
                                defaultHeaders: { 'x-api-key': null, authorization: null } });
  await expectApiError(() => noKey.messages.batches.list(), Anthropic.AuthenticationError, 401,
                       'a missing x-api-key');
  return createdBatchIds.length;
}

// ---------------------------------------------------------------------------------------

async function checkStats() {
  step('emulator: the planned control-plane faults were injected (and retried by the SDKs)');
  const response = await fetch(`${baseUrl}/_sim/stats`);
  eq(response.status, 200, 'GET /_sim/stats');
  const stats = await response.json();
  const planned = (api) => plan.control_faults.filter((rule) => rule.api === api).length;
  for (const api of ['openai', 'anthropic']) {
    expectInt(stats[api]?.control_faults_injected, `stats.${api}.control_faults_injected`);
    eq(stats[api].control_faults_injected, planned(api), `stats.${api}.control_faults_injected`);
  }
  return stats;
}

async function main() {
  console.log(`sdk_check: node ${process.version}, openai ${openaiVersion}, ` +
              `@anthropic-ai/sdk ${anthropicVersion}, emulator ${baseUrl}`);
  checkPlanAssumptions();
  const openaiBatches = await checkOpenAi();
  const anthropicBatches = await checkAnthropic();
  const stats = await checkStats();
  eq(stats.openai.batches_created, openaiBatches, 'stats.openai.batches_created');
  eq(stats.anthropic.batches_created, anthropicBatches, 'stats.anthropic.batches_created');
  console.log(`sdk_check: ${checks} checks passed`);
}

main().then(
    () => process.exit(0),
    (error) => {
      if (error instanceof CheckError) {
        console.error(`sdk_check: FAILED after ${checks} checks: ${error.message}`);
      } else {
        console.error(`sdk_check: FAILED with an SDK error after ${checks} checks:`);
        console.error(error?.stack ?? error);
        if (error?.status !== undefined) {
          console.error(`status ${error.status}: ${describe(error.error)}`);
        }
      }
      process.exit(1);
    });
