// TLSSocket as a stream, against real peers (Node's tls, our own Server/connect, curl): 64 MiB
// transfers checked by SHA-256, backpressure on both sides, an in-process Duplex transport,
// half-close, cork and tiny writes, writes around the handshake, Node's http served over our
// Server, and idle timeouts. TLS 1.2 and TLS 1.3 wherever the record layer can make a difference.
import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { Duplex, Readable, Writable } from 'stream';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { VERSIONS, Version, closeServer, fixture, fixturePath, listen, once, readAll, sha256, spawnPeer } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const pin = (v: Version): { minVersion: Version; maxVersion: Version } => ({ minVersion: v, maxVersion: v });
const MiB = 1 << 20;
/** The payload of every bulk test: random, generated once, hashed once. */
const DATA = randomBytes(64 * MiB);
const DATA_SHA = sha256(DATA);
const WHOLE = { bytes: DATA.length, sha: DATA_SHA };
/** Write sizes the bulk writers cycle through: around a TLS record (16 KiB) and our 1 MiB slice. */
const SIZES = [65536, 1, 16383, 16384, 16385, 1000, MiB, MiB + 1, 3 * MiB + 5, 250000];
/** What "bounded" means for a buffer of a paused stream (64 MiB are being pushed at it). */
const BOUND = 2 * MiB;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- resources: everything a test opens is torn down after it, pass or fail --------------------

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track<T extends { destroy(): unknown }>(s: T): T {
  cleanups.push(() => s.destroy());
  return s;
}

/** listen() on 127.0.0.1; afterwards its connections are destroyed and it is closed. */
async function serve(server: net.Server): Promise<number> {
  const conns = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    conns.add(s);
    s.once('close', () => conns.delete(s));
  });
  cleanups.push(async () => {
    for (const s of conns) s.destroy();
    await closeServer(server);
  });
  return listen(server);
}

function ourClient(port: number, v: Version, extra: gtls.ConnectionOptions = {}): gtls.TLSSocket {
  return track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...pin(v), ...extra }));
}

function nodeClient(port: number, v: Version, extra: nodeTls.ConnectionOptions = {}): nodeTls.TLSSocket {
  return track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...pin(v), ...extra }));
}

/** The first connection a server reports through `event`. */
function first<T>(server: net.Server, event = 'secureConnection'): Promise<T> {
  return once<T>(server, event, 30000);
}

// ---- writing and reading with hashes on both ends ----------------------------------------------

interface Sending {
  /** Bytes the writable has accepted so far. */
  accepted(): number;
  /** SHA-256 of everything written (once done). */
  sha(): string;
  done: Promise<void>;
}

/** Writes `data` in chunks of cycling sizes, honouring write()'s return value and 'drain'. */
function send(w: Writable, data: Buffer, sizes: number[] = SIZES, end = true): Sending {
  const h = createHash('sha256');
  let off = 0;
  let i = 0;
  let digest: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    const onClose = (): void => reject(new Error(`writable closed after ${off} of ${data.length} bytes`));
    w.once('error', onError);
    w.once('close', onClose);
    const pump = (): void => {
      while (off < data.length) {
        const chunk = data.subarray(off, Math.min(data.length, off + sizes[i++ % sizes.length]));
        h.update(chunk);
        off += chunk.length;
        if (!w.write(chunk)) {
          w.once('drain', pump);
          return;
        }
      }
      w.off('error', onError);
      w.off('close', onClose);
      if (end) w.end();
      resolve();
    };
    pump();
  });
  return { accepted: () => off, sha: () => (digest ??= h.digest('hex')), done };
}

interface Received {
  bytes: number;
  sha: string;
}

/** Reads until 'end', hashing; `onData(total)` after every chunk. */
function receive(r: Readable, onData?: (total: number) => void): Promise<Received> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    let ended = false;
    r.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
      onData?.(bytes);
    });
    r.once('end', () => {
      ended = true;
      resolve({ bytes, sha: h.digest('hex') });
    });
    r.once('error', reject);
    r.once('close', () => {
      if (!ended) reject(new Error(`closed before 'end' after ${bytes} bytes`));
    });
  });
}

