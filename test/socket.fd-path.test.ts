// The fd fast path (lib/fd-path.ts): once the handshake is done over a plain net.Socket, a
// TLSSocket reads and writes ciphertext on the socket's descriptor natively. Each scenario runs
// with Node's tls (the reference, in the same run) and with node-gnutls on the same side, the
// peer being Node's tls or node-gnutls; the observable trace (bytes, events, error shape) must
// match Node's, and the node-gnutls socket must really be on the fast path (or, for a transport
// someone else also reads, must not be).
import * as net from 'net';
import * as path from 'path';
import { randomBytes } from 'crypto';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { ensureDist, fixture, runChild, serveTracked, sha256, tracked } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const MiB = 1024 * 1024;
const DATA = randomBytes(8 * MiB);
type Impl = 'node' | 'gnutls';
const tlsOf = (impl: Impl): typeof nodeTls => (impl === 'node' ? nodeTls : (gtls as unknown as typeof nodeTls));
const onFdPath = (s: unknown): boolean => (s as { fd?: { attached: boolean } }).fd?.attached === true;

interface Trace {
  events: string[];
  bytes: number;
  sha: string;
  fdPath: boolean;
}

/** Sends `data` in 64 KiB writes with back-pressure, then ends. */
function send(s: nodeTls.TLSSocket, data: Buffer): void {
  let off = 0;
  const pump = (): void => {
    while (off < data.length) {
      const chunk = data.subarray(off, off + 64 * 1024);
      off += chunk.length;
      if (!s.write(chunk)) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
}

/** What a socket did until 'close': events in order, the bytes it read. */
function record(s: nodeTls.TLSSocket, opts: { pauseMs?: number; destroyOnData?: number } = {}): Promise<Trace> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const chunks: Buffer[] = [];
    let fdPath = false;
    let paused = false;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      fdPath ||= onFdPath(s);
      if (opts.destroyOnData) {
        if (chunks.length < opts.destroyOnData) return;
        if (chunks.length === opts.destroyOnData) events.push('data');
        s.destroy();
        return;
      }
      if (opts.pauseMs && !paused) {
        paused = true;
        s.pause();
        setTimeout(() => s.resume(), opts.pauseMs);
      }
    });
    s.on('end', () => events.push('end'));
    s.on('error', (e: NodeJS.ErrnoException) => events.push(`error:${e.code}:${e.syscall}:${e.message}`));
    s.on('close', (hadError: boolean) => {
      events.push(`close(${hadError})`);
      const all = Buffer.concat(chunks);
      resolve({ events, bytes: opts.destroyOnData ? -1 : all.length, sha: opts.destroyOnData ? '' : sha256(all), fdPath });
    });
  });
}

async function server(impl: Impl, onSocket: (s: nodeTls.TLSSocket) => void): Promise<number> {
  const srv = tlsOf(impl).createServer(serverOpts, onSocket);
  return (await serveTracked(srv)).port;
}

function client(impl: Impl, port: number, extra: Record<string, unknown> = {}): nodeTls.TLSSocket {
  return tracked(tlsOf(impl).connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...extra }));
}

/**
 * A TCP relay in front of `target` counting, while `counting`, the reads ('data' chunks) each way
 * and the flights (runs of reads in one direction between reads the other way).
 */
async function chunkRelay(target: number) {
  const relay = { port: 0, counting: false, up: 0, down: 0, flights: { up: 0, down: 0 }, last: '' };
  const srv = net.createServer((cs) => {
    const ss = net.connect(target, '127.0.0.1');
    for (const [from, to, dir] of [[cs, ss, 'up'], [ss, cs, 'down']] as const) {
      from.on('error', () => to.destroy());
      from.on('data', (d: Buffer) => {
        if (relay.counting) {
          relay[dir]++;
          if (relay.last !== dir) relay.flights[dir]++;
          relay.last = dir;
        }
        to.write(d);
      });
      from.on('end', () => to.end());
      from.on('close', () => to.destroy());
    }
  });
  relay.port = (await serveTracked(srv)).port;
  return relay;
}

/** Runs `scenario` with Node's tls and with node-gnutls on the side under test. */
async function both(scenario: (impl: Impl) => Promise<Trace>): Promise<{ node: Trace; gnutls: Trace }> {
  const node = await scenario('node');
  const gnutls = await scenario('gnutls');
  return { node, gnutls };
}

