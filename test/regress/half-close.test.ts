// Regression tests: stream endings and plaintext buffers, node-gnutls against Node's own tls.
//
//  1. Half-close matrix: allowHalfOpen on/off × who ends first × reply size (1 KiB, 1 MiB,
//     16 MiB) × TLS 1.2/1.3 × pair (Node↔Node reference, gnutls↔gnutls, gnutls server↔Node
//     client, Node server↔gnutls client). The side that did not end replies from its 'end'
//     handler; every byte must arrive and both sides must see the events Node↔Node sees.
//  2. EOF must not overtake data: a client over a caller-made Duplex transport (around a real
//     TCP connection) that, while the TLS socket holds it paused, keeps the rest of the
//     ciphertext (2 MiB of data + close_notify) and hands it over in one push() followed by
//     push(null); the TLS socket is read, slowly, only after that.
//  3. 'close' carries hadError: false after a clean end, true after an error (local
//     destroy(err), a peer reset, garbage from the peer), in the client and the server role.
//  4. Plaintext chunk isolation: chunks read on one connection must not share memory with the
//     chunks of another connection (no shared decryption slab).
//
// Every scenario is one function, run with Node's tls (the reference, computed in the same test
// run) and with node-gnutls; a test asserts the node-gnutls outcome equals Node's, and the
// absolute expectation (every byte arrived, hadError as documented).
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import { Duplex } from 'stream';
import * as nodeTls from 'tls';
import * as gtls from '../../lib';
import { VERSIONS, Version, fixture, serveTracked, sha256, tracked } from '../helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const pin = (v: Version): { minVersion: Version; maxVersion: Version } => ({ minVersion: v, maxVersion: v });
const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The largest payload, generated once; smaller payloads are its prefixes. */
const BIG = randomBytes(16 * MiB);
const digest = (n: number): { bytes: number; sha: string } => ({ bytes: n, sha: sha256(BIG.subarray(0, n)) });

// ---- the two implementations behind one interface ------------------------------------------------

type Impl = 'node' | 'gnutls';
type Role = 'client' | 'server';

function createServer(impl: Impl, v: Version, extra: { allowHalfOpen?: boolean } = {}): net.Server {
  const opts = { ...serverOpts, ...pin(v), ...extra };
  return impl === 'node' ? nodeTls.createServer(opts) : gtls.createServer(opts);
}

function connect(impl: Impl, v: Version, extra: { port?: number; socket?: Duplex; allowHalfOpen?: boolean }): Duplex {
  const opts = { host: '127.0.0.1', servername: 'localhost', ca, ...pin(v), ...extra };
  return tracked(impl === 'node' ? nodeTls.connect(opts as nodeTls.ConnectionOptions) : gtls.connect(opts));
}

// ---- what a socket did -----------------------------------------------------------------------------

const errorName = (e: Error): string => (e as NodeJS.ErrnoException).code ?? e.message;

/**
 * The observable outcome of one socket: its events in order ('end', 'finish', 'close(hadError)',
 * 'error:CODE', plus notes such as 'write' for a write callback), and the bytes it read.
 */
class Log {
  readonly events: string[] = [];
  closed = false;
  lastActivity = Date.now();
  bytes = 0;
  /** Bytes read when 'end' fired (-1: no 'end'). */
  bytesAtEnd = -1;
  readonly chunks: Buffer[] = [];
  private readonly hash = createHash('sha256');
  private readonly errorsSeen = new WeakSet<Error>();

  /** Records 'end', 'finish', 'error' and 'close' of `s` (does not read it). */
  watch(s: Duplex): this {
    s.on('end', () => {
      this.bytesAtEnd = this.bytes;
      this.note('end');
    });
    s.on('finish', () => this.note('finish'));
    s.on('error', (e: Error) => {
      // Each error once: Node emits a TLS error again when the application destroys with it.
      if (this.errorsSeen.has(e)) return;
      this.errorsSeen.add(e);
      this.note(`error:${errorName(e)}`);
    });
    s.on('close', (hadError?: boolean) => {
      this.note(`close(${hadError})`);
      this.closed = true;
    });
    return this;
  }

