// DTLS over a lossy network: an in-process UDP relay between our client and our server drops,
// duplicates and reorders datagrams (seeded, so a failure replays). The handshake must complete
// by GnuTLS's retransmissions (timers armed from gnutls_dtls_get_timeout()), and 1 MiB must get
// across by a small acknowledged protocol on top (DTLS itself, as UDP, does not resend data).
import * as dgram from 'dgram';
import { createHash, randomBytes } from 'crypto';
import { connect, createServer, DTLSSocket } from '../lib/dtls';
import { fixture, onCleanup, once, within } from './helpers';
import { bindServer, trackedDtls } from './helpers/dtls';
import { prng } from './helpers/dtls-wire';

interface RelayStats {
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

/** A relay on 127.0.0.1 forwarding to `target`, one client at a time. */
async function lossyRelay(target: number, loss: number, seed: number, dup = 0.05): Promise<{ port: number; stats: RelayStats }> {
  const rnd = prng(seed);
  const stats: RelayStats = { forwarded: 0, dropped: 0, duplicated: 0, reordered: 0 };
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let clientAddr: dgram.RemoteInfo | null = null;
  const timers = new Set<NodeJS.Timeout>();
  const deliver = (send: () => void): void => {
    if (rnd() < loss) {
      stats.dropped++;
      return;
    }
    const copies = rnd() < dup ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (rnd() < 0.1) {
        // Held back a few ms: later datagrams overtake it.
        stats.reordered++;
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, 1 + Math.floor(rnd() * 8));
        timers.add(t);
      } else {
        send();
      }
      stats.forwarded++;
    }
  };
  front.on('message', (msg, rinfo) => {
    clientAddr = rinfo;
    deliver(() => back.send(msg, target, '127.0.0.1'));
  });
  back.on('message', (msg) => {
    const c = clientAddr;
    if (c) deliver(() => front.send(msg, c.port, c.address));
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    for (const t of timers) clearTimeout(t);
    front.close();
    back.close();
  });
  return { port: front.address().port, stats };
}

const CHUNK = 1000;
const TOTAL = 1024 * 1024;

/** Sends `data` in numbered chunks, resending each until the server acknowledges it. */
function sendReliably(c: DTLSSocket, data: Buffer): Promise<void> {
  const count = Math.ceil(data.length / CHUNK);
  const acked = new Uint8Array(count);
  let left = count;
  let next = 0;
  const WINDOW = 96;
  const inFlight = new Map<number, number>(); // seq → last sent (ms)
  const sendChunk = (seq: number): void => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(seq);
    c.send(Buffer.concat([head, data.subarray(seq * CHUNK, (seq + 1) * CHUNK)]));
    inFlight.set(seq, Date.now());
  };
  return new Promise((resolve) => {
    const fill = (): void => {
      while (inFlight.size < WINDOW && next < count) sendChunk(next++);
    };
    c.on('message', (m) => {
      const seq = m.readUInt32BE(0);
      if (seq < count && !acked[seq]) {
        acked[seq] = 1;
        inFlight.delete(seq);
        if (--left === 0) {
          clearInterval(timer);
          resolve();
          return;
        }
      }
      fill();
    });
    const timer = setInterval(() => {
      const now = Date.now();
      for (const [seq, at] of inFlight) if (now - at > 40) sendChunk(seq);
    }, 20);
    onCleanup(() => clearInterval(timer));
    fill();
  });
}

/** Our server, assembling what arrives and acknowledging every chunk (duplicates included). */
async function reassemblingServer(): Promise<{ port: number; received: () => Promise<Buffer> }> {
  let done!: (b: Buffer) => void;
  const finished = new Promise<Buffer>((r) => (done = r));
  const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), retransmitTimeout: 50 }, (s) => {
    const out = Buffer.alloc(TOTAL);
    const seen = new Set<number>();
    const count = Math.ceil(TOTAL / CHUNK);
    s.on('message', (m) => {
      const seq = m.readUInt32BE(0);
      if (!seen.has(seq)) {
        seen.add(seq);
        m.copy(out, seq * CHUNK, 4);
        if (seen.size === count) done(out);
      }
      s.send(m.subarray(0, 4));
    });
  });
  server.on('clientError', () => {});
  return { port: await bindServer(server), received: () => finished };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each([
  [0.1, 1],
  [0.3, 7],
])('through a relay losing %p of datagrams (seed %p)', (loss, seed) => {
  test('the handshake completes and 1 MiB arrives intact', async () => {
    const server = await reassemblingServer();
    const relay = await lossyRelay(server.port, loss, seed);
    const c = trackedDtls(connect({ host: '127.0.0.1', port: relay.port, servername: 'localhost', ca: fixture('ca.pem'), retransmitTimeout: 50 }));
    await once(c, 'secureConnect', 20000);
    expect(c.authorized).toBe(true);
    const data = randomBytes(TOTAL);
    const t0 = Date.now();
    await within(sendReliably(c, data), 30000, '1 MiB acknowledged');
    expect(sha(await server.received())).toBe(sha(data));
    expect(relay.stats.dropped).toBeGreaterThan(0);
    expect(relay.stats.duplicated).toBeGreaterThan(0);
    expect(relay.stats.reordered).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(30000);
  }, 45000);
});

test('replay protection: a relay that duplicates every datagram, each message arrives once', async () => {
  const got: string[] = [];
  const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => s.on('message', (m) => got.push(m.toString())));
  const port = await bindServer(server);
  const relay = await lossyRelay(port, 0, 3, 1);
  const c = trackedDtls(connect({ host: '127.0.0.1', port: relay.port, servername: 'localhost', ca: fixture('ca.pem') }));
  await once(c, 'secureConnect');
  // Paced, so that the kernel's socket buffers drop nothing (a drop would prove nothing).
  for (let i = 0; i < 200; i++) {
    c.send(`m${i}`);
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
  }
  await within(
    (async () => {
      while (got.length < 200) await new Promise((r) => setTimeout(r, 10));
    })(),
    5000,
    '200 messages',
  );
  await new Promise((r) => setTimeout(r, 100)); // the duplicates arrive and are dropped
  expect(relay.stats.duplicated).toBeGreaterThanOrEqual(200);
  expect(got.length).toBe(200);
  expect(new Set(got).size).toBe(200);
});
