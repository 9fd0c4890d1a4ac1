// The peer the hub is compared with: the smallest honest version of a NestJS-style
// socket.io + PostgreSQL support server. `POST /webhook` takes the WhatsApp webhook the hub
// takes, checks its signature, inserts each message into PostgreSQL (durable at the commit,
// as the hub is at its 200), emits it to every connected socket.io client and answers 200.
// No tickets, no routing, no SLA clocks, no per-agent visibility: just insert and emit.
//
// Env: PORT (0 = any free port; the bound port is printed as `listening <port>` on stdout),
// PEER_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), PEER_APP_SECRET (when
// set, `X-Hub-Signature-256` must match, as on the hub).
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const { Pool } = require('pg');
const { Server } = require('socket.io');

const port = Number(process.env.PORT ?? 0);
const secret = process.env.PEER_APP_SECRET ?? '';
const pool = new Pool({
  connectionString: process.env.PEER_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  // Enough connections that concurrent inserts share PostgreSQL's group commit.
  max: 16,
});

// A table of its own, emptied on start so every run begins as the fresh hub does.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS peer_messages (
    id          bigserial PRIMARY KEY,
    wamid       text NOT NULL UNIQUE,
    customer    text NOT NULL,
    name        text,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  );
  TRUNCATE peer_messages;`;

// The hub drops a delivery it has already stored (same wamid); so does the peer.
const INSERT = `
  INSERT INTO peer_messages (wamid, customer, name, body) VALUES ($1, $2, $3, $4)
  ON CONFLICT (wamid) DO NOTHING
  RETURNING id, received_at`;

function validSignature(raw, header) {
  if (!secret) return true;
  const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(raw).digest('hex');
  return typeof header === 'string' && header.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

// The text messages of a WhatsApp `messages` webhook, with the sender's profile name.
function inboundMessages(payload) {
  const found = [];
  for (const entry of payload.entry ?? []) {
    for (const change of entry.changes ?? []) {
      const value = change.value ?? {};
      const names = new Map((value.contacts ?? []).map((c) => [c.wa_id, c.profile?.name]));
      for (const m of value.messages ?? []) {
        if (m.type === 'text') found.push({ wamid: m.id, from: m.from, name: names.get(m.from), text: m.text?.body ?? '' });
      }
    }
  }
  return found;
}

async function handleWebhook(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  if (!validSignature(raw, req.headers['x-hub-signature-256'])) {
    res.writeHead(401).end();
    return;
  }
  let payload;
  try {
    payload = JSON.parse(raw);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const stored = [];
  for (const m of inboundMessages(payload)) {
    const { rows } = await pool.query(INSERT, [m.wamid, m.from, m.name ?? null, m.text]);
    if (rows.length) stored.push({ id: Number(rows[0].id), from: m.from, text: m.text, at: rows[0].received_at });
  }
  // Pushed only after the commit, like the hub: what an agent sees is already durable.
  // One small event (~150 bytes) to every client; no per-agent filtering.
  for (const message of stored) io.emit('message', message);
  res.writeHead(200, { 'content-type': 'text/plain' }).end('EVENT_RECEIVED');
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhook') {
    handleWebhook(req, res).catch((error) => {
      console.error('webhook:', error.message);
      if (!res.headersSent) res.writeHead(500).end();
    });
  } else {
    res.writeHead(404).end();
  }
});

// WebSocket transport only (no long-polling first): the hub's agents use a plain WebSocket.
const io = new Server(server, { transports: ['websocket'], serveClient: false });

async function main() {
  await pool.query(SCHEMA);
  server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}

function stop() {
  io.close();
  server.close();
  pool.end().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

main().catch((error) => {
  console.error('peer:', error.message);
  process.exit(1);
});