/**
 * Samples (via `sample`) until the sender's accepted byte count has not moved for `quietMs`, and
 * returns that count. A receiver that buffers without limit lets it reach the full 64 MiB.
 */
async function untilStalled(accepted: () => number, sample: () => void, quietMs = 400, maxMs = 15000): Promise<number> {
  const start = Date.now();
  let last = -1;
  let since = start;
  for (;;) {
    sample();
    const now = accepted();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    if (Date.now() - start > maxMs) throw new Error(`sender never stalled (${now} bytes accepted)`);
    await sleep(20);
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---- an in-process transport: two Duplex ends wired to each other ------------------------------

/** One end of a duplexPair(): what is written here is pushed into the peer's readable side. */
class PairEnd extends Duplex {
  peer!: PairEnd;
  /** Every chunk as the peer received it (one entry per 'data' event on the peer). */
  readonly delivered: Buffer[] = [];
  private _blocked: (() => void) | null = null;
  private _queue: Buffer[] = [];
  private _scheduled = false;
  private _afterQueue: (() => void) | null = null;

  constructor(private readonly coalesce: boolean) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.coalesce) {
      // Everything written in one turn of the event loop reaches the peer as one chunk.
      // (The write completes at once, so that the next one joins the queue.)
      this._queue.push(chunk);
      cb();
      if (!this._scheduled) {
        this._scheduled = true;
        setImmediate(() => this._deliverQueue());
      }
      return;
    }
    this._deliver(chunk, cb);
  }

  private _deliver(chunk: Buffer, cb: () => void): void {
    this.delivered.push(chunk);
    // Honour the peer's backpressure: our write completes when the peer wants more.
    if (this.peer.push(chunk)) cb();
    else this._blocked = cb;
  }

  private _deliverQueue(): void {
    this._scheduled = false;
    const chunk = Buffer.concat(this._queue);
    this._queue = [];
    this.delivered.push(chunk);
    this.peer.push(chunk);
    const after = this._afterQueue;
    this._afterQueue = null;
    after?.();
  }

  override _read(): void {
    const cb = this.peer._blocked;
    this.peer._blocked = null;
    cb?.();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const fin = (): void => {
      this.peer.push(null);
      cb();
    };
    if (this._scheduled) this._afterQueue = fin;
    else fin();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    // Like a dropped connection: the peer sees EOF if we never ended.
    if (!this.writableEnded && !this.peer.readableEnded) this.peer.push(null);
    cb(err);
  }
}

function duplexPair(coalesce = false): [PairEnd, PairEnd] {
  const a = track(new PairEnd(coalesce));
  const b = track(new PairEnd(coalesce));
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** TLS record content types in a chunk of ciphertext (20 CCS, 21 alert, 22 handshake, 23 data). */
function recordTypes(chunk: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 5 <= chunk.length; i += 5 + chunk.readUInt16BE(i + 3)) types.push(chunk[i]);
  return types;
}

// =================================================================================================

describe.each(VERSIONS)('64 MiB transfers, SHA-256 on both ends (%s)', (v) => {
  test('upload: our client → Node tls server', async () => {
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const got = first<nodeTls.TLSSocket>(server).then((s) => receive(s));
    const c = ourClient(port, v);
    await once(c, 'secureConnect');
    expect(c.getProtocol()).toBe(v);
    c.resume();
    const sending = send(c, DATA);
    await sending.done;
    expect(sending.sha()).toBe(DATA_SHA);
    expect(await got).toEqual(WHOLE);
    await once(c, 'close'); // the server ends after our end: both directions shut down cleanly
  });

  test('upload: Node tls client → our server', async () => {
    const server = gtls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const got = first<gtls.TLSSocket>(server).then((s) => receive(s));
    const c = nodeClient(port, v);
    await once(c, 'secureConnect');
    c.resume();
    const sending = send(c, DATA);
    await sending.done;
    expect(await got).toEqual(WHOLE);
    await once(c, 'close');
  });

  test('download: Node tls server → our client', async () => {
    let sending: Sending | undefined;
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
      sending = send(s, DATA);
    });
    const port = await serve(server);
    const c = ourClient(port, v);
    expect(await receive(c)).toEqual(WHOLE);
    await sending!.done;
    expect(sending!.sha()).toBe(DATA_SHA);
  });

  test('download: our server → Node tls client', async () => {
    let sending: Sending | undefined;
    const server = gtls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
      sending = send(s, DATA);
    });
    const port = await serve(server);
    const c = nodeClient(port, v);
    expect(await receive(c)).toEqual(WHOLE);
    await sending!.done;
    expect(sending!.sha()).toBe(DATA_SHA);
  });
});

