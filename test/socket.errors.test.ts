// Failure paths against real, hostile or misbehaving peers: garbage on the wire, peers that vanish
// mid-handshake, handshake timeouts, alerts and truncation after the handshake, stream misuse,
// native Session lifetime under GC, and the addon in worker_threads (child processes, so that a
// crash is an exit code and not a dead test runner).
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { VERSIONS, closeServer, fixture, listen, once, readAll } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const WORKERS = path.join(__dirname, 'workers');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

// ---- bookkeeping: everything opened here is closed after each test ------------------------------

const openServers = new Set<net.Server>();
const openSockets = new Set<net.Socket | nodeTls.TLSSocket | gtls.TLSSocket>();

/** Starts listening on 127.0.0.1 and remembers the server and its connections for cleanup. */
async function serve<T extends net.Server>(server: T): Promise<number> {
  openServers.add(server);
  server.on('connection', (s: net.Socket) => {
    openSockets.add(s);
    s.on('error', () => {}); // hostile peers reset; their errors are not what these tests observe
  });
  return listen(server);
}

function track<T extends net.Socket | nodeTls.TLSSocket | gtls.TLSSocket>(s: T): T {
  openSockets.add(s);
  return s;
}

afterEach(async () => {
  for (const s of openSockets) s.destroy();
  openSockets.clear();
  await Promise.all([...openServers].map((s) => (s.listening ? closeServer(s) : Promise.resolve())));
  openServers.clear();
});