  /** Reads `s` ('data'), hashing; `keep` keeps the chunks themselves. */
  read(s: Duplex, keep = false): this {
    s.on('data', (c: Buffer) => {
      this.bytes += c.length;
      this.hash.update(c);
      if (keep) this.chunks.push(c);
      this.lastActivity = Date.now();
    });
    return this;
  }

  note(event: string): void {
    this.events.push(event);
    this.lastActivity = Date.now();
  }

  received(): { bytes: number; sha: string } {
    return { bytes: this.bytes, sha: this.hash.copy().digest('hex') };
  }

  errors(): string[] {
    return this.events.filter((e) => e.startsWith('error:'));
  }
}

/**
 * Waits until every log saw 'close' (or `done()` holds): 'closed'; or until nothing happened on
 * any of them for `quietMs`, or `maxMs` passed: 'stalled' (a connection that hangs is an
 * outcome, not a test timeout).
 */
async function settle(
  logs: Log[],
  { quietMs = 750, maxMs = 12000, done = (): boolean => logs.every((l) => l.closed) } = {},
): Promise<'closed' | 'stalled'> {
  const start = Date.now();
  for (;;) {
    if (done()) {
      await sleep(10); // anything emitted right after belongs to the outcome too
      return 'closed';
    }
    const last = Math.max(...logs.map((l) => l.lastActivity));
    if (Date.now() - last > quietMs || Date.now() - start > maxMs) return 'stalled';
    await sleep(20);
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// =================================================================================================
// 1. Half-close matrix
// =================================================================================================

const REQUEST = 'request';

interface HalfCloseCase {
  v: Version;
  allowHalfOpen: boolean;
  /** Who calls end('request') first; the other side replies from its 'end' handler. */
  first: Role;
  size: number;
}

interface SideOutcome {
  events: string[];
  received: { bytes: number; sha: string };
}

interface HalfCloseOutcome {
  settled: 'closed' | 'stalled';
  ender: SideOutcome;
  replier: SideOutcome;
}

async function halfClose(c: HalfCloseCase, serverImpl: Impl, clientImpl: Impl): Promise<HalfCloseOutcome> {
  const payload = BIG.subarray(0, c.size);
  const logs: Record<Role, Log> = { client: new Log(), server: new Log() };
  const play = (role: Role, s: Duplex): void => {
    const log = logs[role].watch(s).read(s);
    if (role === c.first) return;
    s.once('end', () => {
      s.write(payload, (err) => log.note(err ? `write:${errorName(err)}` : 'write'));
      s.end();
    });
  };
  const server = createServer(serverImpl, c.v, { allowHalfOpen: c.allowHalfOpen });
  server.on('secureConnection', (s: Duplex) => {
    play('server', s);
    if (c.first === 'server') s.end(REQUEST);
  });
  const { port } = await serveTracked(server);
  const client = connect(clientImpl, c.v, { port, allowHalfOpen: c.allowHalfOpen });
  play('client', client);
  if (c.first === 'client') client.once('secureConnect', () => client.end(REQUEST));
  const settled = await settle([logs.client, logs.server]);
  const side = (r: Role): SideOutcome => ({ events: logs[r].events, received: logs[r].received() });
  return { settled, ender: side(c.first), replier: side(c.first === 'client' ? 'server' : 'client') };
}

const PAIRS: Array<{ name: string; server: Impl; client: Impl }> = [
  { name: 'Node server ↔ Node client (reference)', server: 'node', client: 'node' },
  { name: 'gnutls server ↔ gnutls client', server: 'gnutls', client: 'gnutls' },
  { name: 'gnutls server ↔ Node client', server: 'gnutls', client: 'node' },
  { name: 'Node server ↔ gnutls client', server: 'node', client: 'gnutls' },
];
const SIZES: Array<[string, number]> = [
  ['1 KiB', KiB],
  ['1 MiB', MiB],
  ['16 MiB', 16 * MiB],
];
const HALF_CLOSE_CASES = VERSIONS.flatMap((v) =>
  [true, false].flatMap((allowHalfOpen) => (['client', 'server'] as Role[]).map((first) => ({ v, allowHalfOpen, first }))),
);

/** Node↔Node outcome of a case: computed once, by the first test of the case that needs it. */
const references = new Map<string, Promise<HalfCloseOutcome>>();
function halfCloseReference(c: HalfCloseCase): Promise<HalfCloseOutcome> {
  const key = JSON.stringify(c);
  if (!references.has(key)) references.set(key, halfClose(c, 'node', 'node'));
  return references.get(key)!;
}

describe.each(HALF_CLOSE_CASES)('half-close ($v, allowHalfOpen $allowHalfOpen)', ({ v, allowHalfOpen, first }) => {
  const replier = first === 'client' ? 'server' : 'client';
  test.each(SIZES.flatMap(([label, size]) => PAIRS.map((pair) => ({ label, size, pair }))))(
    `${first} ends first, ${replier} replies $label from 'end': $pair.name`,
    async ({ size, pair }) => {
      const c: HalfCloseCase = { v, allowHalfOpen, first, size };
      const ref = await halfCloseReference(c);
      const got = pair.server === 'node' && pair.client === 'node' ? ref : await halfClose(c, pair.server, pair.client);
      // Node's own run must be the documented behaviour, or it is no reference.
      expect(ref.ender.received).toEqual(digest(size));
      expect(ref.replier.events).toEqual(expect.arrayContaining(['write', 'finish', 'close(false)']));
      expect(ref.settled).toBe('closed');
      // The run under test: same events and bytes as Node's, and every byte arrived.
      expect(got).toEqual(ref);
      expect(got.ender.received).toEqual(digest(size));
      expect(got.replier.received.bytes).toBe(REQUEST.length);
    },
    20000,
  );
});

// =================================================================================================
// 2. EOF must not overtake data under backpressure
// =================================================================================================

/**
 * A client transport over a real TCP connection that, from hold() on, keeps what arrives while
 * its reader has paused it, and once the server's end arrived hands all of it over in one push()
 * followed by push(null) (as a transport that receives everything at once may do: push() is
 * allowed while the reader is paused). `handedOver` then resolves with that chunk's size.
 */
class HoldingTransport extends Duplex {
  private armed = false;
  private held: Buffer[] = [];
  readonly handedOver: Promise<number>;

  constructor(private readonly raw: net.Socket) {
    super();
    let done!: (n: number) => void;
    this.handedOver = new Promise((r) => (done = r));
    raw.on('data', (d: Buffer) => (this.armed && this.isPaused() ? this.held.push(d) : this.push(d)));
    raw.on('end', () => {
      const n = this.release();
      this.push(null);
      done(n);
    });
    raw.on('error', (e) => this.destroy(e));
    this.on('resume', () => this.release());
  }

  hold(): void {
    this.armed = true;
  }

  private release(): number {
    const rest = Buffer.concat(this.held);
    this.held = [];
    if (rest.length > 0) this.push(rest);
    return rest.length;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.raw.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.raw.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }
}

const DOWNLOAD = 2 * MiB;

interface EofOutcome {
  /** Bytes read when 'end' fired (-1: no 'end'). */
  bytesAtEnd: number;
  received: { bytes: number; sha: string };
  errors: string[];
}

/** Node's tls server sends 2 MiB and ends; `impl`'s client reads it, slowly, only afterwards. */
async function eofAfterData(impl: Impl, v: Version): Promise<EofOutcome> {
  const server = nodeTls.createServer({ ...serverOpts, ...pin(v) }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(BIG.subarray(0, DOWNLOAD)));
  });
  const { port } = await serveTracked(server);
  const raw = tracked(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
  const transport = tracked(new HoldingTransport(raw));
  const c = connect(impl, v, { socket: transport });
  const log = new Log().watch(c);
  await new Promise((r) => c.once('secureConnect', r));
  transport.hold();
  c.write('go'); // the server answers with 2 MiB and its close_notify
  const handed = await transport.handedOver;
  expect(handed).toBeGreaterThan(DOWNLOAD / 2); // most of it, and the close_notify, in one piece
  await sleep(50);
  // Only now a reader, and a slow one: one chunk per millisecond.
  log.read(c);
  c.on('data', () => {
    c.pause();
    setTimeout(() => c.resume(), 1);
  });
  await settle([log], { quietMs: 1000, maxMs: 10000, done: () => log.bytesAtEnd >= 0 || log.errors().length > 0 });
  return { bytesAtEnd: log.bytesAtEnd, received: log.received(), errors: log.errors() };
}

describe.each(VERSIONS)('EOF after all data: transport hands over data + close_notify at once (%s)', (v) => {
  test("'end' comes after all 2 MiB, as with Node's tls.connect({ socket })", async () => {
    const ref = await eofAfterData('node', v);
    expect(ref).toEqual({ bytesAtEnd: DOWNLOAD, received: digest(DOWNLOAD), errors: [] });
    const got = await eofAfterData('gnutls', v);
    expect(got).toEqual(ref);
    expect(got.bytesAtEnd).toBe(DOWNLOAD);
  }, 20000);
});

// =================================================================================================
// 3. 'close' and hadError
// =================================================================================================

/** A TCP relay between client and server: lets a test reset or inject into either leg. */
async function tcpProxy(target: number): Promise<{ port: number; link: Promise<{ toClient: net.Socket; toServer: net.Socket }> }> {
  let found!: (l: { toClient: net.Socket; toServer: net.Socket }) => void;
  const link = new Promise<{ toClient: net.Socket; toServer: net.Socket }>((r) => (found = r));
  const proxy = net.createServer({ allowHalfOpen: true }, (toClient) => {
    const toServer = tracked(net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true }));
    for (const [a, b] of [
      [toClient, toServer],
      [toServer, toClient],
    ]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
    }
    found({ toClient, toServer });
  });
  const { port } = await serveTracked(proxy);
  return { port, link };
}