describe.each(VERSIONS)('backpressure and bounded buffers (%s)', (v) => {
  test('read side: our client pauses mid-stream; its buffers stay bounded and the Node server is held back', async () => {
    let sending: Sending | undefined;
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
      sending = send(s, DATA, [65536]);
    });
    const port = await serve(server);
    const c = ourClient(port, v);
    let pausedAt = -1;
    let total = 0;
    const got = receive(c, (n) => {
      total = n;
      if (pausedAt < 0 && n >= 4 * MiB) {
        pausedAt = n;
        c.pause();
      }
    });
    await until(() => pausedAt >= 0, 'the first 4 MiB');
    let maxTls = 0;
    let maxRaw = 0;
    const accepted = await untilStalled(
      () => sending!.accepted(),
      () => {
        maxTls = Math.max(maxTls, c.readableLength);
        maxRaw = Math.max(maxRaw, c.socket.readableLength);
      },
    );
    expect(total).toBe(pausedAt); // no 'data' while paused
    expect(accepted).toBeLessThan(DATA.length);
    expect(maxTls).toBeGreaterThan(0);
    expect(maxTls).toBeLessThan(BOUND);
    expect(maxRaw).toBeLessThan(BOUND);
    c.resume();
    expect(await got).toEqual(WHOLE);
  });

  test('read side: our server does not read while a Node client uploads; bounded, then completes', async () => {
    const server = gtls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const ours = first<gtls.TLSSocket>(server);
    const c = nodeClient(port, v);
    await once(c, 'secureConnect');
    c.resume();
    const sending = send(c, DATA, [65536]);
    const s = await ours;
    let maxTls = 0;
    let maxRaw = 0;
    const accepted = await untilStalled(sending.accepted, () => {
      maxTls = Math.max(maxTls, s.readableLength);
      maxRaw = Math.max(maxRaw, s.socket.readableLength);
    });
    expect(accepted).toBeLessThan(DATA.length);
    expect(maxTls).toBeLessThan(BOUND);
    expect(maxRaw).toBeLessThan(BOUND);
    expect(await receive(s)).toEqual(WHOLE);
    await sending.done;
  });

  test('write side: our client writes 64 MiB honouring drain to a Node server that does not read at first', async () => {
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const theirs = first<nodeTls.TLSSocket>(server);
    const c = ourClient(port, v);
    await once(c, 'secureConnect');
    c.resume();
    const sending = send(c, DATA);
    const s = await theirs;
    let maxTls = 0;
    let maxRaw = 0;
    const accepted = await untilStalled(sending.accepted, () => {
      maxTls = Math.max(maxTls, c.writableLength);
      maxRaw = Math.max(maxRaw, c.socket.writableLength);
    });
    expect(accepted).toBeLessThan(DATA.length); // write() said "wait" and no 'drain' came
    expect(c.writableNeedDrain).toBe(true);
    expect(maxTls).toBeLessThan(4 * MiB); // at most the high-water mark plus one (3 MiB) write
    expect(maxRaw).toBeLessThan(BOUND);
    const got = receive(s);
    await sending.done;
    expect(sending.sha()).toBe(DATA_SHA);
    expect(await got).toEqual(WHOLE);
  });

  test('write side: our server writes 64 MiB honouring drain to a Node client that does not read at first', async () => {
    let sending: Sending | undefined;
    let ours: gtls.TLSSocket | undefined;
    const server = gtls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
      ours = s;
      sending = send(s, DATA);
    });
    const port = await serve(server);
    const c = nodeClient(port, v);
    await once(c, 'secureConnect');
    await until(() => sending !== undefined, 'secureConnection');
    let maxTls = 0;
    let maxRaw = 0;
    const accepted = await untilStalled(sending!.accepted, () => {
      maxTls = Math.max(maxTls, ours!.writableLength);
      maxRaw = Math.max(maxRaw, ours!.socket.writableLength);
    });
    expect(accepted).toBeLessThan(DATA.length);
    expect(maxTls).toBeLessThan(4 * MiB);
    expect(maxRaw).toBeLessThan(BOUND);
    expect(await receive(c)).toEqual(WHOLE);
    expect(sending!.sha()).toBe(DATA_SHA);
  });

  test('in-process transport (no kernel buffers): a reader that does not read stops the writer within 2 MiB', async () => {
    const [a, b] = duplexPair();
    const server = track(new gtls.TLSSocket(b, { isServer: true, ...serverOpts, ...pin(v) }));
    const client = track(gtls.connect({ socket: a, servername: 'localhost', ca, ...pin(v) }));
    await Promise.all([once(server, 'secure'), once(client, 'secureConnect')]);
    server.resume();
    const sending = send(server, DATA, [65536]);
    let maxTls = 0;
    const accepted = await untilStalled(sending.accepted, () => {
      maxTls = Math.max(maxTls, client.readableLength);
    });
    expect(accepted).toBeLessThan(2 * MiB);
    expect(maxTls).toBeLessThan(BOUND);
    expect(a.readableLength + b.writableLength).toBeLessThan(BOUND);
    expect(await receive(client)).toEqual(WHOLE);
    await sending.done;
  });
});

