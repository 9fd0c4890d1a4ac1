// One Node client, one run: the same open-loop WhatsApp load first against the hub, then against
// the socket.io + PostgreSQL peer (server.js, started here as a child process), and both results
// side by side. Against the hub it does what `switchboard-load whatsapp` does (src/scenarios.rs,
// agents.rs, webhook.rs, hub.rs); against the peer the same webhooks and the same timing.
//
//   node compare.js --hub http://127.0.0.1:8080 --agents 10 --customers 200 --rate 500 --duration 20
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const WebSocket = require('ws');
const { io: ioClient } = require('socket.io-client');

const { values: opts } = parseArgs({
  options: {
    hub: { type: 'string', default: 'http://127.0.0.1:8080' },
    agents: { type: 'string', default: '10' },
    customers: { type: 'string', default: '200' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
    'admin-email': { type: 'string', default: process.env.SWITCHBOARD_LOAD_ADMIN_EMAIL ?? 'admin@demo.switchboard.test' },
    'admin-password': { type: 'string', default: process.env.SWITCHBOARD_LOAD_ADMIN_PASSWORD ?? 'switchboard-demo' },
    'app-secret': { type: 'string', default: process.env.SWITCHBOARD_LOAD_APP_SECRET },
    'phone-number-id': { type: 'string', default: '100200300400500' },
    // `hub` or `peer` alone, e.g. to check one side; both by default.
    only: { type: 'string' },
  },
});
const AGENTS = Number(opts.agents);
const CUSTOMERS = Number(opts.customers);
const RATE = Number(opts.rate);
const DURATION = Number(opts.duration);
const HUB = opts.hub.replace(/\/+$/, '');
// Keep-alive connections for the webhooks, as reqwest's pool in the Rust tool.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });

// µs since the epoch on this machine's clock (generator and agents share this process).
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (line) => process.stderr.write(`\r\x1b[K${line}`);

// ---------------------------------------------------------------------------------------------
// HTTP

function request(method, url, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: httpAgent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { json = text; }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function api(method, pathname, token, body, want) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(method, HUB + pathname, { body: body === undefined ? undefined : JSON.stringify(body), headers });
  if (res.status !== want) throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

// Up to `limit` promises of `items.map(fn)` at a time (hub.rs prepares agents 32 at a time).
async function inBatches(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// The hub's side (hub.rs): admin login, load agents with fresh API tokens, the app secret.

async function hubLogin() {
  const res = await request('POST', `${HUB}/api/v1/auth/login`, {
    body: JSON.stringify({ email: opts['admin-email'], password: opts['admin-password'] }),
    headers: { 'content-type': 'application/json' },
  }).catch((error) => { throw new Error(`is the hub running at ${HUB}? ${error.message}`); });
  if (!res.json?.token) throw new Error(`login failed (${res.status}): did you run \`switchboard demo\`?`);
  return res.json.token;
}

// Tokens for `count` load agents, creating the missing ones as invited agents (no password, so
// no password hashing per agent). The same users as the Rust tool's; tokens are fresh.
async function hubAgentTokens(admin, count) {
  const listed = await api('GET', '/api/v1/users?role=agent', admin, undefined, 200);
  const ids = new Map((listed.items ?? []).map((user) => [user.email, user.id]));
  const emails = Array.from({ length: count }, (_, n) => `load-agent-${String(n).padStart(5, '0')}@load.switchboard.test`);
  await inBatches(emails.filter((email) => !ids.has(email)), 32, async (email) => {
    const body = { email, name: email.split('@')[0], role: 'agent', capacity: 10 };
    ids.set(email, (await api('POST', '/api/v1/users', admin, body, 201)).id);
  });
  return inBatches(emails, 32, async (email) =>
    (await api('POST', `/api/v1/users/${ids.get(email)}/tokens`, admin, { expires_in_days: 1 }, 201)).token);
}

async function hubAppSecret(admin) {
  const secrets = await api('GET', '/api/v1/account/channel-secrets', admin, undefined, 200);
  const secret = secrets?.whatsapp?.app_secret?.value;
  if (!secret) throw new Error(`no app secret in ${JSON.stringify(secrets)}`);
  return secret;
}

// ---------------------------------------------------------------------------------------------
// Webhooks (webhook.rs): one text message per signed delivery, as Meta sends them.

function webhookBody(phoneNumberId, from, wamid, text) {
  const now = String(Math.floor(Date.now() / 1000));
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'LOADWABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550100001', phone_number_id: phoneNumberId },
      contacts: [{ profile: { name: `Load ${from}` }, wa_id: String(from) }],
      messages: [{ from: String(from), id: wamid, timestamp: now, type: 'text', text: { body: text } }],
    } }] }],
  });
}