type Trouble = 'clean end' | 'local destroy(new Error)' | 'peer reset' | 'peer sends garbage';
const TROUBLES: Trouble[] = ['clean end', 'local destroy(new Error)', 'peer reset', 'peer sends garbage'];
/** A TLS application-data record that cannot decrypt. */
const GARBAGE = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), randomBytes(64)]);

/**
 * `subject` (Node's tls or node-gnutls) in `role`, talking to Node's tls through a relay. The
 * peer says 'hello', the subject answers 'ack'; once the peer has the 'ack' (all handshake
 * traffic, TLS 1.3 tickets included, is behind), `trouble` happens. Returns the subject's events.
 */
async function closeAfter(trouble: Trouble, subject: Impl, role: Role, v: Version): Promise<{ settled: string; events: string[] }> {
  const log = new Log();
  let subjectSocket: Duplex | undefined;
  let acked!: () => void;
  const gotAck = new Promise<void>((r) => (acked = r));
  const arm = (s: Duplex, isSubject: boolean): void => {
    if (isSubject) {
      subjectSocket = s;
      log.watch(s).read(s);
      s.once('data', () => s.write('ack'));
      // After a TLS error on an established connection Node's tls leaves the socket open for
      // the application to destroy: do that, with the error, as applications do.
      s.on('error', (e) => s.destroy(e));
    } else {
      s.on('error', () => {});
      s.once('data', () => acked());
      s.resume();
      s.write('hello');
    }
  };
  const server = createServer(role === 'server' ? subject : 'node', v);
  server.on('secureConnection', (s: Duplex) => arm(s, role === 'server'));
  const { port: target } = await serveTracked(server);
  const proxy = await tcpProxy(target);
  arm(connect(role === 'client' ? subject : 'node', v, { port: proxy.port }), role === 'client');
  await gotAck;
  const s = subjectSocket!;
  const { toClient, toServer } = await proxy.link;
  const [near, far] = role === 'client' ? [toClient, toServer] : [toServer, toClient];
  if (trouble === 'clean end') s.end();
  else if (trouble === 'local destroy(new Error)') s.destroy(new Error('x'));
  else if (trouble === 'peer reset') {
    near.resetAndDestroy();
    far.destroy();
  } else near.write(GARBAGE);
  const settled = await settle([log], { quietMs: 1000, maxMs: 5000 });
  // Error codes for a bad record differ between OpenSSL and GnuTLS: only that there was one counts.
  const events = trouble === 'peer sends garbage' ? log.events.map((e) => e.replace(/^error:.*/, 'error')) : log.events;
  return { settled, events };
}

