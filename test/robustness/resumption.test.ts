// TLS 1.2 full handshakes and resumption through a proxy that re-frames the client's plaintext
// handshake records (ClientHello, ClientKeyExchange) into small records (and can drop the
// ClientHello's extended_master_secret extension): a Node client resumes with our server
// (session IDs from newSession/resumeSession, with and without an SNICallback that picks another
// context) as it does with gnutls-serv; a resumed ClientHello without EMS for an EMS session is
// answered as gnutls-serv answers it.
import { appendFileSync } from 'fs';
import * as net from 'net';
import * as nodeTls from 'tls';
import * as gtls from '../../lib';
import { fixture, listen, closeServer } from '../helpers';
import { EXT, describeAnswer, records } from './tls-builder';
import { startGnutlsServ } from './servers';

const ca = fixture('ca.pem');
const key = fixture('server.key');
const cert = fixture('server-chain.pem');

/** The ClientHello message of a record stream, with extension `drop` removed (lengths fixed). */
function withoutExtension(msg: Buffer, drop: number): Buffer {
  let p = 4 + 2 + 32;
  p += 1 + msg[p];
  p += 2 + msg.readUInt16BE(p);
  p += 1 + msg[p];
  const extStart = p + 2;
  const kept: Buffer[] = [];
  for (let q = extStart; q + 4 <= msg.length; q += 4 + msg.readUInt16BE(q + 2)) {
    if (msg.readUInt16BE(q) !== drop) kept.push(msg.subarray(q, q + 4 + msg.readUInt16BE(q + 2)));
  }
  const exts = Buffer.concat(kept);
  const body = Buffer.concat([msg.subarray(4, p), Buffer.from([exts.length >> 8, exts.length & 0xff]), exts]);
  const head = Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

/** TLS 1.2: whether the server's first flight is a full handshake (a Certificate) or abbreviated (a ChangeCipherSpec first). */
function flightKind(got: Buffer): string {
  const hs: Buffer[] = [];
  for (let p = 0; p + 5 <= got.length; p += 5 + got.readUInt16BE(p + 3)) {
    if (got[p] === 20) break;
    if (got[p] === 22) hs.push(got.subarray(p + 5, p + 5 + got.readUInt16BE(p + 3)));
  }
  const msgs = Buffer.concat(hs);
  for (let p = 0; p + 4 <= msgs.length; p += 4 + msgs.readUIntBE(p + 1, 3)) if (msgs[p] === 11) return 'full';
  return got.includes(Buffer.from([20, 3, 3, 0, 1, 1])) ? 'abbreviated' : 'incomplete';
}

interface Proxy {
  port: number;
  /** What the server answered first, per connection (in order). */
  answers: string[];
  close(): Promise<void>;
}

/**
 * A proxy to `target` re-framing the client's plaintext handshake records (up to its
 * ChangeCipherSpec: the ClientHello, and under TLS 1.2 the ClientKeyExchange) into `size`-byte
 * records; `dropEms()` decides per connection whether its ClientHello loses extended_master_secret.
 */
async function proxy(target: number, size: number, dropEms: () => boolean): Promise<Proxy> {
  const answers: string[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    conns.add(c).add(up);
    const index = answers.push('nothing') - 1;
    const drop = dropEms();
    let pending = Buffer.alloc(0);
    let plaintext = true;
    let hello = true;
    let back = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      if (!plaintext) return void up.write(d);
      pending = Buffer.concat([pending, d]);
      const out: Buffer[] = [];
      let p = 0;
      while (plaintext && p + 5 <= pending.length && p + 5 + pending.readUInt16BE(p + 3) <= pending.length) {
        const end = p + 5 + pending.readUInt16BE(p + 3);
        if (pending[p] === 22) {
          let body: Buffer = pending.subarray(p + 5, end);
          if (hello && drop) body = withoutExtension(body, EXT.EXTENDED_MASTER_SECRET);
          hello = false;
          out.push(records(body, size, 22, pending.readUInt16BE(p + 1)));
        } else {
          out.push(pending.subarray(p, end));
          if (pending[p] === 20) plaintext = false; // encrypted from here on: passed as it is
        }
        p = end;
      }
      if (!plaintext) {
        out.push(pending.subarray(p));
        p = pending.length;
      }
      up.write(Buffer.concat(out));
      pending = pending.subarray(p);
    });
    up.on('data', (d: Buffer) => {
      back = Buffer.concat([back, d]);
      answers[index] = `${describeAnswer(back) ?? 'nothing'}, ${flightKind(back)}`;
      c.write(d);
    });
    const end = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  const port = await listen(server);
  return {
    port,
    answers,
    close: () => {
      for (const s of conns) s.destroy();
      return closeServer(server);
    },
  };
}