const sign = (secret, body) => 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');

// ---------------------------------------------------------------------------------------------
// Marked frames: message bodies `<marker><n>:<µs when due>`.

// What one target measured.
class Tally {
  constructor(total) {
    this.total = total;
    this.latencies = []; // due → received, µs, one per (agent, n)
    this.responses = []; // due → webhook answered, µs
    this.matched = 0;
    this.duplicated = 0;
    this.frames = 0; // every frame of every type
    this.bytes = 0; // their payload bytes
    this.connected = 0;
    this.acked = 0;
    this.errors = 0;
    this.disconnects = 0; // sockets the server closed during the run
    this.stopping = false;
  }

  // A seen-bitmap per agent, so each (agent, n) counts once and repeats are exact.
  seenSet() { return new Uint8Array(this.total); }

  record(seen, n, dueUs, receivedUs) {
    if (!(n >= 0 && n < this.total)) return;
    if (seen[n]) { this.duplicated++; return; }
    seen[n] = 1;
    this.matched++;
    this.latencies.push(receivedUs - dueUs);
  }
}

function markedNumber(text, marker) {
  if (!text.startsWith(marker)) return null;
  const [n, due] = text.slice(marker.length).split(/[:" ]/, 2).map(Number);
  return Number.isFinite(n) && Number.isFinite(due) ? { n, due } : null;
}

// The marked message in a hub `message_added` event frame, found by scanning as agents.rs does:
// on `queue` the message's text is the row's `preview` (the row's subject may quote the first
// message, so only the preview is read there).
function hubMarked(text, marker) {
  if (!text.startsWith('{"type":"event"')) return null;
  const start = text.indexOf('"event":{');
  if (start < 0) return null;
  const rowAt = text.indexOf(',"row":{', start);
  const event = text.slice(start, rowAt < 0 ? text.length : rowAt);
  if (!event.includes('"type":"message_added"')) return null;
  if (rowAt < 0) {
    const at = event.indexOf(marker);
    return at < 0 ? null : markedNumber(event.slice(at), marker);
  }
  const preview = text.indexOf('"preview":"', rowAt);
  return preview < 0 ? null : markedNumber(text.slice(preview + 11), marker);
}

// ---------------------------------------------------------------------------------------------
// Agents

// One hub agent: `/api/v1/ws?token=…`, subscribed to `queue` (their own queue, which holds the
// shared inbox where new WhatsApp tickets land), a `ping` frame every 25 s as in the Rust tool.
function hubAgent(tally, token, marker) {
  const url = `${HUB.replace(/^http/, 'ws')}/api/v1/ws?token=${token}`;
  const seen = tally.seenSet();
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    let heartbeat;
    socket.on('open', () => {
      tally.connected++;
      socket.send('{"type":"subscribe","topic":"queue"}');
      heartbeat = setInterval(() => socket.send('{"type":"ping"}'), 25_000);
      resolve(() => { clearInterval(heartbeat); socket.close(); });
    });
    socket.on('message', (data, isBinary) => {
      const received = nowUs();
      tally.frames++;
      tally.bytes += data.length;
      if (isBinary) return;
      const marked = hubMarked(data.toString(), marker);
      if (marked) tally.record(seen, marked.n, marked.due, received);
    });
    socket.on('close', () => { clearInterval(heartbeat); if (!tally.stopping) tally.disconnects++; });
    socket.on('error', reject);
  });
}