describe.each(VERSIONS)("'close' reports hadError (%s)", (v) => {
  test.each(TROUBLES.flatMap((trouble) => (['client', 'server'] as Role[]).map((role) => ({ trouble, role }))))(
    "$trouble: our $role emits 'close' with the hadError Node's does",
    async ({ trouble, role }) => {
      const ref = await closeAfter(trouble, 'node', role, v);
      const hadError = trouble !== 'clean end';
      expect(ref.events[ref.events.length - 1]).toBe(`close(${hadError})`);
      const got = await closeAfter(trouble, 'gnutls', role, v);
      expect(got).toEqual(ref);
      expect(got.events[got.events.length - 1]).toBe(`close(${hadError})`);
    },
    15000,
  );
});

// =================================================================================================
// 4. Plaintext chunk isolation between connections
// =================================================================================================

/** 64 distinctive bytes; connection A sends them 1024 times (64 KiB). */
const MARKER = Buffer.from('<<connection A only: 0123456789 abcdefghijklmnopqrstuvwxyz !#$>>');
const PATTERN = Buffer.concat(new Array(1024).fill(MARKER));
const ROUNDS = 3; // a new slab may start once; the rounds after it would share it again

interface IsolationOutcome {
  aBytes: number;
  bBytes: number;
  /** Chunks of B whose ArrayBuffer also holds a chunk of A. */
  bChunksSharingWithA: number;
  /** Chunks of B whose whole ArrayBuffer contains A's marker. */
  bChunksSeeingMarker: number;
}