describe('fd fast path: node-gnutls as Node tls does, on the socket descriptor', () => {
  for (const peer of ['node', 'gnutls'] as const) {
    test(`server→client 8 MiB then end, client reading (peer: ${peer} server)`, async () => {
      const r = await both(async (impl) => {
        const port = await server(peer, (s) => send(s, DATA));
        return record(client(impl, port));
      });
      expect(r.gnutls.bytes).toBe(DATA.length);
      expect(r.gnutls.sha).toBe(sha256(DATA));
      expect(r.gnutls.events).toEqual(r.node.events);
      expect(r.gnutls.fdPath).toBe(true);
    });

    test(`client→server 8 MiB then end, server reading (peer: ${peer} client)`, async () => {
      const r = await both(async (impl) => {
        let done!: (t: Trace) => void;
        const traced = new Promise<Trace>((resolve) => (done = resolve));
        const port = await server(impl, (s) => void record(s).then(done));
        const c = client(peer, port);
        c.on('secureConnect', () => send(c, DATA));
        c.on('end', () => c.end());
        c.resume();
        return traced;
      });
      expect(r.gnutls.bytes).toBe(DATA.length);
      expect(r.gnutls.sha).toBe(sha256(DATA));
      expect(r.gnutls.events).toEqual(r.node.events);
      expect(r.gnutls.fdPath).toBe(true);
    });

    test(`a reader paused for 300 ms loses nothing (peer: ${peer} server)`, async () => {
      const r = await both(async (impl) => {
        const port = await server(peer, (s) => send(s, DATA));
        return record(client(impl, port), { pauseMs: 300 });
      });
      expect(r.gnutls.sha).toBe(sha256(DATA));
      expect(r.gnutls.events).toEqual(r.node.events);
    });
  }

  test('destroy() inside the first data callback: close without error, no crash', async () => {
    const r = await both(async (impl) => {
      const port = await server('gnutls', (s) => {
        s.on('error', () => {});
        send(s, DATA);
      });
      return record(client(impl, port), { destroyOnData: 1 });
    });
    expect(r.gnutls.events).toEqual(r.node.events);
    expect(r.gnutls.fdPath).toBe(true);
  });

  test('destroy() inside a later data callback, while a burst is still being read: close without error, no crash', async () => {
    const r = await both(async (impl) => {
      const port = await server('gnutls', (s) => {
        s.on('error', () => {});
        send(s, DATA);
      });
      const c = client(impl, port);
      // The reader falls behind: the burst piles up in the socket before the first read.
      c.on('secureConnect', () => c.pause());
      setTimeout(() => c.resume(), 200);
      return record(c, { destroyOnData: 5 });
    });
    expect(r.gnutls.events).toEqual(r.node.events);
    expect(r.gnutls.fdPath).toBe(true);
  });

  test('the peer resets the connection: read ECONNRESET, as Node reports it', async () => {
    const r = await both(async (impl) => {
      const raw: net.Socket[] = [];
      const srv = gtls.createServer(serverOpts, (s) => {
        s.write('x');
        s.on('error', () => {});
      });
      srv.on('connection', (s: net.Socket) => raw.push(s));
      const { port } = await serveTracked(srv);
      const c = client(impl, port);
      const trace = record(c);
      c.once('data', () => setTimeout(() => raw[0].resetAndDestroy(), 50));
      const t = await trace;
      return { ...t, fdPath: onFdPath(c) || t.fdPath };
    });
    expect(r.gnutls.events).toEqual(r.node.events);
    expect(r.gnutls.events[0]).toBe('error:ECONNRESET:read:read ECONNRESET');
    expect(r.gnutls.fdPath).toBe(true);
  });

  test('a transport someone else also reads stays on the stream path, and loses nothing', async () => {
    const port = await server('node', (s) => send(s, DATA));
    const raw = net.connect(port, '127.0.0.1');
    let rawBytes = 0;
    raw.on('data', (d: Buffer) => (rawBytes += d.length));
    const c = client('gnutls', port, { socket: raw });
    const t = await record(c);
    expect(t.sha).toBe(sha256(DATA));
    expect(t.fdPath).toBe(false);
    expect(rawBytes).toBeGreaterThan(DATA.length);
  });

  test("a 'data' listener added to the raw transport later gets its input back, and nothing is lost", async () => {
    let go!: () => void;
    const started = new Promise<void>((resolve) => (go = resolve));
    const port = await server('node', (s) => {
      s.write('x');
      void started.then(() => send(s, DATA));
    });
    const c = client('gnutls', port);
    const t = record(c);
    await new Promise((resolve) => c.once('data', resolve));
    expect(onFdPath(c)).toBe(true);
    let rawBytes = 0;
    (c as unknown as { socket: net.Socket }).socket.on('data', (d: Buffer) => (rawBytes += d.length));
    go();
    const trace = await t;
    expect(trace.bytes).toBe(DATA.length + 1);
    expect(trace.sha).toBe(sha256(Buffer.concat([Buffer.from('x'), DATA])));
    expect(rawBytes).toBeGreaterThan(DATA.length);
  });

  // One write per native call: a flight of several handshake messages written one by one would
  // have its later messages wait on Nagle for the peer's delayed ACK (40 ms per operation).
  test("a reauth()'s answer (Certificate, CertificateVerify, Finished) leaves the client in one write", async () => {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    let relay!: Awaited<ReturnType<typeof chunkRelay>>;
    const srv = gtls.createServer({ ...serverOpts, ca, minVersion: 'TLSv1.3' }, (s) => {
      s.on('error', () => {});
      s.once('data', async () => {
        relay.counting = true;
        for (let i = 0; i < 5; i++) await s.reauth({ require: true, timeout: 5000 });
        relay.counting = false;
        done();
        s.end();
      });
    });
    relay = await chunkRelay((await serveTracked(srv)).port);
    const c = client('gnutls', relay.port, { key: fixture('client.key'), cert: fixture('client.pem') });
    c.resume();
    c.once('secureConnect', () => c.write('go'));
    await finished;
    expect(relay.flights.up).toBe(5);
    expect(relay.up).toBe(5);
    expect(onFdPath(c)).toBe(true);
  });

  test("a TLS 1.2 rehandshake()'s server flights leave in one write each (Node's tls client answering)", async () => {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    let relay!: Awaited<ReturnType<typeof chunkRelay>>;
    let onPath = false;
    const srv = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
      s.on('error', () => {});
      s.once('data', async () => {
        onPath = onFdPath(s);
        relay.counting = true;
        await s.rehandshake({ timeout: 5000 });
        relay.counting = false;
        done();
        s.end();
      });
    });
    relay = await chunkRelay((await serveTracked(srv)).port);
    const c = client('node', relay.port);
    c.resume();
    c.once('secureConnect', () => c.write('go'));
    // HelloRequest; then ServerHello … ServerHelloDone and ChangeCipherSpec, Finished (or, resumed,
    // ServerHello, ChangeCipherSpec, Finished): each flight one read.
    await finished;
    expect(relay.flights.down).toBeGreaterThanOrEqual(2);
    expect(relay.down).toBe(relay.flights.down);
    expect(onPath).toBe(true);
  });

  test("the raw transport's bytesRead and bytesWritten count the ciphertext, as with Node's tls", async () => {
    const counts = async (impl: Impl): Promise<{ read: number; written: number; fdPath: boolean }> => {
      // allowHalfOpen: the client's end (after its 2 MiB) must not end the server's 8 MiB.
      const srv = nodeTls.createServer({ ...serverOpts, allowHalfOpen: true }, (s) => {
        s.resume();
        send(s, DATA);
      });
      const { port } = await serveTracked(srv);
      const raw = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => raw.once('connect', resolve));
      const c = client(impl, port, { socket: raw });
      c.on('secureConnect', () => send(c, DATA.subarray(0, 2 * MiB)));
      const t = await record(c);
      expect(t.sha).toBe(sha256(DATA));
      return { read: raw.bytesRead, written: raw.bytesWritten, fdPath: t.fdPath || onFdPath(c) };
    };
    const node = await counts('node');
    const ours = await counts('gnutls');
    expect(ours.fdPath).toBe(true);
    // Ciphertext: the plaintext, plus record overhead and the handshake (a few KiB either way).
    for (const r of [node, ours]) {
      expect(r.read).toBeGreaterThan(DATA.length);
      expect(r.read).toBeLessThan(DATA.length * 1.01 + 8192);
      expect(r.written).toBeGreaterThan(2 * MiB);
      expect(r.written).toBeLessThan(2 * MiB * 1.01 + 8192);
    }
    expect(Math.abs(ours.read - node.read)).toBeLessThan(DATA.length * 0.005);
    expect(Math.abs(ours.written - node.written)).toBeLessThan(2 * MiB * 0.005);
  });

  test('NODE_GNUTLS_FD_PATH=0 keeps every socket on the stream path; unref() lets the process exit on both', async () => {
    ensureDist();
    const script = path.join(__dirname, 'workers', 'fd-path-child.js');
    const run = (value: string | undefined): Promise<string> => {
      const env = { ...process.env };
      if (value === undefined) delete env.NODE_GNUTLS_FD_PATH;
      else env.NODE_GNUTLS_FD_PATH = value;
      return runChild(process.execPath, [script], { env, killAfterMs: 20000 }).then((r) => `${r.code}:${r.stdout.trim()}`);
    };
    expect(await run(undefined)).toBe('0:attached=true bytes=1048576\nexited');
    expect(await run('0')).toBe('0:attached=false bytes=1048576\nexited');
  });
});
