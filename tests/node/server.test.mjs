// `tightfit serve` driven by the official openai client on the repository's tiny models
// (random weights: the tests check the protocol, never the words). Run by CTest with
// TIGHTFIT_BINARY and TIGHTFIT_ROOT set; `npm test` from this folder works the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

const root = process.env.TIGHTFIT_ROOT ?? path.resolve(import.meta.dirname, '../..');
const binary = process.env.TIGHTFIT_BINARY ?? path.join(root, 'build/tightfit');
const KEY = 'test-key';

// Starts `tightfit serve` on a free port; resolves once /health says 200.
async function startServer(model, extraArgs = []) {
  const args = ['serve', '--model', path.join(root, model), '--port', '0', '--api-key', KEY,
                '--threads', '2', ...extraArgs];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = log.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`tightfit serve exited ${code}: ${log}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${base}/health`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base, log: () => log, client: new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 }) };
}

async function stopServer(server) {
  const exited = new Promise((resolve) => server.child.on('exit', (code, signal) => resolve({ code, signal })));
  server.child.kill('SIGTERM');
  return exited;
}

let text;  // the server on models/tiny-random
before(async () => { text = await startServer('models/tiny-random', ['--max-tokens', '12', '--ctx-size', '2048', '--max-body', '200000']); });
after(async () => {
  const { code } = await stopServer(text);
  assert.equal(code, 0, 'SIGTERM exits 0');
});

const user = (content) => [{ role: 'user', content }];