// ---- small utilities --------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `ev` fires; rejects after `ms` (a hang is a failure, not a jest timeout). */
function within<T = unknown>(emitter: NodeJS.EventEmitter, ev: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    emitter.once(ev, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** The first 'error' of a socket, once it has also closed (Node emits both in the same tick). */
function errorThenClose<E extends Error = gtls.TLSError>(sock: NodeJS.EventEmitter, ms = 3000): Promise<E> {
  return new Promise((resolve, reject) => {
    let err: E | undefined;
    const timer = setTimeout(() => reject(new Error(`no close within ${ms} ms (error: ${err})`)), ms);
    sock.once('error', (e: E) => (err = e));
    sock.once('close', () => {
      clearTimeout(timer);
      if (err) resolve(err);
      else reject(new Error('closed without an error'));
    });
  });
}

/** Like within(), resolving with all the event's arguments. */
function withinArgs<T extends unknown[]>(emitter: NodeJS.EventEmitter, ev: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    emitter.once(ev, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

/** Records the lifecycle events of a socket (errors as `error:<code>`). */
function recordEvents(s: NodeJS.EventEmitter): string[] {
  const events: string[] = [];
  for (const ev of ['secureConnect', 'end', 'close']) s.on(ev, () => events.push(ev));
  s.on('error', (e: Error & { code?: string }) => events.push(`error:${e.code}`));
  return events;
}

/** A raw TCP client: writes `payload`, collects what comes back until the server closes. */
function rawClient(port: number, payload?: Buffer): { sock: net.Socket; received: () => Buffer; closed: Promise<void> } {
  const sock = track(net.connect(port, '127.0.0.1'));
  const chunks: Buffer[] = [];
  sock.on('data', (d) => chunks.push(d));
  sock.on('error', () => {});
  if (payload) sock.once('connect', () => sock.write(payload));
  const closed = within<void>(sock, 'close');
  closed.catch(() => {});
  return { sock, received: () => Buffer.concat(chunks), closed };
}

/** Deterministic "random" bytes that do not start like any TLS/SSLv2 record. */
function noise(len: number, seed: string): Buffer {
  const out: Buffer[] = [];
  let h = Buffer.from(seed);
  for (let n = 0; n < len; n += 32) {
    h = createHash('sha256').update(h).digest();
    out.push(h);
  }
  const b = Buffer.concat(out).subarray(0, len);
  b[0] = 0x3c;
  return b;
}

/** A real ClientHello (from Node's client), as the first flight on the wire. */
async function captureClientHello(): Promise<Buffer> {
  const cap = net.createServer();
  const port = await serve(cap);
  const got = new Promise<Buffer>((resolve) => cap.once('connection', (s) => s.once('data', resolve)));
  const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  return hello;
}

/** Parses a plaintext TLS alert record: [level, description], or null. */
function alertRecord(b: Buffer): [number, number] | null {
  if (b.length < 7 || b[0] !== 0x15 || b[1] !== 3 || b.readUInt16BE(3) !== 2) return null;
  return [b[5], b[6]];
}

/** A TCP proxy to 127.0.0.1:target whose directions can be observed and tampered with. */
interface Tamper {
  /** XOR the last byte of the next chunk in that direction (a corrupted record). */
  corruptNext(dir: 'toServer' | 'toClient'): void;
  /** Bytes seen in each direction after the corruption. */
  after: { toServer: Buffer[]; toClient: Buffer[] };
}
async function tamperProxy(target: number): Promise<{ port: number; tamper: Tamper }> {
  const armed = { toServer: false, toClient: false };
  const tamper: Tamper = {
    corruptNext: (dir) => {
      armed[dir] = true;
    },
    after: { toServer: [], toClient: [] },
  };
  let corrupted = false;
  const px = net.createServer((cs) => {
    const ss = track(net.connect(target, '127.0.0.1'));
    ss.on('error', () => {});
    const relay = (dir: 'toServer' | 'toClient', to: net.Socket) => (d: Buffer) => {
      if (corrupted) tamper.after[dir].push(d);
      if (armed[dir]) {
        armed[dir] = false;
        corrupted = true;
        d = Buffer.from(d);
        d[d.length - 1] ^= 1;
      }
      if (!to.destroyed) to.write(d);
    };
    cs.on('data', relay('toServer', ss));
    ss.on('data', relay('toClient', cs));
    cs.on('end', () => ss.end());
    ss.on('end', () => cs.end());
    cs.on('close', () => ss.destroy());
    ss.on('close', () => cs.destroy());
  });
  const port = await serve(px);
  return { port, tamper };
}

/** Runs a fixture script with this Node; a crash is a non-zero code or a signal. */
function runNode(
  args: string[],
  timeoutMs = 20000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `label value` lines printed by test/workers/lifetime.js. */
function counters(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/^([\w-]+) (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** A good Node client right after the abuse: handshake + echo through the same server. */
async function goodClientEchoes(port: number): Promise<void> {
  const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
  await once(c, 'secureConnect', 5000);
  expect(c.authorized).toBe(true);
  c.end('still serving');
  expect((await readAll(c)).toString()).toBe('still serving');
}

beforeAll(() => {
  // The child-process tests load the compiled package; without it they would fail confusingly.
  expect(fs.existsSync(DIST)).toBe(true);
});

// ---- 1. garbage from a raw TCP client --------------------------------------------------------

describe('our server, raw TCP client sending garbage', () => {
  // [name, payload, Node's code for it, alert we expect back (null: none, as OpenSSL for a record that is no TLS)]
  const cases: Array<[string, () => Buffer, RegExp, number | null]> = [
    ['random bytes', () => noise(1024, 'garbage'), /^ERR_SSL_WRONG_VERSION_NUMBER$/, null],
    ['an HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), /^ERR_SSL_HTTP_REQUEST$/, null],
    ['zero bytes', () => Buffer.alloc(64), /^ERR_SSL_WRONG_VERSION_NUMBER$/, null],
    ['a record header claiming 64 KiB', () => Buffer.from([0x16, 3, 1, 0xff, 0xff, 1, 2, 3]), /^ERR_SSL_PACKET_LENGTH_TOO_LONG$/, 22 /* record_overflow */],
    ['application data before any handshake', () => Buffer.from([0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5]), /^ERR_SSL_UNEXPECTED_MESSAGE$/, 10 /* unexpected_message */],
  ];

  test.each(cases)('%s → tlsClientError(TLSError), fatal alert, connection closed, server keeps serving', async (_name, payload, code, alert) => {
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const secure = jest.fn();
    server.on('secureConnection', secure);
    const clientError = withinArgs<[gtls.TLSError, gtls.TLSSocket]>(server, 'tlsClientError');
    const raw = rawClient(port, payload());
    const [err, sock] = await clientError;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toMatch(code);
    expect(typeof err.gnutlsCode).toBe('number');
    expect(err.gnutlsCode).toBeLessThan(0);
    expect(err.gnutlsName).toMatch(/^GNUTLS_E_/);
    expect(err.message).toMatch(/^[0-9A-F]+:error:[0-9A-F]{8}:SSL routines:ssl3_(get_record|read_bytes):/);
    expect(sock).toBeInstanceOf(gtls.TLSSocket);
    await raw.closed; // the server hung up on the raw client
    expect(sock.destroyed).toBe(true);
    const got = raw.received();
    if (alert !== null) expect(alertRecord(got)).toEqual([2, alert]);
    else expect(got.length).toBe(0);
    expect(secure).not.toHaveBeenCalled();
    await goodClientEchoes(port);
  });

  test('truncated ClientHello, then FIN → ECONNRESET TLSError (no GnuTLS code), nothing sent back', async () => {
    const hello = await captureClientHello();
    expect(hello[0]).toBe(0x16);
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const clientError = within<gtls.TLSError>(server, 'tlsClientError');
    const raw = rawClient(port, hello.subarray(0, Math.floor(hello.length / 2)));
    await sleep(100); // GnuTLS waits for the rest of the record
    raw.sock.end();
    const err = await clientError;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ECONNRESET');
    expect(err.gnutlsCode).toBeUndefined();
    await raw.closed;
    expect(raw.received().length).toBe(0);
    await goodClientEchoes(port);
  });

  test('truncated ClientHello, then RST → tlsClientError(TLSError ECONNRESET) carrying the transport error', async () => {
    const hello = await captureClientHello();
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const clientError = within<gtls.TLSError & { cause?: Error & { code?: string; syscall?: string } }>(server, 'tlsClientError');
    const raw = rawClient(port, hello.subarray(0, 40));
    await sleep(100);
    raw.sock.resetAndDestroy();
    const err = await clientError;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ECONNRESET');
    expect(err.gnutlsCode).toBeUndefined();
    // the net.Socket's own error, as Node raised it, is kept as the cause
    expect(err.cause?.code).toBe('ECONNRESET');
    expect(err.cause?.syscall).toBe('read');
    await goodClientEchoes(port);
  });

  test('a complete ClientHello with a corrupted body is rejected with a decode-type alert', async () => {
    const hello = await captureClientHello();
    const bad = Buffer.from(hello);
    bad[8] -= 3; // handshake length now ends inside the extensions
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const clientError = within<gtls.TLSError>(server, 'tlsClientError');
    const raw = rawClient(port, bad);
    const err = await clientError;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toMatch(/^GNUTLS_E_/);
    expect(err.gnutlsCode).toBeLessThan(0);
    await raw.closed;
    const alert = alertRecord(raw.received());
    expect(alert).not.toBeNull();
    expect(alert![0]).toBe(2);
    await goodClientEchoes(port);
  });

  test('40 garbage connections at once, then a good client: every one reported, none served', async () => {
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await serve(server);
    const errors: gtls.TLSError[] = [];
    server.on('tlsClientError', (e: gtls.TLSError) => errors.push(e));
    const raws = Array.from({ length: 40 }, (_, i) => rawClient(port, i % 2 ? noise(200 + i, `n${i}`) : Buffer.from(`POST /${i} HTTP/1.0\r\n\r\n`)));
    await Promise.all(raws.map((r) => r.closed));
    await sleep(20);
    expect(errors).toHaveLength(40);
    for (const e of errors) {
      expect(e).toBeInstanceOf(gtls.TLSError);
      expect(e.code).toMatch(/^ERR_SSL_(HTTP_REQUEST|WRONG_VERSION_NUMBER)$/);
      expect(e.gnutlsName).toMatch(/^GNUTLS_E_/);
    }
    await goodClientEchoes(port);
  });
});

// ---- 2. our client against hostile servers ----------------------------------------------------

describe('our client, raw TCP server misbehaving', () => {
  async function rawServer(onConnection: (s: net.Socket) => void): Promise<number> {
    return serve(net.createServer(onConnection));
  }

  function ourClient(port: number, extra: gtls.ConnectionOptions = {}): gtls.TLSSocket {
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...extra }));
    return c;
  }

  const garbage: Array<[string, (s: net.Socket) => void, RegExp, string | undefined]> = [
    ['random bytes after the ClientHello', (s) => s.once('data', () => s.write(noise(300, 'server'))), /^ERR_SSL_WRONG_VERSION_NUMBER$/, undefined],
    ['an HTTP response', (s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')), /^ERR_SSL_WRONG_VERSION_NUMBER$/, undefined],
    ['an oversized record header', (s) => s.once('data', () => s.write(Buffer.from([0x16, 3, 3, 0xff, 0xff]))), /^ERR_SSL_PACKET_LENGTH_TOO_LONG$/, undefined],
    ['a plaintext fatal handshake_failure alert', (s) => s.once('data', () => s.write(Buffer.from([0x15, 3, 3, 0, 2, 2, 40]))), /^ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE$/, 'handshake_failure'],
  ];

  test.each(garbage)('%s → error(TLSError) and close, never secureConnect', async (_name, behave, code, alert) => {
    const port = await rawServer(behave);
    const c = ourClient(port);
    const events = recordEvents(c);
    const err = await errorThenClose<gtls.TLSError>(c);
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toMatch(code);
    expect(err.gnutlsCode).toBeLessThan(0);
    // Node's code, the GnuTLS error behind it as gnutlsName.
    if (alert) expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    else expect(err.gnutlsName).toMatch(/^GNUTLS_E_/);
    if (alert) {
      expect(err.alert).toBe(alert);
      expect(err.alertCode).toBe(40);
    }
    expect(events).not.toContain('secureConnect');
    expect(events.filter((e) => e.startsWith('error:'))).toHaveLength(1);
  });

  const closes: Array<[string, (s: net.Socket) => void]> = [
    ['closes immediately', (s) => s.end()],
    ['destroys immediately', (s) => s.destroy()],
    ['closes after reading the ClientHello', (s) => s.once('data', () => s.end())],
  ];

  test.each(closes)('server %s → ECONNRESET TLSError, no hang', async (_name, behave) => {
    const port = await rawServer(behave);
    const c = ourClient(port);
    const t0 = Date.now();
    const err = await errorThenClose<gtls.TLSError>(c, 2000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ECONNRESET');
    expect(err.message).toMatch(/before secure TLS connection was established/);
  });

  test('server sends half of a real ServerHello flight, then closes → ECONNRESET TLSError', async () => {
    const real = nodeTls.createServer(serverOpts, (s) => s.end());
    const realPort = await serve(real);
    const port = await rawServer((s) => {
      const up = track(net.connect(realPort, '127.0.0.1'));
      up.on('error', () => {});
      s.on('data', (d) => up.write(d));
      up.once('data', (d) => {
        s.end(d.subarray(0, Math.floor(d.length / 2)));
        up.destroy();
      });
    });
    const c = ourClient(port);
    const err = await errorThenClose<gtls.TLSError>(c);
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ECONNRESET');
  });

  test('server resets after the ClientHello → transport ECONNRESET (as Node), socket closed', async () => {
    const port = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
    const c = ourClient(port);
    const err = await errorThenClose<Error & { code?: string; syscall?: string }>(c);
    expect(err.code).toBe('ECONNRESET');
    expect(err.syscall).toBe('read');
    // Node's own client reports the same error for the same peer.
    const n = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    const nodeErr = await within<Error & { code?: string }>(n, 'error');
    expect(nodeErr.code).toBe(err.code);
  });

  test('silent server + client handshakeTimeout: ERR_TLS_HANDSHAKE_TIMEOUT, closed', async () => {
    const port = await rawServer(() => {});
    const t0 = Date.now();
    const c = ourClient(port, { handshakeTimeout: 300 });
    const err = await errorThenClose<gtls.TLSError>(c, 2000);
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1000);
  });
});

// ---- 3. handshake timeout on the server --------------------------------------------------------

describe('server handshakeTimeout', () => {
  test('raw client that sends nothing: ERR_TLS_HANDSHAKE_TIMEOUT within ~1 s, connection closed', async () => {
    const server = gtls.createServer({ ...serverOpts, handshakeTimeout: 300 }, (s) => s.pipe(s));
    const port = await serve(server);
    const t0 = Date.now();
    const clientError = withinArgs<[gtls.TLSError, gtls.TLSSocket]>(server, 'tlsClientError', 2000);
    const raw = rawClient(port);
    const [err, sock] = await clientError;
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1000);
    await raw.closed;
    expect(sock.destroyed).toBe(true);
    expect(raw.received().length).toBe(0);
  });

  test('raw client that stalls after half a ClientHello also times out', async () => {
    const hello = await captureClientHello();
    const server = gtls.createServer({ ...serverOpts, handshakeTimeout: 300 });
    const port = await serve(server);
    const clientError = within<gtls.TLSError>(server, 'tlsClientError', 2000);
    const raw = rawClient(port, hello.subarray(0, 60));
    expect((await clientError).code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    await raw.closed;
  });

  test('a completed handshake is not cut by the timer', async () => {
    const server = gtls.createServer({ ...serverOpts, handshakeTimeout: 300 }, (s) => s.pipe(s));
    const port = await serve(server);
    const clientErrors = jest.fn();
    server.on('tlsClientError', clientErrors);
    const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    await once(c, 'secureConnect');
    await sleep(600);
    c.end('after the timeout would have fired');
    expect((await readAll(c)).toString()).toBe('after the timeout would have fired');
    expect(clientErrors).not.toHaveBeenCalled();
  });
});

// ---- 4. alerts and closes after the handshake --------------------------------------------------

describe.each(VERSIONS)('after the handshake, %s', (version) => {
  const vOpts = { minVersion: version, maxVersion: version } as const;

  test('Node server gets a corrupted record from us → its bad_record_mac alert errors our client', async () => {
    const node = nodeTls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      track(s);
      s.on('error', () => {});
    });
    const nodePort = await serve(node);
    const { port, tamper } = await tamperProxy(nodePort);
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    await once(c, 'secureConnect');
    await sleep(30); // let the server's post-handshake records (tickets) pass first
    tamper.corruptNext('toServer');
    c.write('this record will be corrupted');
    const err = await errorThenClose<gtls.TLSError>(c);
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC');
    expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect(err.alert).toBe('bad_record_mac');
    expect(err.alertCode).toBe(20);
  });

  test('our server: Node client sends bad_record_mac after a corrupted record → error on our socket', async () => {
    let ours: gtls.TLSSocket | undefined;
    const server = gtls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      ours = s;
      s.on('error', () => {});
    });
    const port0 = await serve(server);
    const { port, tamper } = await tamperProxy(port0);
    const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    c.on('error', () => {});
    await once(c, 'secureConnect');
    await sleep(30);
    expect(ours).toBeDefined();
    const serverErr = errorThenClose(ours!);
    tamper.corruptNext('toClient');
    ours!.write('this record will be corrupted');
    const err = await serverErr;
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC');
    expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect(err.alert).toBe('bad_record_mac');
  });

  test('a corrupted record reaching our client → Node\'s code for it (TLS 1.2 AES-GCM: ERR_SSL_CIPHER_OPERATION_FAILED), closed', async () => {
    let peer: nodeTls.TLSSocket | undefined;
    const node = nodeTls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      peer = track(s);
      s.on('error', () => {});
    });
    const { port, tamper } = await tamperProxy(await serve(node));
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    const events = recordEvents(c);
    await once(c, 'secureConnect');
    await sleep(30);
    tamper.corruptNext('toClient');
    peer!.write('this record will be corrupted');
    const err = await errorThenClose<gtls.TLSError>(c);
    expect(err).toBeInstanceOf(gtls.TLSError);
    // OpenSSL 3 reports a TLS 1.2 AES-GCM record that fails to decrypt from its provider.
    expect(err.code).toBe(vOpts.maxVersion === 'TLSv1.2' ? 'ERR_SSL_CIPHER_OPERATION_FAILED' : 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC');
    expect(err.gnutlsName).toBe('GNUTLS_E_DECRYPTION_FAILED');
    expect(err.gnutlsCode).toBe(-24);
    expect(events).not.toContain('end');
  });

  // RFC 8446 §5.2 / RFC 5246 §7.2.2: a record that fails to decrypt is answered with a fatal
  // bad_record_mac alert, as Node does (test above), so the peer sees an error, not a clean 'end'.
  test('…and our client tells the peer with a bad_record_mac alert (RFC 8446 §5.2)', async () => {
    let peer: nodeTls.TLSSocket | undefined;
    const node = nodeTls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      peer = track(s);
    });
    const { port, tamper } = await tamperProxy(await serve(node));
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    c.on('error', () => {});
    await once(c, 'secureConnect');
    await sleep(30);
    const peerEvents = recordEvents(peer!);
    tamper.corruptNext('toClient');
    peer!.write('this record will be corrupted');
    await within(peer!, 'close');
    expect(peerEvents).toContain('error:ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC');
  });

  const endings: Array<[string, (s: nodeTls.TLSSocket) => void]> = [
    ['end() (close_notify)', (s) => s.end()],
    ['destroy() (no close_notify)', (s) => s.destroy()],
    ['its TCP socket destroyed (truncation)', (s) => (s as unknown as { _parent: net.Socket })._parent.destroy()],
  ];

  test.each(endings)('Node server %s after sending data → our client: data, end, close, no error', async (_name, finish) => {
    const node = nodeTls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      track(s);
      s.on('error', () => {});
      s.write('last words', () => setTimeout(() => finish(s), 20));
    });
    const port = await serve(node);
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    const events = recordEvents(c);
    const data = readAll(c);
    await within(c, 'close');
    expect((await data).toString()).toBe('last words');
    expect(events).toEqual(['secureConnect', 'end', 'close']);
  });

  test('peer closes while we never read: end and close still happen (like net.Socket)', async () => {
    const node = nodeTls.createServer({ ...serverOpts, ...vOpts }, (s) => {
      track(s);
      s.on('error', () => {});
      s.end();
    });
    const port = await serve(node);
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
    const events = recordEvents(c); // no 'data' listener, no resume()
    await within(c, 'close');
    expect(events).toEqual(['secureConnect', 'end', 'close']);
  });

  test('our server: Node client ends with close_notify → end, close, no error', async () => {
    let ours: gtls.TLSSocket | undefined;
    const closed = new Promise<string[]>((resolve) => {
      const server = gtls.createServer({ ...serverOpts, ...vOpts }, (s) => {
        ours = s;
        const ev = recordEvents(s);
        s.resume();
        s.once('close', () => resolve(ev));
      });
      void serve(server).then((port) => {
        const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...vOpts }));
        c.once('secureConnect', () => c.end('bye'));
        c.resume();
      });
    });
    const ev = await closed;
    expect(ev).toEqual(['end', 'close']);
    expect(ours!.destroyed).toBe(true);
  });
});