describe.each(VERSIONS)('in-process Duplex pair, no TCP (%s)', (v) => {
  test('new TLSSocket(duplex, { isServer }) and connect({ socket }) exchange data both ways and end cleanly', async () => {
    const [a, b] = duplexPair();
    const server = track(new gtls.TLSSocket(b, { isServer: true, ...serverOpts, ...pin(v) }));
    const client = track(gtls.connect({ socket: a, servername: 'localhost', ca, ...pin(v) }));
    await Promise.all([once(server, 'secure'), once(client, 'secureConnect')]);
    expect(client.authorized).toBe(true);
    expect(client.getProtocol()).toBe(v);
    expect(server.getProtocol()).toBe(v);
    expect(client.socket).toBe(a);

    // A request/response round first, then both directions at once.
    client.write('PLAINTEXT-MARKER ping');
    const ping = await once<Buffer>(server, 'data');
    expect(ping.toString()).toBe('PLAINTEXT-MARKER ping');
    server.write('pong');
    const pong = (await once<Buffer>(client, 'data')).toString();
    expect(pong).toBe('pong');

    const up = DATA.subarray(0, 5 * MiB + 7);
    const down = DATA.subarray(10 * MiB, 17 * MiB + 3);
    const toServer = receive(server);
    const toClient = receive(client);
    const closed = Promise.all([once(server, 'close'), once(client, 'close')]);
    // Both write at once; each ends only when both are done (allowHalfOpen is false on both, so
    // an early end would end the other side's writing too, as with Node's tls).
    const s1 = send(client, up, SIZES, false);
    const s2 = send(server, down, SIZES, false);
    await Promise.all([s1.done, s2.done]);
    client.end();
    server.end();
    expect(await toServer).toEqual({ bytes: up.length, sha: sha256(up) });
    expect(await toClient).toEqual({ bytes: down.length, sha: sha256(down) });
    await closed;
    expect(a.writableFinished && b.writableFinished).toBe(true); // each side sent close_notify + EOF
    // The ciphertext really went through the pair, encrypted.
    const wire = Buffer.concat(a.delivered);
    expect(wire.length).toBeGreaterThan(up.length);
    expect(wire.includes('PLAINTEXT-MARKER')).toBe(false);
  });
});