test('chat completion: message, finish reason, usage', async () => {
  const r = await text.client.chat.completions.create({ model: 'x', messages: user('Hello'), max_tokens: 8 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(typeof r.usage.completion_tokens_details.reasoning_tokens, 'number');
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
});

test('streaming: role delta first, one finish_reason, usage chunk', async () => {
  const stream = await text.client.chat.completions.create({
    model: 'x', messages: user('Count'), max_tokens: 10, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const finishes = chunks.filter((c) => c.choices.length && c.choices[0].finish_reason);
  assert.equal(finishes.length, 1);
  const last = chunks.at(-1);
  assert.equal(last.choices.length, 0);
  assert.ok(last.usage.completion_tokens > 0);
});

// Token ids of the tiny model's special tokens, from its tokenizer.json.
function specialIds(model) {
  const tokenizer = JSON.parse(readFileSync(path.join(root, model, 'tokenizer.json'), 'utf8'));
  return Object.fromEntries(tokenizer.added_tokens.map((t) => [t.content, t.id]));
}

test('reasoning split: thinking on fills reasoning_content, off leaves none; content never has <think>', async () => {
  // Random weights sample any token, <think>, </think> and end-of-text included (how often
  // depends on the CPU's rounding); banning those few keeps this a test of the protocol.
  const ids = specialIds('models/tiny-random');
  const ban = Object.fromEntries(['<think>', '</think>', '<|im_end|>', '<|endoftext|>']
    .map((t) => [String(ids[t]), -100]));
  const off = await text.client.chat.completions.create({
    model: 'x', messages: user('Hi'), max_tokens: 8, logit_bias: ban, chat_template_kwargs: { enable_thinking: false } });
  assert.equal(off.usage.completion_tokens_details.reasoning_tokens, 0);
  assert.equal(off.choices[0].message.reasoning_content, undefined);
  const on = await text.client.chat.completions.create({
    model: 'x', messages: user('Hi'), max_tokens: 8, logit_bias: ban, extra_body: { chat_template_kwargs: { enable_thinking: true } } });
  assert.equal(on.usage.completion_tokens_details.reasoning_tokens, 8);
  assert.equal(typeof on.choices[0].message.reasoning_content, 'string');
  assert.ok(on.choices[0].message.reasoning_content.length > 0);
  for (const r of [on, off]) assert.ok(!(r.choices[0].message.content ?? '').includes('<think>'));
});

test('seed: the same seed gives the same answer; stop ends it before the stop text', async () => {
  const ask = (extra) => text.client.chat.completions.create({
    model: 'x', messages: user('Tell me a story'), max_tokens: 12, temperature: 1, seed: 1234,
    chat_template_kwargs: { enable_thinking: false }, ...extra });
  const a = await ask({});
  const b = await ask({});
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const answer = a.choices[0].message.content;
  if (answer.length >= 4) {
    const stop = answer.slice(Math.floor(answer.length / 2), Math.floor(answer.length / 2) + 2);
    const c = await ask({ stop: [stop] });
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.choices[0].message.content, answer.slice(0, answer.indexOf(stop)));
  }
});

test('tools in the request and tool calls in the history', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const r = await text.client.chat.completions.create({
    model: 'x', max_tokens: 8, tools, tool_choice: 'auto',
    messages: [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 20 C' },
    ] });
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 50, 'the tools preamble and the history are in the prompt');
});

test('response_format json_object: the answer parses as a JSON object', async () => {
  // Random weights: a long enough budget; a cut answer must still be a JSON prefix.
  for (const seed of [1, 2, 3]) {
    const r = await text.client.chat.completions.create({
      model: 'x', messages: user('A JSON object, please.'), max_tokens: 96, seed, temperature: 1,
      response_format: { type: 'json_object' }, chat_template_kwargs: { enable_thinking: false } });
    const content = r.choices[0].message.content;
    if (r.choices[0].finish_reason === 'stop') {
      const value = JSON.parse(content);
      assert.equal(typeof value, 'object', content);
      assert.ok(value !== null && !Array.isArray(value), content);
    } else {
      assert.equal(r.choices[0].finish_reason, 'length');
      assert.match(content.trimStart(), /^\{/, content);
    }
  }
});

test('tool_choice required: the answer is a tool call', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object',
    properties: { city: { type: 'string' } } } } }];
  // The call's start is forced; a bias on </tool_call> (id 505 + 1 in the tiny vocabulary) makes
  // the random model close it soon after.
  const r = await text.client.chat.completions.create({
    model: 'x', messages: user('Weather in Oslo?'), max_tokens: 64, seed: 4, temperature: 1, tools,
    tool_choice: 'required', logit_bias: { 506: 12 }, chat_template_kwargs: { enable_thinking: false } });
  assert.equal(r.choices[0].finish_reason, 'tool_calls', JSON.stringify(r.choices[0].message));
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
  assert.equal(typeof JSON.parse(r.choices[0].message.tool_calls[0].function.arguments), 'object');
});

test('errors come back as 4xx in OpenAI shape and the server keeps serving', async () => {
  const expectError = async (params, status, param) => {
    await assert.rejects(text.client.chat.completions.create(params), (e) => {
      assert.equal(e.status, status, e.message);
      assert.equal(typeof e.error.message, 'string');
      if (param) assert.equal(e.param, param);
      return true;
    });
  };
  await expectError({ model: 'x' }, 400, 'messages');
  await expectError({ model: 'x', messages: 'hi' }, 400, 'messages');
  await expectError({ model: 'x', messages: [{ role: 'wizard', content: 'x' }] }, 400, 'messages[0].role');
  await expectError({ model: 'x', messages: user('x'), temperature: 'hot' }, 400, 'temperature');
  await expectError({ model: 'x', messages: user('x'), n: 2 }, 400, 'n');
  await expectError({ model: 'x', messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 's',
    schema: { type: 'object', properties: { a: { type: 'string', format: 'email' } } } } } }, 400, 'response_format');
  await expectError({ model: 'x', messages: user('x'), tool_choice: { type: 'function', function: { name: 'nope' } },
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] }, 400, 'tool_choice');
  await expectError({ model: 'x', messages: user('x'.repeat(300000)) }, 413);
  await expectError({ model: 'x', messages: user('word '.repeat(8000)) }, 400);  // longer than --ctx-size 2048
  await expectError({ model: 'x', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }, 400);
  const raw = await fetch(`${text.base}/v1/chat/completions`, {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: '{"messages": [' });
  assert.equal(raw.status, 400);
  const body = await raw.json();
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  const ok = await text.client.chat.completions.create({ model: 'x', messages: user('still there?'), max_tokens: 2 });
  assert.equal(ok.choices.length, 1);
});

