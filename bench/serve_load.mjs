// bench/serve_load: a bounded loopback load test of `tightfit serve`.
//   node bench/serve_load.mjs [--url http://127.0.0.1:8080] [--clients 8] [--seconds 60]
//                             [--max-tokens 32] [--system-words 150] [--api-key K]
// Each client holds a conversation: a fresh first turn (a prompt-cache miss), then turns that
// extend it (hits), restarting every 4 turns; all streamed with usage. Prints requests answered /
// refused (503) / failed, latency percentiles, aggregate generated tok/s, and time to first
// token with and without a prompt-cache hit (usage.prompt_tokens_details.cached_tokens > 0).
// The system prompt carries --system-words words of instructions, as an agent's does, so that a
// hit has a prefix worth skipping.
// Needs only Node's fetch (no packages).
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const url = args.url ?? 'http://127.0.0.1:8080';
const clients = Number(args.clients ?? 8);
const seconds = Number(args.seconds ?? 60);
const maxTokens = Number(args['max-tokens'] ?? 32);
const systemWords = Number(args['system-words'] ?? 150);
const instructions = Array.from({ length: Math.ceil(systemWords / 5) },
  (_, i) => `Rule ${i + 1}: answer briefly.`).join(' ').split(' ').slice(0, systemWords).join(' ');
const headers = { 'Content-Type': 'application/json' };
if (args['api-key']) headers.Authorization = `Bearer ${args['api-key']}`;

const stats = { answered: 0, refused: 0, failed: 0, tokens: 0, latency: [], ttftHit: [], ttftMiss: [], errors: new Map() };

// One streamed request: resolves {text, usage, ttft, latency} or throws {status}.
async function ask(messages) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({
    messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true },
    chat_template_kwargs: { enable_thinking: false } }) });
  if (res.status !== 200) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  let ttft = null; let text = ''; let usage = null; let buffer = ''; let finishes = 0;
  const decoder = new TextDecoder();
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6));
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices?.[0]?.delta;
      if (delta?.content || delta?.reasoning_content) {
        ttft ??= performance.now() - start;
        text += delta.content ?? '';
      }
      if (chunk.choices?.[0]?.finish_reason) finishes++;
    }
  }
  if (finishes !== 1 || !usage) throw new Error(`stream ended with ${finishes} finish reasons, usage ${!!usage}`);
  return { text, usage, ttft: ttft ?? performance.now() - start, latency: performance.now() - start };
}

async function client(id, deadline) {
  let messages = [];
  let turn = 0;
  while (performance.now() < deadline) {
    if (turn++ % 4 === 0) messages = [{ role: 'system', content: `You are load-test client ${id}. ${instructions}` }];
    messages.push({ role: 'user', content: `Client ${id}, question ${turn}: tell me something.` });
    try {
      const r = await ask(messages);
      stats.answered++;
      stats.tokens += r.usage.completion_tokens;
      stats.latency.push(r.latency);
      (r.usage.prompt_tokens_details?.cached_tokens > 0 ? stats.ttftHit : stats.ttftMiss).push(r.ttft);
      messages.push({ role: 'assistant', content: r.text });
    } catch (e) {
      if (e.status === 503) { stats.refused++; await new Promise((r) => setTimeout(r, 1000)); }
      else { stats.failed++; stats.errors.set(e.message, (stats.errors.get(e.message) ?? 0) + 1); }
      messages.pop();
    }
  }
}

const pct = (values, p) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (v) => (Number.isNaN(v) ? '-' : `${v.toFixed(0)} ms`);

const start = performance.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i, start + seconds * 1000)));
const wall = (performance.now() - start) / 1000;
console.log(`serve_load: ${clients} clients, ${seconds} s, max_tokens ${maxTokens}, ` +
            `system prompt ${systemWords} words, ${url}`);
console.log(`requests: answered ${stats.answered}, refused ${stats.refused} (503), failed ${stats.failed}`);
for (const [message, count] of stats.errors) console.log(`  failure x${count}: ${message}`);
console.log(`latency: p50 ${ms(pct(stats.latency, 50))}, p90 ${ms(pct(stats.latency, 90))}, p99 ${ms(pct(stats.latency, 99))}`);
console.log(`generated: ${stats.tokens} tokens in ${wall.toFixed(1)} s = ${(stats.tokens / wall).toFixed(1)} tok/s aggregate`);
console.log(`time to first token: cache miss p50 ${ms(pct(stats.ttftMiss, 50))} (n=${stats.ttftMiss.length}), ` +
            `cache hit p50 ${ms(pct(stats.ttftHit, 50))} (n=${stats.ttftHit.length})`);
process.exitCode = stats.failed > 0 ? 1 : 0;