describe.each(VERSIONS)('half-close with allowHalfOpen (%s)', (v) => {
  const request = DATA.subarray(0, MiB + 17);
  const reply = (got: Buffer): string => `reply to ${got.length} bytes ${sha256(got)}`;
  const expected = reply(request);

  /** Server side: after 'end', wait a little (the connection stays half open), then answer. */
  const answer = (s: Duplex): void => {
    void readAll(s).then(async (got) => {
      await sleep(50);
      s.end(reply(got));
    });
  };

  /** Client side: end first, then read the reply. */
  async function ask(c: Duplex): Promise<string> {
    c.end(request);
    await once(c, 'finish');
    return (await readAll(c)).toString();
  }

  test('our client ends first, our server replies after "end"', async () => {
    const server = gtls.createServer({ ...serverOpts, ...pin(v), allowHalfOpen: true }, answer);
    const port = await serve(server);
    const c = ourClient(port, v, { allowHalfOpen: true });
    await once(c, 'secureConnect');
    expect(await ask(c)).toBe(expected);
  });

  test('Node client ends first, our server replies after "end"', async () => {
    const server = gtls.createServer({ ...serverOpts, ...pin(v), allowHalfOpen: true }, answer);
    const port = await serve(server);
    const c = nodeClient(port, v, { allowHalfOpen: true } as nodeTls.ConnectionOptions); // Node's types omit it
    await once(c, 'secureConnect');
    expect(await ask(c)).toBe(expected);
  });

  test('our client ends first, Node server replies after "end"', async () => {
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v), allowHalfOpen: true }, answer);
    const port = await serve(server);
    const c = ourClient(port, v, { allowHalfOpen: true });
    await once(c, 'secureConnect');
    expect(await ask(c)).toBe(expected);
  });

  // The other direction: the server ends first, the client reads to 'end' and then still writes.
  const GREETING = 'greeting, then your turn';
  const ANSWER = 'client answer after the server ended';
  async function serverEndsFirst(server: net.Server, client: (port: number) => Duplex): Promise<string> {
    const heard = new Promise<string>((resolve) =>
      server.on('secureConnection', (s: Duplex) => {
        s.end(GREETING);
        void readAll(s).then((b) => resolve(b.toString()));
      }),
    );
    const port = await serve(server);
    const c = client(port);
    expect((await readAll(c)).toString()).toBe(GREETING);
    await sleep(50);
    expect(c.destroyed).toBe(false);
    c.end(ANSWER);
    return heard;
  }
  const nodeServer = (): net.Server => nodeTls.createServer({ ...serverOpts, ...pin(v), allowHalfOpen: true });
  const ourServer = (): net.Server => gtls.createServer({ ...serverOpts, ...pin(v), allowHalfOpen: true });

  test('reference: Node server ends first, Node client replies after "end"', async () => {
    const heard = serverEndsFirst(nodeServer(), (port) => nodeClient(port, v, { allowHalfOpen: true } as nodeTls.ConnectionOptions));
    expect(await heard).toBe(ANSWER);
  });

  test('our server ends first, Node client replies after "end"', async () => {
    const heard = serverEndsFirst(ourServer(), (port) => nodeClient(port, v, { allowHalfOpen: true } as nodeTls.ConnectionOptions));
    expect(await heard).toBe(ANSWER);
  });

  test('our client over a caller-made allowHalfOpen net.Socket ({ socket }) replies after "end"', async () => {
    const heard = serverEndsFirst(nodeServer(), (port) =>
      track(
        gtls.connect({
          socket: track(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })),
          servername: 'localhost',
          ca,
          ...pin(v),
          allowHalfOpen: true,
        }),
      ),
    );
    expect(await heard).toBe(ANSWER);
  });

  // connect() must give its net.Socket allowHalfOpen too, or the server's FIN would end the
  // transport's writable side and the reply would be lost.
  test('Node server ends first, our client (connect({ allowHalfOpen: true })) replies after "end"', async () => {
    expect(await serverEndsFirst(nodeServer(), (port) => ourClient(port, v, { allowHalfOpen: true }))).toBe(ANSWER);
  });

  test('our server ends first, our client (connect({ allowHalfOpen: true })) replies after "end"', async () => {
    expect(await serverEndsFirst(ourServer(), (port) => ourClient(port, v, { allowHalfOpen: true }))).toBe(ANSWER);
  });
});