/** Two connections through the proxy, the second offering the first's session. */
async function twice(port: number): Promise<{ reused: boolean[]; errors: string[] }> {
  const reused: boolean[] = [];
  const errors: string[] = [];
  let session: Buffer | undefined;
  for (let i = 0; i < 2; i++) {
    await new Promise<void>((resolve) => {
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2', session });
      c.on('session', (s: Buffer) => (session ??= s));
      c.on('secureConnect', () => {
        reused.push(c.isSessionReused());
        c.write('ping\n');
      });
      c.on('data', () => c.destroy());
      c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
      c.on('close', () => resolve());
      setTimeout(() => c.destroy(), 3000).unref();
    });
  }
  return { reused, errors };
}

/** Our server: TLS 1.2 sessions kept by newSession/resumeSession; with an SNICallback, another context. */
async function ours(sni: boolean): Promise<{ port: number; close: () => Promise<void> }> {
  const other = gtls.createSecureContext({ key, cert });
  const store = new Map<string, Buffer>();
  const server = gtls.createServer({
    key,
    cert,
    honorCipherOrder: false, // gnutls-serv picks by the client's order
    ...(sni ? { SNICallback: (_n: string, cb: (e: Error | null, ctx?: gtls.SecureContext) => void) => setImmediate(() => cb(null, other)) } : {}),
  });
  server.on('newSession', (id, data, cb) => {
    store.set(id.toString('hex'), data);
    cb();
  });
  server.on('resumeSession', (id, cb) => setImmediate(() => cb(null, store.get(id.toString('hex')) ?? null)));
  server.on('secureConnection', (s) => s.pipe(s).on('error', () => {}));
  server.on('tlsClientError', () => {});
  return { port: await listen(server), close: () => closeServer(server) };
}

describe.each([1, 50, 16384])('TLS 1.2 full handshake and resumption, client handshake records re-framed into %i-byte records', (size) => {
  test('gnutls-serv and our server (resumeSession, with and without SNICallback) resume alike', async () => {
    const ref = await startGnutlsServ('NORMAL');
    const p = await proxy(ref.port, size, () => false);
    const reference = await twice(p.port);
    await p.close();
    await ref.stop();
    expect(reference).toEqual({ reused: [false, true], errors: [] });
    for (const sni of [false, true]) {
      const s = await ours(sni);
      const q = await proxy(s.port, size, () => false);
      try {
        expect({ sni, ...(await twice(q.port)) }).toEqual({ sni, ...reference });
      } finally {
        await q.close();
        await s.close();
      }
    }
  });
});

test('a resumed ClientHello without extended_master_secret for an EMS session: answered as gnutls-serv answers', async () => {
  const run = async (target: number): Promise<string> => {
    let n = 0;
    const p = await proxy(target, 200, () => n++ === 1);
    try {
      await twice(p.port);
      return p.answers[1];
    } finally {
      await p.close();
    }
  };
  const ref = await startGnutlsServ('NORMAL');
  const reference = await run(ref.port);
  await ref.stop();
  // RFC 7627 5.3: a server aborts the abbreviated handshake (or falls back to a full one).
  expect(reference).toMatch(/^ServerHello TLS1\.2 .*, (full|abbreviated)$|^alert /);
  if (process.env.NODE_GNUTLS_ROBUSTNESS_REPORT) appendFileSync(process.env.NODE_GNUTLS_ROBUSTNESS_REPORT, `TLS 1.2 | resumed without EMS | ${reference}\n`);
  for (const sni of [false, true]) {
    const s = await ours(sni);
    try {
      expect({ sni, answer: await run(s.port) }).toEqual({ sni, answer: reference });
    } finally {
      await s.close();
    }
  }
});