/**
 * Two connections A and B to one `impl` server; `receiver` is the role whose chunks are checked.
 * A's sender writes the 64 KiB pattern, then B's sender writes one byte, ROUNDS times.
 */
async function chunkIsolation(impl: Impl, receiver: Role, v: Version): Promise<IsolationOutcome> {
  const server = createServer(impl, v);
  const { port, next } = await serveTracked<Duplex>(server);
  const open = async (): Promise<{ rx: Duplex; tx: Duplex; log: Log }> => {
    const client = connect(impl, v, { port });
    const accepted = await next();
    const [rx, tx] = receiver === 'server' ? [accepted, client] : [client, accepted];
    return { rx, tx, log: new Log().read(rx, true) };
  };
  const a = await open();
  const b = await open();
  for (let round = 1; round <= ROUNDS; round++) {
    a.tx.write(PATTERN);
    await until(() => a.log.bytes === round * PATTERN.length, `A's pattern, round ${round}`);
    b.tx.write('b');
    await until(() => b.log.bytes === round, `B's byte, round ${round}`);
  }
  const aBuffers = new Set(a.log.chunks.map((c) => c.buffer));
  return {
    aBytes: a.log.bytes,
    bBytes: b.log.bytes,
    bChunksSharingWithA: b.log.chunks.filter((c) => aBuffers.has(c.buffer)).length,
    bChunksSeeingMarker: b.log.chunks.filter((c) => Buffer.from(c.buffer).includes(MARKER)).length,
  };
}

describe.each(VERSIONS)('plaintext chunks of one connection do not share memory with another (%s)', (v) => {
  test.each(['server', 'client'] as Role[])("chunks read by our %s, as with Node's tls", async (receiver) => {
    const ref = await chunkIsolation('node', receiver, v);
    const clean = { aBytes: ROUNDS * PATTERN.length, bBytes: ROUNDS, bChunksSharingWithA: 0, bChunksSeeingMarker: 0 };
    expect(ref).toEqual(clean);
    const got = await chunkIsolation('gnutls', receiver, v);
    expect(got).toEqual(ref);
  }, 15000);
});