describe.each(VERSIONS)('cork(), tiny writes and one large write (%s)', (v) => {
  const corked = DATA.subarray(100, 10100);
  const tiny = DATA.subarray(20000, 30000);
  const big = DATA.subarray(32 * MiB, 40 * MiB);

  /** nested cork, 10,000 corked one-byte writes, 10,000 plain one-byte writes, one 8 MiB write. */
  async function writeAll(w: gtls.TLSSocket): Promise<Buffer> {
    // Bytes on the wire: the transport's count (a TLS socket's own bytesWritten is plaintext, as in Node).
    const wire = { get bytesWritten(): number { return (w.socket as net.Socket).bytesWritten; } };
    const before = wire.bytesWritten;
    w.cork();
    w.cork();
    w.write('nested ');
    w.write(Buffer.from('cork|'));
    w.uncork();
    await sleep(20);
    expect(wire.bytesWritten).toBe(before); // still corked once: nothing reached the transport
    w.uncork();
    const afterNested = wire.bytesWritten!;
    expect(afterNested).toBeGreaterThan(before);

    w.cork();
    for (let i = 0; i < corked.length; i++) w.write(corked.subarray(i, i + 1));
    process.nextTick(() => w.uncork());
    await new Promise<void>((r) => w.write(Buffer.alloc(0), () => r()));
    // Corked writes reach GnuTLS together: a few records, not 10,000 of them (≥ 22 bytes each).
    const corkedWire = wire.bytesWritten! - afterNested;
    expect(corkedWire).toBeGreaterThanOrEqual(corked.length);
    expect(corkedWire).toBeLessThan(corked.length + 1000);

    for (let i = 0; i < tiny.length; i++) w.write(tiny.subarray(i, i + 1));
    w.write(big); // one write far above the high-water mark (and our 1 MiB encryption slice)
    w.end();
    return Buffer.concat([Buffer.from('nested cork|'), corked, tiny, big]);
  }

  const check = (got: Buffer, want: Buffer): void => {
    expect(got.length).toBe(want.length);
    expect(sha256(got)).toBe(sha256(want));
    expect(got.equals(want)).toBe(true);
  };

  test('our client → Node server', async () => {
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const got = first<nodeTls.TLSSocket>(server).then(readAll);
    const c = ourClient(port, v);
    await once(c, 'secureConnect');
    c.resume();
    const want = await writeAll(c);
    check(await got, want);
  });

  test('our server → Node client', async () => {
    const server = gtls.createServer({ ...serverOpts, ...pin(v) });
    const wrote = first<gtls.TLSSocket>(server).then((s) => {
      s.resume();
      return writeAll(s);
    });
    const port = await serve(server);
    const c = nodeClient(port, v);
    const [got, want] = await Promise.all([readAll(c), wrote]);
    check(got, want);
  });
});