// ---- 5. stream misuse ---------------------------------------------------------------------------

describe('stream misuse', () => {
  async function echoServer(): Promise<number> {
    return serve(
      nodeTls.createServer(serverOpts, (s) => {
        track(s);
        s.on('error', () => {});
        s.pipe(s);
      }),
    );
  }

  test('write after end → ERR_STREAM_WRITE_AFTER_END on the callback and as error, like Node', async () => {
    const port = await echoServer();
    const seen: Record<string, { cb?: string; event?: string; data: string }> = {};
    for (const [name, lib] of [
      ['node', nodeTls],
      ['ours', gtls],
    ] as const) {
      const c = track((lib as typeof nodeTls).connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
      await once(c, 'secureConnect');
      const r: { cb?: string; event?: string; data: string } = { data: '' };
      c.on('error', (e: Error & { code?: string }) => (r.event = e.code));
      c.on('data', (d: Buffer) => (r.data += d));
      c.end('before end');
      c.write('after end', (e?: Error | null) => (r.cb = (e as (Error & { code?: string }) | undefined)?.code));
      await within(c, 'close');
      seen[name] = r;
    }
    expect(seen.ours.cb).toBe('ERR_STREAM_WRITE_AFTER_END');
    expect(seen.ours.event).toBe('ERR_STREAM_WRITE_AFTER_END');
    expect(seen.ours).toEqual(seen.node);
  });

  test('write after end before the handshake completed → ERR_STREAM_WRITE_AFTER_END, closes', async () => {
    const port = await echoServer();
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    c.end();
    const cbErr = new Promise<string | undefined>((resolve) => c.write('x', (e) => resolve((e as (Error & { code?: string }) | null)?.code)));
    const evErr = errorThenClose<Error & { code?: string }>(c);
    c.resume();
    expect(await cbErr).toBe('ERR_STREAM_WRITE_AFTER_END');
    expect((await evErr).code).toBe('ERR_STREAM_WRITE_AFTER_END');
  });

  test('destroy() twice (and with an error afterwards) is harmless; accessors still answer', async () => {
    const port = await echoServer();
    const c = track(gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    await once(c, 'secureConnect');
    const events = recordEvents(c);
    c.destroy();
    c.destroy();
    c.destroy(new Error('late'));
    await within(c, 'close');
    await sleep(20);
    expect(events).toEqual(['close']); // no error: the first destroy() won
    expect(c.destroyed).toBe(true);
    // null once destroyed, as Node's (its handle is gone): see conformance/surface.test.ts.
    expect(c.getSession()).toBeNull();
    expect(c.getFinished()).toBeNull();
    expect(c.getPeerCertificate()).toBeNull();
    expect(() => c.exportKeyingMaterial(16, 'EXPORTER-x')).toThrow(expect.objectContaining({ code: 'ERR_TLS_INVALID_STATE' }));
    expect(c.postHandshakeAuthEnabled).toBe(false);
    const cb = await new Promise<string | undefined>((resolve) => c.write('z', (e) => resolve((e as (Error & { code?: string }) | null)?.code)));
    expect(cb).toBe('ERR_STREAM_DESTROYED');
    await expect(c.keyUpdate()).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
  });

  // Getters stay safe after destroy(): postHandshakeAuthEnabled reads no closed native session.
  test('server socket: postHandshakeAuthEnabled after destroy() does not throw', async () => {
    const got = new Promise<gtls.TLSSocket>((resolve) => {
      const server = gtls.createServer(serverOpts, (s) => {
        s.destroy();
        resolve(s);
      });
      void serve(server).then((port) => {
        const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
        c.on('error', () => {});
        c.resume();
      });
    });
    const s = await got;
    expect(() => s.postHandshakeAuthEnabled).not.toThrow();
  });

  // destroy() from inside our handlers runs in a child process: an exception escaping the
  // library there is uncaught and would take the jest worker down.
  function destroyIn(scenario: string, version: string): ReturnType<typeof runNode> {
    return runNode([path.join(WORKERS, 'destroy-in-handler.js'), scenario, version], 15000);
  }
  function resultOf(stdout: string): Record<string, unknown> {
    const m = /^RESULT (.*)$/m.exec(stdout);
    return m ? JSON.parse(m[1]) : {};
  }

  test.each(VERSIONS)('server destroy() inside secureConnection (%s): both clients see end+close, server survives', async (version) => {
    const r = await destroyIn('server-secureConnection', version);
    expect(r.stdout).toMatch(/^DONE$/m);
    expect(r.code).toBe(0);
    const res = resultOf(r.stdout);
    expect(res.secured).toBe(2);
    expect(res.nodeClient).toEqual(['secureConnect', 'end', 'close']);
    expect(res.ourClient).toEqual(['secureConnect', 'end', 'close']);
    expect(res.tlsClientErrors).toEqual([]);
  });

  test('client destroy() inside secureConnect (TLSv1.3): closes without error or crash', async () => {
    const r = await destroyIn('client-secureConnect', 'TLSv1.3');
    expect(r.stdout).not.toMatch(/UNCAUGHT/);
    expect(r.code).toBe(0);
    expect(resultOf(r.stdout).events).toEqual(['secureConnect', 'close']);
  });

  // destroy() inside 'secureConnect' (TLS 1.2 also emits 'session' right after): no later call
  // may touch the closed native session, or an exception would escape the transport's listener.
  test('client destroy() inside secureConnect (TLSv1.2): closes without error or crash', async () => {
    const r = await destroyIn('client-secureConnect', 'TLSv1.2');
    expect(r.stdout).not.toMatch(/UNCAUGHT/);
    expect(r.code).toBe(0);
    expect(resultOf(r.stdout).events).toEqual(['secureConnect', 'close']);
  });

  // Same for destroy() inside a 'keylog' listener during the handshake (verification comes after).
  test.each(VERSIONS)('client destroy() inside a keylog listener (%s): no crash', async (version) => {
    const r = await destroyIn('client-keylog', version);
    expect(r.stdout).not.toMatch(/UNCAUGHT/);
    expect(r.code).toBe(0);
  });
});

// ---- 6. native lifetime --------------------------------------------------------------------------

describe('native Session lifetime (child process, --expose-gc)', () => {
  const lifetime = (mode: string): ReturnType<typeof runNode> =>
    runNode(['--expose-gc', path.join(WORKERS, 'lifetime.js'), mode], 30000);

  test('4,000 sockets dropped mid-handshake without destroy() are freed by GC', async () => {
    const r = await lifetime('idle');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const n = counters(r.stdout);
    expect(n.created - n.start).toBe(4000);
    expect(n.started - n.start).toBe(4000);
    expect(n['after-gc'] - n.start).toBeLessThanOrEqual(10);
  });

  test('300 completed in-memory handshakes (+ echo) dropped without destroy() are freed by GC', async () => {
    const r = await lifetime('handshake');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const n = counters(r.stdout);
    expect(n.echoed).toBe(300);
    expect(n.connected - n.start).toBe(600);
    expect(n['after-gc'] - n.start).toBeLessThanOrEqual(10);
  });

  test('destroy() frees the native session at once; a second destroy() changes nothing', async () => {
    const r = await lifetime('destroy');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const n = counters(r.stdout);
    expect(n.created - n.start).toBe(100);
    expect(n['destroyed-60'] - n.start).toBe(40);
    expect(n['destroyed-60-again'] - n.start).toBe(40);
    expect(n['destroyed-all'] - n.start).toBe(0);
    expect(n['secure-pairs'] - n.start).toBe(40);
    expect(n['destroyed-pairs'] - n.start).toBe(0);
  });

  test('a failed handshake frees its session without waiting for GC', async () => {
    const r = await lifetime('failed');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const n = counters(r.stdout);
    expect(n.errors).toBe(50);
    expect(n['after-failures'] - n.start).toBe(0);
  });
});

// ---- 7. worker_threads ---------------------------------------------------------------------------

describe('worker_threads (child process)', () => {
  const threads = (...args: string[]): ReturnType<typeof runNode> => runNode([path.join(WORKERS, 'threads.js'), ...args], 30000);

  test('4 workers load the addon and handshake + echo concurrently; they exit cleanly; main thread works', async () => {
    const r = await threads('echo', '4');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    const results = JSON.parse(/^RESULTS (.*)$/m.exec(r.stdout)![1]) as Array<Record<string, unknown>>;
    expect(results.map((x) => x.id).sort()).toEqual([1, 2, 3, 4]);
    for (const x of results) {
      expect(x).toMatchObject({ echoed: true, authorized: true, protocol: 'TLSv1.3', gnutls: gtls.gnutlsVersion, live: 0 });
    }
    expect(JSON.parse(/^EXITS (.*)$/m.exec(r.stdout)![1])).toEqual([0, 0, 0, 0]);
    expect(JSON.parse(/^MAIN (.*)$/m.exec(r.stdout)![1])).toMatchObject({ echoed: true, authorized: true, live: 0 });
  });

  // worker.terminate() while a worker pumps TLS traffic: native calls that fail during the
  // worker's teardown must not abort the process (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS).
  test('busy workers terminated mid-traffic (10 rounds × 2): the process survives and the main thread handshakes', async () => {
    const r = await threads('terminate', '10', '2');
    expect(r.stderr).not.toMatch(/terminate called/);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^TERMINATED /gm)).toHaveLength(10);
    expect(JSON.parse(/^MAIN (.*)$/m.exec(r.stdout)![1])).toMatchObject({ echoed: true, authorized: true });
  });
});

