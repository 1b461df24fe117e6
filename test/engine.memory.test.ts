// The sans-IO engine on its own, no TCP and no streams: a server Engine and a client Engine (GnuTLS
// on both ends) wired together in memory, step by step — handshake, data both ways, close_notify,
// reauth(), rehandshake(), key update, a fatal record — under TLS 1.2 and 1.3. Then every input of
// the native session fuzz corpus (fuzz/corpus/session_fuzz) replayed into a server Engine as the
// bytes of a hostile client: no exception escapes, and no native session outlives its engine.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Engine, Item, Step } from '../lib/engine/engine';
import { SessionSpec } from '../lib/engine/session-setup';
import { binding } from '../lib/native';
import { TLSError, createSecureContext } from '../lib';
import { VERSIONS, Version, fixture } from './helpers';

const ca = fixture('ca.pem');
const pin = (v: Version): { minVersion: Version; maxVersion: Version } => ({ minVersion: v, maxVersion: v });
const serverCtx = (v: Version) => createSecureContext({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ca, ...pin(v) });
const clientCtx = (v: Version) => createSecureContext({ key: fixture('client.key'), cert: fixture('client.pem'), ca, ...pin(v) });

const base = { alpn: [], keylog: () => false };
const serverSpec: SessionSpec = { ...base, isServer: true, verifyClient: 'none' };
const clientSpec: SessionSpec = { ...base, isServer: false, verifyClient: 'none', servername: 'localhost' };

/** Two engines and the ciphertext in flight between them; every item each side produced. */
class Wire {
  readonly items: Record<'s' | 'c', Item[]> = { s: [], c: [] };
  private toServer: Buffer[] = [];
  private toClient: Buffer[] = [];
  constructor(
    readonly s: Engine,
    readonly c: Engine,
  ) {}

  take(side: 's' | 'c', step: Step): void {
    const out = side === 's' ? this.toClient : this.toServer;
    out.push(...step.out);
    this.items[side].push(...step.items);
    // The last handshake flight waits for the adapter's verdict on the peer: accept it.
    if (step.items.some((i) => i.t === 'handshake')) out.push(...(side === 's' ? this.s : this.c).releaseFlight());
  }

  /** Delivers until neither side has anything more to say. */
  run(): void {
    for (let turns = 0; (this.toServer.length || this.toClient.length) && turns < 10000; turns++) {
      const x = this.toServer.shift();
      if (x) this.deliver('s', x);
      const y = this.toClient.shift();
      if (y) this.deliver('c', y);
    }
  }

  /** One chunk in; then, as the adapter does, resume while input is left (a step reads a bounded amount). */
  private deliver(side: 's' | 'c', chunk: Buffer): void {
    const e = side === 's' ? this.s : this.c;
    this.take(side, e.receive(chunk));
    while (e.canRead && e.queuedInput > 0) {
      const before = e.queuedInput;
      this.take(side, e.resume());
      if (e.queuedInput >= before) break;
    }
  }

  send(side: 's' | 'c', data: Buffer): void {
    const e = side === 's' ? this.s : this.c;
    const slab = Buffer.allocUnsafe(data.length + 4096);
    const r = e.write(data, slab, 0);
    expect(r.code).toBe(0);
    this.take(side, r.step);
  }

  data(side: 's' | 'c'): Buffer {
    return Buffer.concat(this.items[side].filter((i): i is Extract<Item, { t: 'data' }> => i.t === 'data').map((i) => i.buf));
  }

  kinds(side: 's' | 'c'): string[] {
    return this.items[side].map((i) => i.t).filter((t) => t !== 'data' && t !== 'keylog');
  }

  close(): void {
    this.s.destroy();
    this.c.destroy();
  }
}

function connected(v: Version, extra: Partial<SessionSpec> = {}): Wire {
  const s = new Engine({ ...serverSpec, ...extra }, serverCtx(v), 16384);
  const c = new Engine(clientSpec, clientCtx(v), 16384);
  const w = new Wire(s, c);
  w.take('s', s.start());
  w.take('c', c.start());
  w.run();
  return w;
}