describe.each(VERSIONS)('writes around the handshake (%s)', (v) => {
  test('our client writes and ends before secureConnect: queued and delivered in order', async () => {
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) });
    const port = await serve(server);
    const got = first<nodeTls.TLSSocket>(server).then(readAll);
    const c = ourClient(port, v);
    let secure = false;
    const order: string[] = [];
    c.on('secureConnect', () => {
      secure = true;
      order.push('secureConnect');
    });
    const early = [Buffer.from('early 1|'), DATA.subarray(0, 2 * MiB + 3), Buffer.from('|early 3')];
    c.write(early[0], () => order.push('write 1'));
    c.write(early[1]);
    c.end(early[2]);
    expect(secure).toBe(false);
    expect(c.connecting).toBe(true);
    c.resume();
    expect((await got).equals(Buffer.concat(early))).toBe(true);
    expect(order).toEqual(['secureConnect', 'write 1']);
  });

  test('Node server writes in its secureConnection handler: our client receives it', async () => {
    const payload = Buffer.concat([Buffer.from(`hello over ${v}|`), DATA.subarray(0, 100000)]);
    const server = nodeTls.createServer({ ...serverOpts, ...pin(v) }, (s) => s.end(payload));
    const port = await serve(server);
    const c = ourClient(port, v);
    const events: string[] = [];
    c.on('secureConnect', () => events.push('secureConnect'));
    c.once('data', () => events.push('data'));
    expect((await readAll(c)).equals(payload)).toBe(true);
    expect(events).toEqual(['secureConnect', 'data']);
  });

  test('our server writes in its secureConnection handler: Node client and our client receive it', async () => {
    const payload = Buffer.concat([Buffer.from(`hello over ${v}|`), DATA.subarray(0, 100000)]);
    const server = gtls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
      s.write(payload.subarray(0, 10));
      s.end(payload.subarray(10));
    });
    const port = await serve(server);
    expect((await readAll(nodeClient(port, v))).equals(payload)).toBe(true);
    expect((await readAll(ourClient(port, v))).equals(payload)).toBe(true);
  });

  test("coalescing transport: application data in the same chunk as the peer's last handshake flight", async () => {
    const [a, b] = duplexPair(true);
    const server = track(new gtls.TLSSocket(b, { isServer: true, ...serverOpts, ...pin(v) }));
    server.on('secure', () => server.write('server speaks first|'));
    const client = track(gtls.connect({ socket: a, servername: 'localhost', ca, ...pin(v) }));
    client.end('client wrote before the handshake');
    const [atServer, atClient] = await Promise.all([readAll(server), readAll(client)]);
    expect(atServer.toString()).toBe('client wrote before the handshake');
    expect(atClient.toString()).toBe('server speaks first|');
    if (v === 'TLSv1.3') {
      // Client → server: ClientHello, then one chunk with the client's Finished and its data.
      const second = recordTypes(a.delivered[1]);
      expect(second.filter((t) => t === 23).length).toBeGreaterThanOrEqual(2);
    } else {
      // Server → client: the chunk with the server's ChangeCipherSpec + Finished carries data too.
      const last = b.delivered.find((c) => recordTypes(c).includes(20))!;
      const types = recordTypes(last);
      expect(types.slice(types.indexOf(20))).toContain(23);
    }
  });
});

describe.each(VERSIONS)("Node's http served over our createServer (%s)", (v) => {
  const body = Buffer.from('0123456789abcdef'.repeat(64 * 1024)); // 1 MiB of text

  async function httpsServer(): Promise<number> {
    const httpServer = http.createServer((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => {
        const tls = req.socket as unknown as gtls.TLSSocket;
        res.writeHead(req.url === '/missing' ? 404 : 200, {
          'content-type': 'text/plain',
          'x-tls': `${tls.getProtocol()} ${tls instanceof gtls.TLSSocket}`,
          'x-request-body': `${n} ${h.digest('hex')}`,
        });
        res.end(`${req.method} ${req.url}\n${body}`);
      });
    });
    const server = gtls.createServer({ ...serverOpts, ...pin(v), ALPNProtocols: ['http/1.1'] });
    server.on('secureConnection', (s) => httpServer.emit('connection', s));
    return serve(server);
  }

  test('https.get and https.request (Node client, agent with ca)', async () => {
    const port = await httpsServer();
    const agent = new https.Agent({ ca, keepAlive: false });
    cleanups.push(() => agent.destroy());
    const base = { host: '127.0.0.1', port, servername: 'localhost', agent };

    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https.get({ ...base, path: '/hello?x=1' }, resolve).on('error', reject),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-tls']).toBe(`${v} true`);
    expect((await readAll(res)).toString()).toBe(`GET /hello?x=1\n${body}`);

    const upload = DATA.subarray(0, 3 * MiB);
    const posted = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = https.request({ ...base, method: 'POST', path: '/upload' }, resolve);
      req.on('error', reject);
      req.end(upload);
    });
    expect(posted.statusCode).toBe(200);
    expect(posted.headers['x-request-body']).toBe(`${upload.length} ${sha256(upload)}`);
    expect((await readAll(posted)).toString()).toBe(`POST /upload\n${body}`);

    const missing = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https.get({ ...base, path: '/missing' }, resolve).on('error', reject),
    );
    expect(missing.statusCode).toBe(404);
    await readAll(missing);
  });

  const haveCurl = spawnSync('curl', ['--version']).status === 0;
  if (!haveCurl) console.warn('curl is not installed: skipping the curl-over-our-https-server test');
  (haveCurl ? test : test.skip)('curl --cacert test/fixtures/ca.pem https://localhost:PORT/', async () => {
    const port = await httpsServer();
    const range = v === 'TLSv1.3' ? ['--tlsv1.3'] : ['--tlsv1.2', '--tls-max', '1.2'];
    const curl = spawnPeer('curl', [
      '-sS',
      '--http1.1',
      ...range,
      '--cacert',
      fixturePath('ca.pem'),
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      '-D',
      '-',
      '-w',
      '\n%{http_code} %{ssl_verify_result} %{http_version}',
      `https://localhost:${port}/from-curl?y=2`,
    ]);
    const code = await curl.exited;
    expect(curl.err()).toBe('');
    expect(code).toBe(0);
    const out = curl.out();
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(new RegExp(`\r\nx-tls: ${v} true\r\n`, 'i'));
    const bodyStart = out.indexOf('\r\n\r\n') + 4;
    expect(out.slice(bodyStart)).toBe(`GET /from-curl?y=2\n${body}\n200 0 1.1`);
  });
});