describe('a peer that leaves while the server ends', () => {
  test.each(['node', 'gnutls'] as const)(
    'server.end() racing a %s client that destroys at once: no error on either server (as with Node)',
    async (clientStack) => {
      const errors: Record<string, number> = { node: 0, gnutls: 0 };
      const opts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
      const servers = {
        node: nodeTls.createServer(opts, (s) => {
          s.on('error', () => errors.node++);
          s.end('x'.repeat(1000));
        }),
        gnutls: gtls.createServer(opts, (s) => {
          // Without this listener an 'error' here would crash the process, as it would with Node.
          s.on('error', () => errors.gnutls++);
          s.end('x'.repeat(1000));
        }),
      };
      const connect = (port: number, cb: () => void): { destroy(): void; on(e: 'error', l: (e: Error) => void): unknown } => {
        const o = { port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem') };
        return clientStack === 'node' ? nodeTls.connect(o, cb) : gtls.connect(o, cb);
      };
      try {
        for (const [name, server] of Object.entries(servers)) {
          const port = await listen(server);
          for (let i = 0; i < 40; i++) {
            await new Promise<void>((resolve, reject) => {
              const c = connect(port, () => {
                c.destroy();
                resolve();
              });
              c.on('error', reject);
            });
          }
          void name;
        }
        await new Promise((r) => setTimeout(r, 200)); // let the servers meet the closed connections
        expect(errors).toEqual({ node: 0, gnutls: 0 });
      } finally {
        await Promise.all(Object.values(servers).map((s) => closeServer(s)));
      }
    },
  );
});