/** Runs an operation started with `start` on `side` and delivers until it settled. */
async function operate<T>(w: Wire, side: 's' | 'c', start: (e: Engine, resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
  const e = side === 's' ? w.s : w.c;
  let settled: { ok: true; v: T } | { ok: false; err: Error } | null = null;
  w.take(side, e.act(() => start(e, (v) => (settled = { ok: true, v }), (err) => (settled = { ok: false, err }))));
  w.run();
  await Promise.resolve();
  const r = settled as { ok: true; v: T } | { ok: false; err: Error } | null;
  if (!r) throw new Error('operation did not settle');
  if (!r.ok) throw r.err;
  return r.v;
}

afterEach(() => {
  expect(binding.liveSessions()).toBe(0);
});

describe.each(VERSIONS)('two engines in memory (%s)', (v) => {
  test('handshake, data both ways, close_notify', () => {
    const w = connected(v);
    expect(w.kinds('s')).toEqual(['handshake']);
    expect(w.kinds('c')[0]).toBe('handshake');
    expect(w.s.info?.protocol).toBe(v.replace('v', ''));
    expect(w.c.state).toBe('secure');
    const up = randomBytes(300000);
    const down = randomBytes(70000);
    w.send('c', up);
    w.send('s', down);
    w.run();
    expect(w.data('s').equals(up)).toBe(true);
    expect(w.data('c').equals(down)).toBe(true);
    // Plaintext belongs to its connection: no data item shares memory with the other side's.
    const sBufs = new Set(w.items.s.filter((i) => i.t === 'data').map((i) => (i as { buf: Buffer }).buf.buffer));
    for (const i of w.items.c) if (i.t === 'data') expect(sBufs.has(i.buf.buffer)).toBe(false);
    w.take('c', w.c.shutdown());
    w.run();
    expect(w.kinds('s')).toContain('end');
    expect(w.s.peerClosed).toBe(true);
    w.close();
  });

  test('reauth(): the server asks for the certificate again and gets it', async () => {
    const w = connected(v);
    const cert = await operate<{ subject?: { CN?: string } }>(w, 's', (e, res, rej) => e.ops.startReauth(true, undefined, res as (v: unknown) => void, rej));
    expect(cert.subject?.CN).toBe('client.node-gnutls');
    expect(w.kinds('s')).toEqual(expect.arrayContaining(['opStarted', 'verified', 'opEnded']));
    expect(w.kinds('c')).toContain(v === 'TLSv1.3' ? 'reauthAnswered' : 'renegotiated');
    w.close();
  });

  test(v === 'TLSv1.3' ? 'rehandshake() is a key update both ways' : 'rehandshake(): HelloRequest, the client re-handshakes', async () => {
    const w = connected(v);
    await operate(w, 's', (e, res, rej) => e.ops.startRehandshake(undefined, res as (v: unknown) => void, rej));
    w.send('c', Buffer.from('after'));
    w.run();
    expect(w.data('s').toString()).toBe('after');
    expect(w.kinds('s')).toContain(v === 'TLSv1.3' ? 'keyUpdate' : 'opEnded');
    if (v === 'TLSv1.2') expect(w.kinds('c')).toContain('renegotiated');
    w.close();
  });

  test('key update (TLS 1.3 only)', async () => {
    const w = connected(v);
    const p = operate(w, 'c', (e, res, rej) => e.ops.startKeyUpdate(false, res as (v: unknown) => void, rej));
    if (v === 'TLSv1.2') {
      await expect(p).rejects.toBeInstanceOf(TLSError);
    } else {
      await p;
      w.send('c', Buffer.from('x'));
      w.run();
      expect(w.kinds('s')).toContain('keyUpdate');
    }
    w.close();
  });

  test('a corrupted record is a fatal error item with a typed error, and the alert goes out', () => {
    const w = connected(v);
    const slab = Buffer.allocUnsafe(4096);
    const r = w.c.write(Buffer.from('hello'), slab, 0);
    const rec = Buffer.concat(r.step.out);
    rec[rec.length - 1] ^= 1;
    const step = w.s.receive(rec);
    const err = step.items.find((i) => i.t === 'error') as { err: TLSError } | undefined;
    expect(err?.err).toBeInstanceOf(TLSError);
    // OpenSSL 3 (Node) reports a TLS 1.2 AES-GCM record that fails to decrypt from its provider.
    expect(err?.err.code).toBe(v === 'TLSv1.2' ? 'ERR_SSL_CIPHER_OPERATION_FAILED' : 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC');
    expect(err?.err.gnutlsName).toBe('GNUTLS_E_DECRYPTION_FAILED');
    expect(step.out.length).toBeGreaterThan(0); // bad_record_mac
    expect(w.s.closed).toBe(true);
    w.close();
  });
});

describe('the session fuzz corpus, replayed as a hostile client into a server Engine', () => {
  const dir = path.join(__dirname, '..', 'fuzz', 'corpus', 'session_fuzz');
  const inputs = fs.readdirSync(dir).sort();

  test.each(inputs)('%s', (name) => {
    const input = fs.readFileSync(path.join(dir, name));
    const bytes = input.subarray(2);
    const seed = input[1] ?? 0;
    const prepared = ((input[0] ?? 0) & 0x80) !== 0;
    const e = new Engine({ ...serverSpec, verifyClient: (input[0] ?? 0) & 0x10 ? 'require' : 'none' }, serverCtx('TLSv1.3'), 16384);
    const items: Item[] = [...e.start().items];
    // As the ClientHello pipeline does: another context and an ALPN protocol before any byte.
    if (prepared) e.prepareHello(serverCtx('TLSv1.2'), 'h2', null);
    // Chunk sizes from the seed, as the native target splits its feed.
    let size = 1 + (seed % 97);
    for (let off = 0; off < bytes.length && !e.closed; off += size, size = 1 + ((size * 31 + seed) % 1500)) {
      const step = e.receive(bytes.subarray(off, off + size));
      items.push(...step.items);
    }
    for (const i of items) if (i.t === 'error' && i.err) expect((i.err as TLSError).code).toEqual(expect.any(String));
    e.destroy();
  });
});
