// The peer closes the connection at every step of a reauth() / rehandshake(). A TCP relay between
// the two ends counts TLS records from the moment the operation starts and, for every record N
// of the operation (and in the middle of it), stops forwarding and closes (FIN or RST) the
// connection of one side: the side that called reauth()/rehandshake() (its peer "closed"), or the
// side answering it. Pass: the caller's promise settles, with a typed error (a `code`) unless
// everything the caller needed had arrived before the cut; the closed side emits 'close';
// every 'error' is typed; nothing hangs (each case has a deadline); no unhandled rejection
// (jest fails a test on one).
// Operations: TLS 1.3 reauth() (our server, our client answering), TLS 1.2 rehandshake() from our
// server (our client answering; Node's tls client answering), TLS 1.2 rehandshake() from our client
// (our server accepting), TLS 1.2 reauth() (our server, our client answering).
import * as net from 'net';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { fixture, listen, once } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), ca };
const clientCert = { key: fixture('client.key'), cert: fixture('client.pem') };
const CASE_DEADLINE = 4000;

// ---- bookkeeping ----------------------------------------------------------------------------

const openServers = new Set<net.Server>();
const openSockets = new Set<{ destroy(): unknown }>();
const track = <T extends { destroy(): unknown }>(s: T): T => {
  openSockets.add(s);
  return s;
};
async function cleanup(): Promise<void> {
  for (const s of openSockets) s.destroy();
  openSockets.clear();
  await Promise.all([...openServers].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  openServers.clear();
}
afterEach(cleanup);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the cutting relay --------------------------------------------------------------------------

type Dir = 'toServer' | 'toClient';
interface Seen {
  dir: Dir;
  type: number;
  len: number;
}
type CloseMode = 'fin' | 'rst';

/**
 * A TCP relay in front of `target` that forwards whole TLS records. Once armed it counts them;
 * with a cut planned at record `cutAt` it forwards records 0..cutAt-1 (and, for `mid`, the first
 * half of record cutAt), then drops everything and closes the victim side's connection.
 */
class CutRelay {
  port = 0;
  armed = false;
  seen: Seen[] = [];
  cut: { at: number; mid: boolean; victim: Dir; mode: CloseMode } | null = null;
  didCut = false;
  private server: net.Server;
  private sockets: Record<Dir, net.Socket | null> = { toServer: null, toClient: null };

  constructor(private readonly target: number) {
    this.server = net.createServer((cs) => this.onConnection(cs));
    openServers.add(this.server);
  }

  async start(): Promise<number> {
    this.port = await listen(this.server);
    return this.port;
  }

  private onConnection(cs: net.Socket): void {
    const ss = track(net.connect(this.target, '127.0.0.1'));
    track(cs);
    cs.on('error', () => {});
    ss.on('error', () => {});
    cs.setNoDelay(true); // records are written one by one: no Nagle / delayed-ACK stalls
    ss.setNoDelay(true);
    this.sockets = { toServer: ss, toClient: cs };
    this.pipe(cs, ss, 'toServer');
    this.pipe(ss, cs, 'toClient');
    cs.on('end', () => !this.didCut && ss.end());
    ss.on('end', () => !this.didCut && cs.end());
    cs.on('close', () => !this.didCut && ss.destroy());
    ss.on('close', () => !this.didCut && cs.destroy());
  }

  private pipe(from: net.Socket, to: net.Socket, dir: Dir): void {
    let buf = Buffer.alloc(0);
    from.on('data', (d: Buffer) => {
      if (this.didCut) return;
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && !this.didCut) {
        const total = 5 + buf.readUInt16BE(3);
        if (buf.length < total) break;
        const rec = buf.subarray(0, total);
        buf = buf.subarray(total);
        if (this.armed) {
          const index = this.seen.length;
          if (this.cut && index === this.cut.at) {
            if (this.cut.mid) to.write(rec.subarray(0, Math.max(1, total >> 1)));
            this.doCut();
            return;
          }
          this.seen.push({ dir, type: rec[0], len: total - 5 });
        }
        to.write(rec);
      }
    });
  }

  private doCut(): void {
    const c = this.cut!;
    this.didCut = true;
    const victim = this.sockets[c.victim];
    if (!victim) return;
    // Let what was written reach the victim first, then close its connection.
    const close = (): void => {
      if (c.mode === 'rst') victim.resetAndDestroy();
      else victim.end();
    };
    if (victim.writableLength > 0) victim.once('drain', close);
    else setImmediate(close);
  }
}

// ---- the operations ----------------------------------------------------------------------------

type Role = 'caller' | 'answerer';
interface Ends {
  caller: gtls.TLSSocket | nodeTls.TLSSocket;
  answerer: gtls.TLSSocket | nodeTls.TLSSocket;
  /** Which relay side each end is on. */
  callerSide: Dir;
  /** Starts the operation; the promise of the side calling it. */
  start: () => Promise<unknown>;
  /** Resolves when the answering side has finished its part (calibration only). */
  answered: () => Promise<unknown>;
}