test('API key: missing or wrong is 401', async () => {
  const anonymous = new OpenAI({ apiKey: 'wrong', baseURL: `${text.base}/v1`, maxRetries: 0 });
  await assert.rejects(anonymous.chat.completions.create({ model: 'x', messages: user('x') }), (e) => e.status === 401);
  assert.equal((await fetch(`${text.base}/v1/models`)).status, 401);
  assert.equal((await fetch(`${text.base}/health`)).status, 200);
});

test('four concurrent streams all finish with their own stream', async () => {
  const runs = [0, 1, 2, 3].map(async (i) => {
    const stream = await text.client.chat.completions.create({
      model: 'x', messages: user(`stream ${i}`), max_tokens: 10, stream: true, seed: i });
    let id; let finishes = 0;
    for await (const chunk of stream) {
      id ??= chunk.id;
      assert.equal(chunk.id, id);
      if (chunk.choices[0]?.finish_reason) finishes++;
    }
    return { id, finishes };
  });
  const results = await Promise.all(runs);
  assert.equal(new Set(results.map((r) => r.id)).size, 4);
  for (const r of results) assert.equal(r.finishes, 1);
});

test('a client aborting mid-stream, then more requests', async () => {
  const controller = new AbortController();
  const stream = await text.client.chat.completions.create(
    { model: 'x', messages: user('long'), max_tokens: 400, stream: true, ignore_eos: true },
    { signal: controller.signal });
  let seen = 0;
  try {
    // The client ends the iteration quietly (or with an AbortError) once aborted.
    for await (const chunk of stream) { if (++seen === 2) controller.abort(); }
  } catch (e) {
    assert.equal(e.name, 'APIUserAbortError', String(e));
  }
  assert.ok(seen < 50, `the stream went on after the abort (${seen} chunks)`);
  for (let i = 0; i < 50; i++) {
    const metrics = await (await fetch(`${text.base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
    if (/tightfit_client_disconnects_total [1-9]/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = await (await fetch(`${text.base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
  assert.match(metrics, /tightfit_client_disconnects_total [1-9]/);
  const r = await text.client.chat.completions.create({ model: 'x', messages: user('after'), max_tokens: 4 });
  assert.equal(r.choices.length, 1);
});

test('the second turn of a conversation hits the prompt cache', async () => {
  const history = [{ role: 'system', content: 'You are a test.' }, { role: 'user', content: 'First question, a long one.' }];
  const first = await text.client.chat.completions.create({
    model: 'x', messages: history, max_tokens: 6, chat_template_kwargs: { enable_thinking: false } });
  history.push({ role: 'assistant', content: first.choices[0].message.content });
  history.push({ role: 'user', content: 'Second question.' });
  const second = await text.client.chat.completions.create({
    model: 'x', messages: history, max_tokens: 6, chat_template_kwargs: { enable_thinking: false } });
  assert.ok(second.usage.prompt_tokens_details.cached_tokens > 0,
    `cached ${second.usage.prompt_tokens_details.cached_tokens} of ${second.usage.prompt_tokens}`);
});

test('completions, models, metrics', async () => {
  const c = await text.client.completions.create({ model: 'x', prompt: 'Once upon', max_tokens: 5 });
  assert.equal(c.object, 'text_completion');
  assert.equal(typeof c.choices[0].text, 'string');
  const models = [];
  for await (const m of text.client.models.list()) models.push(m);
  assert.equal(models.length, 1);
  assert.equal(models[0].id, 'tiny-random');
});

test('Anthropic messages, whole and streamed', async () => {
  const headers = { 'x-api-key': KEY, 'Content-Type': 'application/json', 'anthropic-version': '2023-06-01' };
  const body = { model: 'x', max_tokens: 6, messages: [{ role: 'user', content: 'Hi' }] };
  const whole = await (await fetch(`${text.base}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) })).json();
  assert.equal(whole.type, 'message');
  assert.ok(['end_turn', 'max_tokens'].includes(whole.stop_reason));
  assert.ok(whole.usage.output_tokens > 0);
  const streamed = await (await fetch(`${text.base}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }) })).text();
  const events = [...streamed.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]).filter((e) => e !== 'ping');
  assert.equal(events[0], 'message_start');
  assert.deepEqual(events.slice(-2), ['message_delta', 'message_stop']);
});