describe('idle timeout', () => {
  test('our client: setTimeout emits after idleness, traffic postpones it, 0 disables it, socket stays usable', async () => {
    const server = nodeTls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const c = ourClient(port, 'TLSv1.3');
    await once(c, 'secureConnect');
    let echoed = '';
    c.on('data', (d: Buffer) => (echoed += d.toString()));
    const timeouts: number[] = [];
    c.on('timeout', () => timeouts.push(Date.now()));
    let cbCalls = 0;
    c.setTimeout(400, () => cbCalls++);
    for (let i = 0; i < 12; i++) {
      c.write('t');
      await sleep(50);
    }
    expect(timeouts).toHaveLength(0); // traffic every 50 ms keeps a 400 ms timeout from firing
    await until(() => echoed.length === 12, 'the echo');
    const idleFrom = Date.now();
    await until(() => timeouts.length > 0, "'timeout'", 5000);
    expect(timeouts[0] - idleFrom).toBeGreaterThanOrEqual(300);
    expect(cbCalls).toBe(1);
    expect(c.destroyed).toBe(false); // 'timeout' only informs, as in Node
    c.write('after');
    await until(() => echoed.endsWith('after'), 'the echo after the timeout');
    c.setTimeout(0);
    const seen = timeouts.length;
    await sleep(600);
    expect(timeouts.length).toBe(seen);
  });

  test('reference: Node tls over an in-process Duplex pair emits timeout when idle', async () => {
    const [a, b] = duplexPair();
    track(new nodeTls.TLSSocket(b, { isServer: true, ...serverOpts } as nodeTls.TLSSocketOptions));
    const c = track(nodeTls.connect({ socket: a, servername: 'localhost', ca }));
    await once(c, 'secureConnect');
    const t0 = Date.now();
    c.setTimeout(150);
    await once(c, 'timeout', 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  // A transport without timers of its own (not a net.Socket): TLSSocket keeps the idle timer,
  // as Node's TLSSocket does (reference test above).
  test("our client over an in-process Duplex pair ({ socket }) emits timeout when idle", async () => {
    const [a, b] = duplexPair();
    track(new gtls.TLSSocket(b, { isServer: true, ...serverOpts }));
    const c = track(gtls.connect({ socket: a, servername: 'localhost', ca }));
    await once(c, 'secureConnect');
    const t0 = Date.now();
    c.setTimeout(150);
    await once(c, 'timeout', 1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  test('our server socket times out an idle client; connect({ timeout }) on our client', async () => {
    const server = gtls.createServer(serverOpts, (s) => {
      const t0 = Date.now();
      s.setTimeout(200);
      s.on('timeout', () => s.end(`idle ${Date.now() - t0}`));
    });
    const port = await serve(server);
    const text = (await readAll(nodeClient(port, 'TLSv1.3'))).toString();
    expect(text).toMatch(/^idle \d+$/);
    expect(Number(text.split(' ')[1])).toBeGreaterThanOrEqual(150);

    const idle = nodeTls.createServer(serverOpts, () => {});
    const port2 = await serve(idle);
    const t0 = Date.now();
    const c = ourClient(port2, 'TLSv1.2', { timeout: 250 });
    await once(c, 'timeout', 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(c.destroyed).toBe(false);
  });
});