interface OpSpec {
  name: string;
  version: 'TLSv1.2' | 'TLSv1.3';
  /** Which roles may be the victim (Node's own client is not under test). */
  victims: Role[];
  setup: (relayPort: number, server: gtls.Server) => Promise<Ends>;
  serverExtra?: gtls.TlsOptions;
}

/** Our client through the relay; waits for both ends to be secure and idle (tickets passed). */
async function ourPair(relayPort: number, server: gtls.Server, version: 'TLSv1.2' | 'TLSv1.3'): Promise<{ s: gtls.TLSSocket; c: gtls.TLSSocket }> {
  const secured = once<gtls.TLSSocket>(server, 'secureConnection', 5000);
  const c = track(gtls.connect({ port: relayPort, host: '127.0.0.1', servername: 'localhost', ca, ...clientCert, minVersion: version, maxVersion: version }));
  const connected = once(c, 'secureConnect', 5000); // under TLS 1.3 the client is done first
  const s = track(await secured);
  await connected;
  await pingPong(s, c);
  return { s, c };
}

/** One round trip of application data, so that everything sent after the handshake has passed. */
async function pingPong(s: NodeJS.EventEmitter & { write(b: string): unknown }, c: NodeJS.EventEmitter & { write(b: string): unknown }): Promise<void> {
  const got = once<Buffer>(c, 'data', 5000);
  s.once('data', () => s.write('pong'));
  c.write('ping');
  await got;
}

const OPS: OpSpec[] = [
  {
    name: 'TLS 1.3 reauth() by our server, answered by our client',
    version: 'TLSv1.3',
    victims: ['caller', 'answerer'],
    setup: async (port, server) => {
      const { s, c } = await ourPair(port, server, 'TLSv1.3');
      return { caller: s, answerer: c, callerSide: 'toServer', start: () => s.reauth({ require: true }), answered: () => once(c, 'reauth', 5000) };
    },
  },
  {
    name: 'TLS 1.2 rehandshake() by our server, answered by our client',
    version: 'TLSv1.2',
    victims: ['caller', 'answerer'],
    setup: async (port, server) => {
      const { s, c } = await ourPair(port, server, 'TLSv1.2');
      return { caller: s, answerer: c, callerSide: 'toServer', start: () => s.rehandshake(), answered: () => once(c, 'renegotiated', 5000) };
    },
  },
  {
    name: 'TLS 1.2 reauth() by our server, answered by our client',
    version: 'TLSv1.2',
    victims: ['caller', 'answerer'],
    setup: async (port, server) => {
      const { s, c } = await ourPair(port, server, 'TLSv1.2');
      return { caller: s, answerer: c, callerSide: 'toServer', start: () => s.reauth({ require: true }), answered: () => once(c, 'renegotiated', 5000) };
    },
  },
  {
    name: 'TLS 1.2 rehandshake() by our client, accepted by our server',
    version: 'TLSv1.2',
    victims: ['caller', 'answerer'],
    serverExtra: { renegotiation: 'accept' },
    setup: async (port, server) => {
      const { s, c } = await ourPair(port, server, 'TLSv1.2');
      return { caller: c, answerer: s, callerSide: 'toClient', start: () => c.rehandshake(), answered: () => once(s, 'renegotiated', 5000) };
    },
  },
  {
    name: "TLS 1.2 rehandshake() by our server, answered by Node's tls client",
    version: 'TLSv1.2',
    victims: ['caller'],
    setup: async (port, server) => {
      const secured = once<gtls.TLSSocket>(server, 'secureConnection', 5000);
      const c = track(nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: 'TLSv1.2' }));
      c.on('error', () => {});
      const connected = once(c, 'secureConnect', 5000);
      const s = track(await secured);
      await connected;
      await pingPong(s, c);
      return { caller: s, answerer: c, callerSide: 'toServer', start: () => s.rehandshake(), answered: () => sleep(300) };
    },
  },
];

interface Watch {
  closed: Promise<boolean>;
  errors: Array<Error & { code?: unknown }>;
}
/** 'close' within the deadline (true) or not (false); every 'error' collected. */
function watch(sock: NodeJS.EventEmitter & { resume?: () => unknown }): Watch {
  const errors: Array<Error & { code?: unknown }> = [];
  sock.on('error', (e: Error) => errors.push(e));
  sock.on('data', () => {}); // flowing: 'end' can be emitted
  const closed = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), CASE_DEADLINE);
    sock.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  return { closed, errors };
}

type Outcome = { state: 'resolved' } | { state: 'rejected'; err: Error & { code?: unknown } } | { state: 'pending' };
function settleWithin(p: Promise<unknown>, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ state: 'pending' }), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve({ state: 'resolved' });
      },
      (err: Error) => {
        clearTimeout(t);
        resolve({ state: 'rejected', err });
      },
    );
  });
}