test('an image part on the vision model', async () => {
  const vl = await startServer('models/tiny-random-vl', ['--max-tokens', '4']);
  try {
    const png = readFileSync(path.join(root, 'tests/data/tiny-qwen35moe-vl/img64x64.png')).toString('base64');
    const withImage = await vl.client.chat.completions.create({ model: 'x', max_tokens: 4, messages: [{ role: 'user', content: [
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }, { type: 'text', text: 'What is this?' }] }] });
    const without = await vl.client.chat.completions.create({ model: 'x', max_tokens: 4, messages: user('What is this?') });
    assert.ok(withImage.usage.prompt_tokens > without.usage.prompt_tokens, 'the image adds its tokens to the prompt');
  } finally {
    assert.equal((await stopServer(vl)).code, 0);
  }
});

test('speculative decoding: draft_tokens per request inside the batch, usage.speculative', async () => {
  // The trained model keeps its MTP head; --draft 2 is the default for requests that do not say.
  const spec = await startServer('models/tiny-qwen35', ['--draft', '2', '--parallel', '2']);
  try {
    const ask = (extra) => spec.client.completions.create({
      model: 'x', prompt: 'The jury said that the city', max_tokens: 40, temperature: 0,
      ignore_eos: true, ...extra });
    const alone = await ask({ draft_tokens: 0 });
    assert.equal(alone.usage.speculative, undefined, 'no speculative block without drafts');
    // One speculative and one plain request decoded together: each equals its output alone.
    const [drafted, plain] = await Promise.all([ask({ draft_tokens: 3 }), ask({ draft_tokens: 0 })]);
    assert.equal(drafted.choices[0].text, alone.choices[0].text);
    assert.equal(plain.choices[0].text, alone.choices[0].text);
    assert.equal(drafted.usage.completion_tokens, 40);
    const s = drafted.usage.speculative;
    assert.ok(s.steps > 0 && s.drafts_accepted > 0, JSON.stringify(s));
    assert.equal(s.proposed_per_position.length, 3);
    assert.equal(s.accepted_per_position.reduce((a, b) => a + b, 0), s.drafts_accepted);
    assert.equal(drafted.usage.total_tokens, drafted.usage.prompt_tokens + 40, 'OpenAI fields intact');
    // The server's --draft applies when the request does not say; chat streams report it too.
    const byDefault = await ask({});
    assert.equal(byDefault.usage.speculative.proposed_per_position.length, 2);
    const stream = await spec.client.chat.completions.create({
      model: 'x', messages: user('What is 23 + 58?'), max_tokens: 20, temperature: 0,
      draft_tokens: 2, stream: true, stream_options: { include_usage: true } });
    let last;
    for await (const chunk of stream) last = chunk;
    assert.ok(last.usage.speculative.steps > 0);
    // Too many drafts: a 400 naming the field.
    await assert.rejects(ask({ draft_tokens: 17 }), (e) => e.status === 400 && String(e.message).includes('draft_tokens'));
  } finally {
    assert.equal((await stopServer(spec)).code, 0);
  }
});