// One peer agent: a socket.io client over WebSocket, listening to `message`.
function peerAgent(tally, base, marker) {
  const seen = tally.seenSet();
  return new Promise((resolve, reject) => {
    const socket = ioClient(base, { transports: ['websocket'], reconnection: false, forceNew: true });
    socket.on('connect', () => {
      tally.connected++;
      resolve(() => socket.close());
    });
    // Count the raw engine.io packets too, for bytes per frame.
    socket.io.on('open', () => socket.io.engine.on('data', (data) => { tally.frames++; tally.bytes += data.length; }));
    socket.on('message', (message) => {
      const marked = markedNumber(message.text ?? '', marker);
      if (marked) tally.record(seen, marked.n, marked.due, nowUs());
    });
    socket.on('disconnect', () => { if (!tally.stopping) tally.disconnects++; });
    socket.on('connect_error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The load (scenarios.rs `whatsapp`): open loop, each webhook leaves when due whatever earlier
// ones take, and every latency counts from when it was due (no coordinated omission).

async function openLoop(tally, url, secret, marker, label) {
  const base = 5_500_000_000_000 + (Math.floor(Date.now()) % 100_000_000) * 10_000; // fresh customers
  const intervalUs = 1_000_000 / RATE;
  const startedUs = nowUs();
  const pending = [];
  let n = 0;
  let lastProgress = 0;
  while (n < tally.total) {
    // Send everything due by now (a late timer sends a burst, with the due times it had).
    const now = nowUs();
    while (n < tally.total && startedUs + n * intervalUs <= now) {
      const due = Math.round(startedUs + n * intervalUs);
      const body = webhookBody(opts['phone-number-id'], base + (n % CUSTOMERS), `wamid.${marker}${n}`, `${marker}${n}:${due}`);
      const headers = { 'content-type': 'application/json', 'x-hub-signature-256': sign(secret, body) };
      pending.push(request('POST', url, { body, headers }).then(
        (res) => { if (res.status >= 200 && res.status < 300) tally.acked++; else tally.errors++; },
        () => { tally.errors++; },
      ).finally(() => tally.responses.push(nowUs() - due)));
      n++;
    }
    if (now - lastProgress > 1_000_000) {
      lastProgress = now;
      progress(`${label} webhooks: sent ${n}/${tally.total}, acked ${tally.acked}, errors ${tally.errors}`);
    }
    const nextDue = startedUs + n * intervalUs;
    await sleep(Math.max(0, (nextDue - nowUs()) / 1000));
  }
  await Promise.all(pending);
}

async function measure(label, { agents, webhookUrl, secret }) {
  const marker = `load:${nowUs().toString(16)}:`;
  const tally = new Tally(Math.round(RATE * DURATION));
  progress(`${label}: connecting ${AGENTS} agents`);
  const closers = await Promise.all(agents.map((connect) => connect(tally, marker)));
  await sleep(500); // let subscriptions settle before measuring, as the Rust tool does
  const framesBefore = tally.frames;
  const bytesBefore = tally.bytes;
  const connected = tally.connected;
  await openLoop(tally, webhookUrl, secret, marker, label);
  const wanted = tally.acked * connected;
  const limit = Date.now() + 30_000;
  while (tally.matched < wanted && Date.now() < limit) {
    progress(`${label} delivering: ${tally.matched}/${wanted} frames`);
    await sleep(20);
  }
  await sleep(600); // frames of other types that trail the marked ones
  tally.stopping = true; // from here on a closed socket is ours, not a drop
  for (const close of closers) close();
  progress('');
  process.stderr.write('\r\x1b[K');
  return { tally, connected, wanted, frames: tally.frames - framesBefore, bytes: tally.bytes - bytesBefore };
}

// ---------------------------------------------------------------------------------------------
// The peer as a child process on a free port.

function startPeer(secret) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
      env: { ...process.env, PORT: '0', PEER_APP_SECRET: secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.on('exit', (code) => reject(new Error(`server.js exited (${code})`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (line) => {
      const port = /listening (\d+)/.exec(line)?.[1];
      if (port) resolve({ child, base: `http://127.0.0.1:${port}` });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The table

// Exact percentile over every recorded sample (nearest rank), in ms.
function percentile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000;
}

function summary(result) {
  const { tally, connected, wanted, frames, bytes } = result;
  const lat = Float64Array.from(tally.latencies).sort();
  const resp = Float64Array.from(tally.responses).sort();
  const ms = (v) => (Number.isNaN(v) ? '-' : v.toFixed(2));
  return [
    ['agents connected', connected],
    ['webhooks sent', tally.total],
    ['webhooks acknowledged', tally.acked],
    ['webhook errors', tally.errors],
    ['due -> agent p50 ms', ms(percentile(lat, 0.5))],
    ['due -> agent p90 ms', ms(percentile(lat, 0.9))],
    ['due -> agent p99 ms', ms(percentile(lat, 0.99))],
    ['due -> agent max ms', ms(percentile(lat, 1))],
    ['webhook answer p50 ms', ms(percentile(resp, 0.5))],
    ['webhook answer p99 ms', ms(percentile(resp, 0.99))],
    ['frames expected', wanted],
    ['frames received', tally.matched],
    ['frames lost', Math.max(0, wanted - tally.matched)],
    ['frames duplicated', tally.duplicated],
    ['sockets dropped', tally.disconnects],
    ['frames per agent per msg', (frames / Math.max(1, connected) / Math.max(1, tally.acked)).toFixed(2)],
    ['bytes per frame', Math.round(bytes / Math.max(1, frames))],
  ];
}

function printTable(columns) {
  const names = Object.keys(columns);
  const rows = Object.fromEntries(names.map((name) => [name, summary(columns[name])]));
  const labels = rows[names[0]].map(([label]) => label);
  console.log(`whatsapp: ${AGENTS} agents, ${CUSTOMERS} customers, ${RATE} msgs/s for ${DURATION} s`);
  const width = names.map((name) => Math.max(12, name.length));
  const cell = (text, i) => String(text).padStart(width[i]);
  console.log(['| ' + ''.padEnd(26), ...names.map(cell)].join(' | ') + ' |');
  console.log(['|' + '-'.repeat(28), ...width.map((w) => '-'.repeat(w + 1) + ':')].join('|') + '|');
  labels.forEach((label, row) => {
    console.log(['| ' + label.padEnd(26), ...names.map((name, i) => cell(rows[name][row][1], i))].join(' | ') + ' |');
  });
}

async function main() {
  const results = {};
  let secret = opts['app-secret'];
  if (opts.only !== 'peer') {
    const admin = await hubLogin();
    secret ??= await hubAppSecret(admin);
    const tokens = await hubAgentTokens(admin, AGENTS);
    results.hub = await measure('hub', {
      agents: tokens.map((token) => (tally, marker) => hubAgent(tally, token, marker)),
      webhookUrl: `${HUB}/webhooks/whatsapp`,
      secret,
    });
  }
  if (opts.only !== 'hub') {
    secret ??= crypto.randomBytes(16).toString('hex');
    const peer = await startPeer(secret);
    try {
      results['socket.io peer'] = await measure('peer', {
        agents: Array.from({ length: AGENTS }, () => (tally, marker) => peerAgent(tally, peer.base, marker)),
        webhookUrl: `${peer.base}/webhook`,
        secret,
      });
    } finally {
      peer.child.removeAllListeners('exit');
      peer.child.kill('SIGTERM');
    }
  }
  printTable(results);
  httpAgent.destroy();
  const failed = Object.values(results).some((r) => r.tally.matched < r.wanted || r.tally.duplicated > 0);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(`\n${error.message}`);
  process.exit(2);
});