const typed = (e: { code?: unknown }): boolean => typeof e.code === 'string' && e.code.length > 0;

async function newServer(op: OpSpec): Promise<{ server: gtls.Server; relay: CutRelay }> {
  const server = gtls.createServer({ ...serverOpts, minVersion: op.version, maxVersion: op.version, ...op.serverExtra });
  server.on('tlsClientError', () => {});
  openServers.add(server);
  const port = await listen(server);
  const relay = new CutRelay(port);
  await relay.start();
  return { server, relay };
}

/** The records an uncut operation exchanges (direction, type, length). */
async function calibrate(op: OpSpec): Promise<Seen[]> {
  const { server, relay } = await newServer(op);
  const ends = await op.setup(relay.port, server);
  relay.armed = true;
  const answered = ends.answered();
  await ends.start();
  await answered;
  await sleep(100);
  const seen = relay.seen.slice();
  await cleanup();
  return seen;
}

describe.each(OPS)('$name', (op) => {
  let records: Seen[] = [];
  beforeAll(async () => {
    records = await calibrate(op);
    await cleanup();
  });

  test('calibration: the operation exchanges records both ways', () => {
    expect(records.length).toBeGreaterThanOrEqual(op.version === 'TLSv1.3' ? 3 : 6);
    expect(new Set(records.map((r) => r.dir)).size).toBe(2);
  });

  const cases: Array<[Role, CloseMode]> = [];
  for (const victim of op.victims) for (const mode of ['fin', 'rst'] as CloseMode[]) cases.push([victim, mode]);

  test.each(cases)('closed at every record (boundary and mid-record); victim: the %s side, by %s', async (victim, mode) => {
    const codes: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    for (let at = 0; at < records.length; at++) {
      for (const mid of [false, true]) {
        const label = `cut ${mid ? 'inside' : 'before'} record ${at}/${records.length} (${records[at].dir}, type ${records[at].type}), victim ${victim}, ${mode}`;
        const { server, relay } = await newServer(op);
        const ends = await op.setup(relay.port, server);
        const victimSide: Dir = victim === 'caller' ? ends.callerSide : ends.callerSide === 'toServer' ? 'toClient' : 'toServer';
        const victimSock = victim === 'caller' ? ends.caller : ends.answerer;
        const w = watch(victimSock);
        const callerWatch = victim === 'caller' ? w : watch(ends.caller);
        relay.cut = { at, mid, victim: victimSide, mode };
        relay.armed = true;
        const p = ends.start();
        p.catch(() => {}); // observed below
        // Everything the caller needs has arrived when every record towards it came before the cut.
        const lastToCaller = records.map((r) => r.dir).lastIndexOf(ends.callerSide);
        const callerHadAll = at > lastToCaller;

        const closed = await w.closed;
        if (!closed) throw new Error(`${label}: no 'close' on the ${victim} side within ${CASE_DEADLINE} ms`);
        for (const e of w.errors) if (!typed(e)) throw new Error(`${label}: untyped error ${e && e.stack}`);
        if (victim === 'caller') {
          const o = await settleWithin(p, CASE_DEADLINE);
          if (o.state === 'pending') throw new Error(`${label}: the caller's promise is still pending after 'close'`);
          if (o.state === 'rejected') {
            if (!typed(o.err)) throw new Error(`${label}: rejected with an untyped error ${o.err && o.err.stack}`);
            codes[String(o.err.code)] = (codes[String(o.err.code)] || 0) + 1;
          } else if (!callerHadAll) {
            throw new Error(`${label}: resolved although record(s) towards the caller never arrived`);
          }
          outcomes[o.state] = (outcomes[o.state] || 0) + 1;
        } else {
          // The caller's connection went silent; destroying it must settle its promise too.
          ends.caller.destroy();
          const o = await settleWithin(p, CASE_DEADLINE);
          if (o.state === 'pending') throw new Error(`${label}: the caller's promise did not settle on destroy()`);
          if (o.state === 'rejected' && !typed(o.err)) throw new Error(`${label}: caller rejected with an untyped error ${o.err && o.err.stack}`);
          for (const e of callerWatch.errors) if (!typed(e)) throw new Error(`${label}: caller's untyped error ${e && e.stack}`);
          outcomes[`answerer closed; caller ${o.state}`] = (outcomes[`answerer closed; caller ${o.state}`] || 0) + 1;
        }
        await cleanup();
      }
    }
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(records.length * 2);
    if (victim === 'caller') expect(outcomes.rejected).toBeGreaterThan(0);
    if (process.env.FAULTS_VERBOSE) console.log(`${op.name}, victim ${victim}, ${mode}: ${records.length} records`, JSON.stringify({ codes, outcomes }));
  });
});
