'use strict';
// Stress / fuzz driver for node-gnutls (see docs/RELIABILITY.md).
//
//   node scripts/stress.js [--cases N] [--quick] [--seed S] [--concurrency C] [--no-load]
//                          [--cluster-rounds R] [--no-cluster] [--memcheck-rounds R] [--no-memcheck]
//                          [--fuzz-seconds S] [--no-fuzz] [--robustness-scale K] [--no-robustness]
//
// One orchestrator process (this file, no node-gnutls loaded) and two children:
//   --role server : node-gnutls servers (the target, with handshakeTimeout 2000, and an "evil"
//                   server flooding its clients with HelloRequests / KeyUpdates), --expose-gc.
//   --role client : node-gnutls clients against the orchestrator's malicious raw server (replayed,
//                   mutated server flights), KeyUpdate / renegotiation floods against the target,
//                   and clients of the evil server.
// A crash of either child is seen here as its exit code / signal. Every connection the
// orchestrator opens has a deadline: one that neither ends nor answers in time is a hang.
// Then, each as a child process: the cluster run (test/workers/cluster.js: 4 workers with servers
// and clients on a shared port, ended mid-traffic), valgrind memcheck (scripts/memcheck.sh) and
// the libFuzzer targets (scripts/fuzz.sh), and the adversarial-peer suite (test/robustness, its
// counts ×K, every crafted ClientHello compared with gnutls-serv). One summary table folds
// everything in.
const { fork, spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const nodeTls = require('tls');

const ROOT = path.join(__dirname, '..');

/** A child dies loudly on anything uncaught: the orchestrator counts its exit status as a crash. */
function exitOnUncaught() {
  process.on('uncaughtException', (e) => {
    process.stdout.write(`UNCAUGHT ${e && e.stack}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    process.stdout.write(`UNHANDLED_REJECTION ${e && e.stack}\n`);
    process.exit(71);
  });
}
const FIX = path.join(ROOT, 'test', 'fixtures');
const fixture = (n) => fs.readFileSync(path.join(FIX, n));
const HANDSHAKE_TIMEOUT = 2000;
const HANG_GRACE = 3000; // a connection must end within handshakeTimeout + this after our last byte
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

// ---- options -------------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    cases: 100000,
    quick: false,
    seed: Date.now() % 1e9,
    concurrency: 48,
    load: true,
    role: null,
    rounds: 3,
    clusterRounds: 3,
    memcheckRounds: 6,
    fuzzSeconds: 60,
    robustnessScale: 4,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cases') o.cases = Number(argv[++i]);
    else if (a === '--quick') o.quick = true;
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else if (a === '--no-load') o.load = false;
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--role') o.role = argv[++i];
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--cluster-rounds') o.clusterRounds = Number(argv[++i]);
    else if (a === '--no-cluster') o.clusterRounds = 0;
    else if (a === '--memcheck-rounds') o.memcheckRounds = Number(argv[++i]);
    else if (a === '--no-memcheck') o.memcheckRounds = 0;
    else if (a === '--fuzz-seconds') o.fuzzSeconds = Number(argv[++i]);
    else if (a === '--no-fuzz') o.fuzzSeconds = 0;
    else if (a === '--robustness-scale') o.robustnessScale = Number(argv[++i]);
    else if (a === '--no-robustness') o.robustnessScale = 0;
  }
  if (o.quick && !argv.includes('--cases')) o.cases = 3000;
  // --quick: one cluster round; memcheck and the fuzzers have their own short tests in npm test.
  if (o.quick && !argv.includes('--cluster-rounds')) o.clusterRounds = Math.min(o.clusterRounds, 1);
  if (o.quick && !argv.includes('--memcheck-rounds')) o.memcheckRounds = 0;
  if (o.quick && !argv.includes('--fuzz-seconds')) o.fuzzSeconds = 0;
  // --quick: the adversarial-peer suite runs at its own counts in npm test (test/robustness).
  if (o.quick && !argv.includes('--robustness-scale')) o.robustnessScale = 0;
  return o;
}
const OPTS = parseArgs(process.argv.slice(2));

// ---- deterministic PRNG (mulberry32) so that a case is reproducible from (seed, index) ------------

function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const bytes = (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const pick = (arr) => arr[int(arr.length)];
  return { next, int, bytes, pick };
}
const caseSeed = (seed, i) => (Math.imul(seed >>> 0, 2654435761) ^ Math.imul(i + 1, 40503)) >>> 0;

// ---- classification of errors --------------------------------------------------------------------

function classify(e, TLSError) {
  if (TLSError && e instanceof TLSError) return 'typed';
  if (e && typeof e.syscall === 'string') return 'transport'; // ECONNRESET/EPIPE as Node raised them
  if (e && /^ERR_STREAM_|^ERR_SOCKET_CLOSED/.test(e.code || '')) return 'stream';
  return 'untyped';
}
const errCode = (e) => (e && (e.code || e.name)) || String(e);
function bump(obj, k, n = 1) {
  obj[k] = (obj[k] || 0) + n;
}

// =================================================================================================
// role: server (the target)
// =================================================================================================

async function serverMain() {
  const tls = require(ROOT);
  let binding = null;
  try {
    binding = require(path.join(ROOT, 'dist', 'native')).binding;
  } catch {
    /* liveSessions is optional */
  }
  const live = () => (binding && binding.liveSessions ? binding.liveSessions() : -1);
  const st = {
    secure: 0,
    clientErrors: {},
    untyped: [],
    sockErrors: {},
    evil: { secure: 0, ops: {}, errors: {} },
    peakRss: 0,
  };
  const untyped = (where, e) => {
    if (st.untyped.length < 50) st.untyped.push({ where, code: errCode(e), message: String(e && e.message), stack: String(e && e.stack).split('\n').slice(0, 6).join('\n') });
    else st.untyped.push({ where, code: errCode(e) });
  };
  exitOnUncaught();
  const sample = () => (st.peakRss = Math.max(st.peakRss, process.memoryUsage.rss()));
  setInterval(sample, 50).unref();

  const opts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), handshakeTimeout: HANDSHAKE_TIMEOUT };
  const server = tls.createServer(opts, (s) => {
    st.secure++;
    s.on('error', (e) => {
      const k = classify(e, tls.TLSError);
      bump(st.sockErrors, `${k}:${errCode(e)}`);
      if (k === 'untyped') untyped('socket error', e);
    });
    s.pipe(s);
  });
  server.on('tlsClientError', (e) => {
    if (!(e instanceof tls.TLSError)) untyped('tlsClientError', e);
    bump(st.clientErrors, errCode(e));
  });
  server.on('error', (e) => untyped('server error', e));
  server.maxConnections = 10000;

  // The evil server: floods each client with HelloRequests (TLS 1.2) or KeyUpdates (TLS 1.3).
  const evil = tls.createServer({ ...opts, renegotiation: 'accept' }, (s) => {
    st.evil.secure++;
    s.on('error', (e) => {
      const k = classify(e, tls.TLSError);
      bump(st.evil.errors, `${k}:${errCode(e)}`);
      if (k === 'untyped') untyped('evil socket error', e);
    });
    s.pipe(s);
    const v = s.getProtocol();
    const n = v === 'TLSv1.3' ? 40 : 8;
    for (let i = 0; i < n; i++) {
      const p = v === 'TLSv1.3' ? s.keyUpdate({ requestPeer: i % 2 === 0 }) : s.rehandshake({ timeout: 1500 });
      p.then(
        () => bump(st.evil.ops, 'ok'),
        (e) => {
          const k = classify(e, tls.TLSError);
          bump(st.evil.ops, `${k}:${errCode(e)}`);
          if (k === 'untyped') untyped('evil op', e);
        },
      );
      if (!s.destroyed) s.write(crypto.randomBytes(64));
    }
  });
  evil.on('tlsClientError', (e) => {
    if (!(e instanceof tls.TLSError)) untyped('evil tlsClientError', e);
    bump(st.evil.errors, `pre:${errCode(e)}`);
  });

  const listen = (s) => new Promise((r) => s.listen(0, '127.0.0.1', 4096, () => r(s.address().port)));
  const port = await listen(server);
  const evilPort = await listen(evil);
  const report = () => {
    sample();
    return { ...st, untypedCount: st.untyped.length, untyped: st.untyped.slice(0, 50), rss: process.memoryUsage.rss(), maxRSSKiB: process.resourceUsage().maxRSS, live: live(), connections: server._connections };
  };
  process.on('message', async (m) => {
    if (m.cmd === 'stats') process.send({ id: m.id, stats: report() });
    else if (m.cmd === 'gc') {
      for (let i = 0; i < 10; i++) {
        global.gc();
        await sleep(20);
      }
      process.send({ id: m.id, stats: report() });
    } else if (m.cmd === 'exit') {
      server.close();
      evil.close();
      process.send({ id: m.id, stats: report() }, () => process.exit(0));
    }
  });
  process.send({ ready: true, port, evilPort, gnutls: tls.gnutlsVersion });
}

// =================================================================================================
// role: client (node-gnutls clients against hostile servers; floods against the target)
// =================================================================================================

async function clientMain() {
  const tls = require(ROOT);
  const env = JSON.parse(process.env.STRESS_CLIENT);
  const ca = fixture('ca.pem');
  const st = { cases: 0, outcomes: {}, hangs: [], untyped: [], secured: 0, floods: { cases: 0, outcomes: {} }, evil: { cases: 0, outcomes: {} } };
  exitOnUncaught();
  const noteUntyped = (where, e) => {
    if (st.untyped.length < 50) st.untyped.push({ where, code: errCode(e), message: String(e && e.message), stack: String(e && e.stack).split('\n').slice(0, 6).join('\n') });
  };

  // One connection with a deadline: resolves with the outcome string.
  function run(bucket, where, opts, onSecure, deadline) {
    return new Promise((resolve) => {
      let outcome = null;
      let localPort = null;
      const c = tls.connect({ host: '127.0.0.1', servername: 'localhost', ca, handshakeTimeout: HANDSHAKE_TIMEOUT, ...opts });
      c.on('connect', () => (localPort = c.localPort));
      const timer = setTimeout(() => {
        st.hangs.push({ where, localPort, outcome, opts: { ...opts, ca: undefined } });
        bucket.outcomes.hang = (bucket.outcomes.hang || 0) + 1;
        c.destroy();
        resolve('hang');
      }, deadline);
      c.on('secureConnect', () => {
        outcome = 'secure';
        if (onSecure) onSecure(c);
      });
      c.on('error', (e) => {
        const k = classify(e, tls.TLSError);
        if (k === 'untyped') noteUntyped(where, e);
        if (!outcome || outcome === 'secure') outcome = `${k}:${errCode(e)}`;
      });
      c.on('data', () => {});
      c.on('close', () => {
        clearTimeout(timer);
        bump(bucket.outcomes, outcome || 'closed');
        resolve(outcome);
      });
    });
  }
  async function pool(n, conc, fn) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(conc, n) }, async () => {
        while (next < n) await fn(next++);
      }),
    );
  }

  // (1) mirror fuzz: our client against the orchestrator's malicious raw server.
  const mirror = pool(env.cases, env.concurrency, async (i) => {
    st.cases++;
    const v = i % 3 === 0 ? { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } : {};
    await run(st, 'mirror', { port: env.rawPort, ...v }, (c) => c.write('x'), HANDSHAKE_TIMEOUT + HANG_GRACE + 1500);
  });

  // (2) floods against the target: KeyUpdate storms (TLS 1.3), client re-handshake storms (TLS 1.2).
  const floods = pool(env.floods, 8, async (i) => {
    st.floods.cases++;
    const v13 = i % 2 === 0;
    await run(
      st.floods,
      v13 ? 'keyupdate-flood' : 'renegotiation-flood',
      { port: env.mainPort, minVersion: v13 ? 'TLSv1.3' : 'TLSv1.2', maxVersion: v13 ? 'TLSv1.3' : 'TLSv1.2' },
      (c) => {
        const ops = [];
        for (let k = 0; k < (v13 ? 60 : 6); k++) {
          const p = v13 ? c.keyUpdate({ requestPeer: k % 3 === 0 }) : c.rehandshake();
          ops.push(
            p.then(
              () => bump(st.floods.outcomes, 'op-ok'),
              (e) => {
                const k2 = classify(e, tls.TLSError);
                if (k2 === 'untyped') noteUntyped('flood op', e);
                bump(st.floods.outcomes, `op-${k2}:${errCode(e)}`);
              },
            ),
          );
          if (!c.destroyed) c.write(crypto.randomBytes(100));
        }
        Promise.all(ops).then(() => setTimeout(() => c.end(), 50));
      },
      8000,
    );
  });

  // (3) clients of the evil server (HelloRequest / KeyUpdate floods towards our client).
  const evil = pool(env.evil, 8, async (i) => {
    st.evil.cases++;
    const v13 = i % 2 === 0;
    await run(
      st.evil,
      'evil-server',
      { port: env.evilPort, minVersion: v13 ? 'TLSv1.3' : 'TLSv1.2', maxVersion: v13 ? 'TLSv1.3' : 'TLSv1.2' },
      (c) => {
        const iv = setInterval(() => !c.destroyed && c.write(crypto.randomBytes(200)), 20);
        setTimeout(() => {
          clearInterval(iv);
          c.end();
        }, 600);
        c.on('close', () => clearInterval(iv));
      },
      10000,
    );
  });

  await Promise.all([mirror, floods, evil]);
  process.send({ stats: st }, () => process.exit(0));
}

// =================================================================================================
// orchestrator
// =================================================================================================

// ---- TLS record helpers ----------------------------------------------------------------------------

function records(buf) {
  const out = [];
  let off = 0;
  while (off + 5 <= buf.length) {
    const len = buf.readUInt16BE(off + 3);
    out.push({ off, type: buf[off], len, end: Math.min(buf.length, off + 5 + len) });
    off += 5 + len;
  }
  return out;
}
function record(type, body, ver = 0x0303) {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(ver, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}
/** Re-fragments the handshake payload of the first record into two records split at `at`. */
function refragment(hello, at) {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const ver = hello.readUInt16BE(1);
  at = Math.max(1, Math.min(body.length - 1, at));
  return Buffer.concat([record(0x16, body.subarray(0, at), ver), record(0x16, body.subarray(at), ver), hello.subarray(5 + body.length)]);
}

/** Offsets of the length fields of a ClientHello / ServerHello handshake message (record at 0). */
function helloLengthFields(b) {
  const f = [{ at: 3, w: 2 }, { at: 6, w: 3 }];
  try {
    let p = 9 + 2 + 32; // handshake header, version, random
    f.push({ at: p, w: 1 });
    p += 1 + b[p];
    if (b[5] === 1) {
      f.push({ at: p, w: 2 }); // cipher suites
      p += 2 + b.readUInt16BE(p);
      f.push({ at: p, w: 1 }); // compression
      p += 1 + b[p];
    } else {
      p += 3; // suite + compression
    }
    f.push({ at: p, w: 2 }); // extensions
    let e = p + 2;
    const end = Math.min(b.length, e + b.readUInt16BE(p));
    while (e + 4 <= end) {
      f.push({ at: e + 2, w: 2 });
      const l = b.readUInt16BE(e + 2);
      if (l >= 2 && e + 6 <= end) f.push({ at: e + 4, w: 2 }); // first inner vector length (most extensions)
      if (l >= 1 && e + 5 <= end) f.push({ at: e + 4, w: 1 });
      e += 4 + l;
    }
  } catch {
    /* a mutated message: the fields found so far */
  }
  return f;
}

/** One mutation of a valid flight; returns { chunks: Buffer[], desc }. */
function mutate(r, flight, splitCounter) {
  const kind = r.pick(['flip', 'flip', 'flips', 'truncate', 'length', 'length', 'split-tcp', 'refragment', 'insert', 'type', 'dup', 'extend']);
  let b = Buffer.from(flight);
  let desc = kind;
  let chunks = null;
  switch (kind) {
    case 'flip': {
      const at = r.next() < 0.5 ? r.int(Math.min(b.length, 80)) : r.int(b.length);
      const bit = 1 << r.int(8);
      b[at] ^= bit;
      desc += ` @${at}^${bit}`;
      break;
    }
    case 'flips': {
      const n = 2 + r.int(16);
      for (let i = 0; i < n; i++) b[r.int(b.length)] = r.int(256);
      desc += ` x${n}`;
      break;
    }
    case 'truncate': {
      const at = r.int(b.length);
      b = b.subarray(0, at);
      desc += ` @${at}`;
      break;
    }
    case 'length': {
      const f = r.pick(helloLengthFields(b));
      const old = f.w === 1 ? b[f.at] : f.w === 2 ? b.readUInt16BE(f.at) : b.readUIntBE(f.at, 3);
      const max = f.w === 1 ? 0xff : f.w === 2 ? 0xffff : 0xffffff;
      const nv = r.pick([0, 1, max, old + 1, old - 1, old + 2 + r.int(40), Math.max(0, old - 2 - r.int(40)), r.int(max + 1)]) & max;
      if (f.at + f.w <= b.length) b.writeUIntBE(nv >>> 0, f.at, f.w);
      desc += ` @${f.at}/${f.w} ${old}->${nv}`;
      break;
    }
    case 'split-tcp': {
      const at = 1 + (splitCounter.n++ % (b.length - 1)); // every offset in turn
      chunks = [b.subarray(0, at), b.subarray(at)];
      desc += ` @${at}`;
      break;
    }
    case 'refragment': {
      const at = 1 + (splitCounter.m++ % Math.max(1, b.readUInt16BE(3) - 1));
      b = refragment(b, at);
      desc += ` @${at}`;
      break;
    }
    case 'insert': {
      const at = r.int(b.length);
      const n = 1 + r.int(64);
      b = Buffer.concat([b.subarray(0, at), r.bytes(n), b.subarray(at)]);
      desc += ` @${at}+${n}`;
      break;
    }
    case 'type': {
      const recs = records(b);
      const rec = r.pick(recs);
      const t = r.pick([0x14, 0x15, 0x17, 0x18, 0x00, 0xff, r.int(256)]);
      b[rec.off] = t;
      if (r.next() < 0.5) b.writeUInt16BE(r.pick([0x0300, 0x0304, 0x0200, 0xfeff, r.int(65536)]), rec.off + 1);
      desc += ` rec@${rec.off}=${t}`;
      break;
    }
    case 'dup': {
      const recs = records(b);
      const rec = r.pick(recs);
      const copy = b.subarray(rec.off, rec.end);
      b = Buffer.concat([b.subarray(0, rec.end), copy, b.subarray(rec.end)]);
      desc += ` rec@${rec.off}`;
      break;
    }
    case 'extend': {
      // Valid record header, a valid handshake message followed by junk in the same record.
      const n = 1 + r.int(200);
      const body = Buffer.concat([b.subarray(5, 5 + b.readUInt16BE(3)), r.bytes(n)]);
      b = Buffer.concat([record(0x16, body, b.readUInt16BE(1)), b.subarray(5 + b.readUInt16BE(3))]);
      desc += ` +${n}`;
      break;
    }
  }
  if (!chunks) {
    // Occasionally deliver the mutated bytes in small TCP pieces too.
    if (r.next() < 0.1 && b.length > 1) {
      chunks = [];
      const step = 1 + r.int(64);
      for (let i = 0; i < b.length; i += step) chunks.push(b.subarray(i, i + step));
      desc += ` pieces/${step}`;
    } else chunks = [b];
  }
  return { chunks, desc };
}

function randomPayload(r) {
  const n = 1 + r.int(r.next() < 0.8 ? 600 : 20000);
  const b = r.bytes(n);
  const style = r.int(4);
  // make some of them look like the start of a TLS handshake record so GnuTLS reads on
  if (style === 1 && n >= 5) b.set([0x16, 0x03, r.int(5), r.int(256), r.int(256)]);
  if (style === 2 && n >= 6) b.set([0x16, 0x03, 0x01, (n - 5) >> 8, (n - 5) & 0xff, 0x01]);
  if (style === 3 && n >= 3) b.set([0x80 | r.int(128), r.int(256), 0x01]); // SSLv2-style header
  return b;
}

// ---- capture ---------------------------------------------------------------------------------------

const CA = fixture('ca.pem');
const SERVER_OPTS = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

function listenOn(server) {
  return new Promise((r) => server.listen(0, '127.0.0.1', 4096, () => r(server.address().port)));
}

/** The first flight a Node tls client sends (a real ClientHello). */
async function captureClientHello(extra = {}) {
  const cap = net.createServer();
  const port = await listenOn(cap);
  const got = new Promise((resolve) => cap.once('connection', (s) => s.once('data', (d) => { resolve(d); s.destroy(); })));
  const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: CA, ...extra });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  cap.close();
  return hello;
}

/** What a Node tls server sends before the client's second flight (its whole first flight). */
async function captureServerFlight(version) {
  const srv = nodeTls.createServer({ ...SERVER_OPTS, minVersion: version, maxVersion: version }, (s) => s.on('error', () => {}));
  srv.on('tlsClientError', () => {});
  const sport = await listenOn(srv);
  let flight = [];
  let done;
  const captured = new Promise((r) => (done = r));
  const px = net.createServer((cs) => {
    const ss = net.connect(sport, '127.0.0.1');
    let fromClient = 0;
    cs.on('data', (d) => {
      fromClient++;
      if (fromClient === 2) done(Buffer.concat(flight));
      ss.write(d);
    });
    ss.on('data', (d) => {
      if (fromClient < 2) flight.push(d);
      cs.write(d);
    });
    cs.on('error', () => {});
    ss.on('error', () => {});
    cs.on('close', () => ss.destroy());
    ss.on('close', () => cs.destroy());
  });
  const port = await listenOn(px);
  const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: CA, minVersion: version, maxVersion: version });
  c.on('error', () => {});
  const secured = new Promise((r) => c.once('secureConnect', r));
  const out = await captured;
  await secured;
  c.destroy();
  px.close();
  srv.close();
  return out;
}

// ---- orchestrator state --------------------------------------------------------------------------

const R = {
  seed: OPTS.seed,
  cases: { random: 0, hello: 0, post: 0, mirror: 0, floods: 0, evil: 0 },
  outcomes: { random: {}, hello: {}, post: {} },
  hangs: [],
  unexpected: [],
  good: { ok: 0, fail: 0, failures: [] },
  crashes: [],
  load: [],
};
const FINDINGS = path.join(os.tmpdir(), `node-gnutls-stress-${process.pid}`);
function saveFinding(kind, info, bytes) {
  fs.mkdirSync(FINDINGS, { recursive: true });
  const name = `${kind}-${R.hangs.length + R.unexpected.length}-${Date.now()}`;
  fs.writeFileSync(path.join(FINDINGS, `${name}.json`), JSON.stringify({ ...info, hex: bytes ? bytes.map((b) => b.toString('hex')) : undefined }, null, 1));
  return path.join(FINDINGS, `${name}.json`);
}

// ---- children ------------------------------------------------------------------------------------

function startChild(role, env = {}, execArgv = []) {
  const child = fork(__filename, ['--role', role], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let seq = 0;
  const waiting = new Map();
  const listeners = [];
  child.on('message', (m) => {
    if (m.id && waiting.has(m.id)) {
      waiting.get(m.id)(m.stats);
      waiting.delete(m.id);
    } else for (const l of listeners) l(m);
  });
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      for (const w of waiting.values()) w(null);
      waiting.clear();
      resolve({ code, signal, output: () => out });
    }),
  );
  const ask = (cmd, ms = 30000) =>
    new Promise((resolve) => {
      if (!child.connected) return resolve(null);
      const id = ++seq;
      const t = setTimeout(() => {
        waiting.delete(id);
        resolve(null);
      }, ms);
      waiting.set(id, (s) => {
        clearTimeout(t);
        resolve(s);
      });
      child.send({ cmd, id });
    });
  const message = () => new Promise((resolve) => listeners.push(resolve));
  return { child, ask, message, exited, output: () => out };
}

// ---- fuzz cases against the target ---------------------------------------------------------------

/** A raw TCP client sending `chunks`; resolves when the server has closed, or on the deadline (hang). */
function rawCase(port, chunks, r, label, desc) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let closed = false;
    let timer = null;
    let got = 0;
    const holdOpen = r.next() < 0.01; // no FIN: the server's handshake timeout must end it
    s.on('error', () => {});
    s.on('data', (d) => (got += d.length));
    const arm = () => {
      timer = setTimeout(() => {
        if (closed) return;
        const file = saveFinding('hang', { label, desc, holdOpen, received: got, port }, chunks);
        R.hangs.push({ label, desc, holdOpen, file });
        s.destroy();
        resolve('hang');
      }, HANDSHAKE_TIMEOUT + HANG_GRACE);
    };
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve(got ? 'closed-after-reply' : 'closed');
    });
    s.once('connect', async () => {
      for (let i = 0; i < chunks.length && !closed; i++) {
        s.write(chunks[i]);
        if (chunks.length > 1) await new Promise((q) => setImmediate(q));
      }
      if (!closed && !holdOpen) s.end();
      arm();
    });
  });
}

/**
 * (c) A real handshake by Node's tls client through an interposing TCP proxy, then hostile records.
 * Outcome: the connection either survives (our probe is echoed intact) or ends, within the deadline.
 */
function postCase(port, r, hello12) {
  return new Promise((resolve) => {
    const v = r.next() < 0.5 ? 'TLSv1.2' : 'TLSv1.3';
    const mode = r.pick(['corrupt', 'corrupt', 'alert', 'alert-early', 'ccs', 'ccs-early', 'garbage', 'plain-hs', 'truncate', 'split', 'renegotiate', 'appdata-early', 'hs-garbage-early']);
    // Node's client -> TCP -> our proxy (interception) -> TCP -> the target server.
    let raw = null; // the proxy's upstream socket, set once the proxy has the connection
    let intercept = null; // (chunk) => Buffer[] to send instead
    let clientWrites = 0;
    let chain = Promise.resolve();
    let arm = () => {}; // re-arms the hang deadline (set below)
    const sent = [];
    const onClientChunk = (chunk) => {
      clientWrites++;
      let out = [chunk];
      if (clientWrites === 1 && mode.endsWith('-early')) out = [chunk, earlyInjection()];
      else if (intercept) {
        const f = intercept;
        intercept = null;
        out = f(chunk);
      }
      chain = chain.then(async () => {
        for (const c of out) {
          sent.push(c);
          if (!raw.destroyed) raw.write(c);
          arm(); // the deadline counts from our last byte
          if (out.length > 2) await new Promise((q) => setImmediate(q));
        }
      });
    };
    const tcp = net.connect(PROXY.port, '127.0.0.1');
    tcp.on('error', () => {});
    tcp.once('connect', () =>
      PROXY.register(tcp.localPort, (cs) => {
        raw = net.connect(port, '127.0.0.1');
        raw.on('error', () => {});
        cs.on('error', () => {});
        cs.on('data', onClientChunk);
        cs.on('end', () => chain.then(() => raw.end()));
        raw.on('data', (d) => !cs.destroyed && cs.write(d));
        raw.on('end', () => cs.end());
        raw.on('close', () => cs.destroy());
        cs.on('close', () => raw.destroy());
      }),
    );
    const desc = { mode, v };
    function earlyInjection() {
      if (mode === 'alert-early') return record(0x15, Buffer.from([r.pick([1, 2]), r.pick([0, 10, 20, 40, 42, 50, 70, 90, 100, 255, r.int(256)])]));
      if (mode === 'ccs-early') return Buffer.concat(Array.from({ length: 1 + r.int(40) }, () => record(0x14, Buffer.from([1]))));
      if (mode === 'appdata-early') return record(0x17, r.bytes(r.int(300)));
      return record(0x16, r.bytes(1 + r.int(300)));
    }
    function lateInjection() {
      switch (mode) {
        case 'alert': {
          const a = [r.pick([1, 2, 0, 3, 255]), r.pick([0, 10, 20, 21, 22, 40, 42, 47, 49, 50, 51, 70, 80, 90, 100, 109, 110, 255])];
          desc.alert = a;
          return [record(0x15, Buffer.from(a))];
        }
        case 'ccs':
          return [record(0x14, Buffer.from([r.pick([1, 1, 0, 2])]))];
        case 'garbage': {
          const t = r.pick([0x14, 0x15, 0x16, 0x17, 0x18, 0x19, r.int(256)]);
          desc.type = t;
          return [record(t, r.bytes(r.pick([0, 1, 2, 16, 17, 100, 16384, 16385 + r.int(2000), r.int(600)])))];
        }
        case 'plain-hs': {
          const kind = r.pick(['hello', 'keyupdate', 'hellorequest', 'ticket', 'finished']);
          desc.hs = kind;
          if (kind === 'hello') return [hello12];
          if (kind === 'keyupdate') return [Buffer.concat(Array.from({ length: 1 + r.int(50) }, () => record(0x16, Buffer.from([24, 0, 0, 1, r.int(3)]))))];
          if (kind === 'hellorequest') return [Buffer.concat(Array.from({ length: 1 + r.int(50) }, () => record(0x16, Buffer.from([0, 0, 0, 0]))))];
          if (kind === 'ticket') return [record(0x16, Buffer.concat([Buffer.from([4, 0, 0, 40]), r.bytes(40)]))];
          return [record(0x16, Buffer.concat([Buffer.from([20, 0, 0, 32]), r.bytes(32)]))];
        }
      }
      return [];
    }
    const c = nodeTls.connect({ socket: tcp, servername: 'localhost', ca: CA, minVersion: v, maxVersion: v });
    const probe = r.bytes(1 + r.int(3000));
    let echoed = [];
    let phase = 'handshake';
    let finished = false;
    const finish = (outcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      bump(R.outcomes.post, `${mode}:${outcome}`);
      c.destroy();
      tcp.destroy();
      if (raw) raw.destroy();
      resolve(outcome);
    };
    // The deadline counts from our last byte: a split flight trickles out one event-loop turn per
    // piece, which under load can take longer than the deadline itself.
    let timer = null;
    arm = () => {
      clearTimeout(timer);
      if (finished) return;
      timer = setTimeout(() => {
        const file = saveFinding('hang', { label: 'post', desc, phase }, sent);
        R.hangs.push({ label: 'post', desc: JSON.stringify(desc), phase, file });
        finish('hang');
      }, HANDSHAKE_TIMEOUT + HANG_GRACE + 2000);
    };
    arm();
    c.on('error', () => {});
    c.on('close', () => finish(phase === 'handshake' ? 'closed-in-handshake' : 'closed'));
    c.on('data', (d) => {
      echoed.push(d);
      const got = Buffer.concat(echoed);
      if (phase === 'warmup' && got.length >= 16) {
        echoed = [];
        phase = 'attack';
        attack();
      } else if (phase === 'attack' && got.length >= probe.length) {
        if (sha(got.subarray(0, probe.length)) !== sha(probe)) {
          const file = saveFinding('unexpected', { label: 'post', desc, why: 'echo mismatch' }, sent);
          R.unexpected.push({ label: 'post', desc: JSON.stringify(desc), why: 'echo mismatch after attack', file });
          finish('mismatch');
        } else finish('survived');
      }
    });
    c.on('secureConnect', () => {
      phase = 'warmup';
      c.write(r.bytes(16));
    });
    function attack() {
      if (mode === 'corrupt') {
        intercept = (chunk) => {
          const b = Buffer.from(chunk);
          const at = 5 + r.int(Math.max(1, b.length - 5));
          b[at] ^= 1 << r.int(8);
          desc.at = at;
          return [b];
        };
      } else if (mode === 'truncate') {
        intercept = (chunk) => {
          setImmediate(() => raw.end());
          return [chunk.subarray(0, r.int(chunk.length))];
        };
      } else if (mode === 'split') {
        intercept = (chunk) => {
          const out = [];
          const step = 1 + r.int(7);
          for (let i = 0; i < chunk.length; i += step) out.push(chunk.subarray(i, i + step));
          return out;
        };
      } else if (mode === 'renegotiate') {
        if (v === 'TLSv1.2') {
          for (let i = 0; i < 5; i++) c.renegotiate({}, () => {});
        } // TLS 1.3 has no renegotiation: the probe alone
      } else if (!mode.endsWith('-early')) {
        for (const b of lateInjection()) {
          sent.push(b);
          raw.write(b);
        }
      }
      c.write(probe);
    }
  });
}

/** The interposing proxy of postCase(): connections are matched to their case by client port. */
const PROXY = {
  port: 0,
  handlers: new Map(),
  waiting: new Map(),
  register(port, handler) {
    const w = this.waiting.get(port);
    if (w) {
      this.waiting.delete(port);
      handler(w);
    } else this.handlers.set(port, handler);
  },
  async start() {
    this.server = net.createServer((cs) => {
      const h = this.handlers.get(cs.remotePort);
      if (h) {
        this.handlers.delete(cs.remotePort);
        h(cs);
      } else this.waiting.set(cs.remotePort, cs);
      cs.on('error', () => {});
      cs.on('close', () => this.waiting.get(cs.remotePort) === cs && this.waiting.delete(cs.remotePort));
    });
    this.port = await listenOn(this.server);
  },
};

/** Good traffic alongside the fuzzing: Node tls echo clients checking SHA-256, continuously. */
function goodClients(port, n, stopAt) {
  const r = rng(OPTS.seed ^ 0x5eed);
  const one = () =>
    new Promise((resolve) => {
      const data = r.bytes(1 + r.int(128 * 1024));
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: CA, minVersion: r.next() < 0.5 ? 'TLSv1.2' : 'TLSv1.3' });
      const got = [];
      let err = null;
      const timer = setTimeout(() => {
        err = err || new Error('good client timed out (10 s)');
        c.destroy();
      }, 10000);
      c.on('secureConnect', () => c.end(data));
      c.on('data', (d) => got.push(d));
      c.on('error', (e) => (err = err || e));
      c.on('close', () => {
        clearTimeout(timer);
        const ok = !err && sha(Buffer.concat(got)) === sha(data);
        if (ok) R.good.ok++;
        else {
          R.good.fail++;
          if (R.good.failures.length < 20) R.good.failures.push(err ? `${errCode(err)}: ${err.message}` : `echo mismatch (${Buffer.concat(got).length}/${data.length} bytes)`);
        }
        resolve();
      });
    });
  return Promise.all(
    Array.from({ length: n }, async () => {
      while (Date.now() < stopAt()) await one();
    }),
  );
}

// ---- malicious raw server for the mirror cases ----------------------------------------------------

function maliciousServer(flights) {
  const r = rng(OPTS.seed ^ 0xbad5);
  const split = { n: 0, m: 0 };
  let idx = 0;
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    const i = idx++;
    s.once('data', async (hello) => {
      const v = hello.length > 5 ? (helloOffersTls13(hello) && r.next() < 0.6 ? '1.3' : '1.2') : '1.2';
      let flight = Buffer.from(flights[v]);
      // echo the client's legacy_session_id into the ServerHello (TLS 1.3 requires it)
      try {
        const csid = hello.subarray(44, 44 + hello[43]);
        if (v === '1.3' && flight[43] === csid.length) csid.copy(flight, 44);
      } catch {
        /* ignore */
      }
      const m = r.next() < 0.05 ? { chunks: [r.bytes(1 + r.int(3000))], desc: 'random' } : mutate(r, flight, split);
      R.cases.mirror++;
      for (const c of m.chunks) {
        if (s.destroyed) break;
        s.write(c);
        if (m.chunks.length > 1) await new Promise((q) => setImmediate(q));
      }
      const after = r.int(10);
      if (after < 6) s.end();
      else if (after < 8) setTimeout(() => s.destroy(), r.int(100));
      // else: stay silent, the client's handshakeTimeout must end it
      s.on('data', () => {});
      setTimeout(() => s.destroy(), HANDSHAKE_TIMEOUT + HANG_GRACE + 3000).unref();
      void i;
    });
  });
  return srv;
}
function helloOffersTls13(hello) {
  return hello.includes(Buffer.from([0x00, 0x2b])) && hello.includes(Buffer.from([0x03, 0x04]));
}

// ---- load -------------------------------------------------------------------------------------------

async function loadRound(port, serverChild, nConns, nStorm, round) {
  const r = rng(OPTS.seed + round * 7919);
  const res = { round, established: 0, echoed: 0, echoErrors: 0, storm: 0, stormOk: 0, stormErrors: 0, garbage: 0, garbageClosed: 0, handshakesPerSec: 0, peakRssMiB: 0, rssAfterGcMiB: 0, liveAfterGc: 0 };
  // (i) nConns concurrent established connections, each echoing data
  const conns = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < nConns) {
        next++;
        await new Promise((resolve) => {
          const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: CA });
          c.on('error', (e) => {
            res.echoErrors++;
            if (R.unexpected.length < 50 && !c.__ok) R.unexpected.push({ label: 'load-connect', why: `${errCode(e)} ${e.message}` });
            resolve();
          });
          c.once('secureConnect', () => {
            c.__ok = true;
            res.established++;
            conns.push(c);
            resolve();
          });
        });
      }
    }),
  );
  const tEst = Date.now() - t0;
  await Promise.all(
    conns.map(
      (c) =>
        new Promise((resolve) => {
          const data = r.bytes(4096 + r.int(4096));
          const got = [];
          const timer = setTimeout(() => {
            res.echoErrors++;
            resolve();
          }, 30000);
          c.on('data', (d) => {
            got.push(d);
            const b = Buffer.concat(got);
            if (b.length >= data.length) {
              clearTimeout(timer);
              if (sha(b) === sha(data)) res.echoed++;
              else res.echoErrors++;
              resolve();
            }
          });
          c.write(data);
        }),
    ),
  );
  // (ii) handshake storm at concurrency 64, 1 % garbage clients, while the nConns stay open
  let done = 0;
  const ts = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (done < nStorm) {
        const i = done++;
        if (i % 100 === 99) {
          res.garbage++;
          const out = await rawCase(port, [randomPayload(r)], r, 'storm-garbage', 'random');
          if (out !== 'hang') res.garbageClosed++;
          continue;
        }
        res.storm++;
        await new Promise((resolve) => {
          const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: CA, minVersion: i % 2 ? 'TLSv1.2' : 'TLSv1.3' });
          const timer = setTimeout(() => {
            res.stormErrors++;
            c.destroy();
          }, 15000);
          c.on('error', () => {
            res.stormErrors++;
          });
          c.once('secureConnect', () => {
            res.stormOk++;
            c.end();
            c.resume();
          });
          c.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }),
  );
  const stormMs = Date.now() - ts;
  res.handshakesPerSec = Math.round((res.stormOk / stormMs) * 1000);
  res.establishMs = tEst;
  res.stormMs = stormMs;
  const before = await serverChild.ask('stats');
  res.peakRssMiB = before ? +(before.peakRss / 1048576).toFixed(1) : null;
  for (const c of conns) c.destroy();
  await sleep(300);
  const after = await serverChild.ask('gc');
  res.rssAfterGcMiB = after ? +(after.rss / 1048576).toFixed(1) : null;
  res.liveAfterGc = after ? after.live : null;
  return res;
}

// ---- phases run as child processes: cluster, memcheck, fuzz --------------------------------------

/** Runs a command to completion (or kills it after timeoutMs); collects its output. */
function runTool(cmd, args, timeoutMs, onLine, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let out = '';
    let timedOut = false;
    let partial = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!onLine) return;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const l of lines) onLine(l);
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => (out += `\n${e.message}`));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, timedOut });
    });
  });
}

async function clusterPhase(log) {
  if (!OPTS.clusterRounds) return { ran: false, why: OPTS.quick ? '--quick' : '--no-cluster' };
  const quick = OPTS.quick;
  const args = [path.join(ROOT, 'test', 'workers', 'cluster.js'), '--workers', '4', '--clients', quick ? '4' : '8', '--warmup', quick ? '5' : '20', '--rounds', String(OPTS.clusterRounds)];
  // --quick runs inside a test with its own kill timer: stay well within it.
  log(`cluster: ${OPTS.clusterRounds} round(s) starting`);
  const r = await runTool(process.execPath, args, quick ? 40000 : 120000 * OPTS.clusterRounds);
  const m = /^CLUSTER (.*)$/m.exec(r.out);
  if (!m) return { ran: true, ok: false, problems: [`no CLUSTER report (exit ${r.code}${r.signal ? ` ${r.signal}` : ''}${r.timedOut ? ', timed out' : ''})`], output: r.out.slice(-3000) };
  const rep = JSON.parse(m[1]);
  const res = {
    ran: true,
    ok: rep.ok && r.code === 0,
    rounds: rep.rounds,
    workers: rep.workers,
    echoOk: rep.echoOk,
    mismatch: rep.mismatch,
    untyped: rep.untyped,
    hangs: rep.hangs,
    handshakeTimeouts: rep.handshakeTimeouts,
    served: rep.served,
    exits: rep.exits,
    liveAfterFinish: rep.liveAfterFinish,
    problems: rep.problems,
  };
  // exits other than the intended SIGKILL / SIGTERM / 0 are crashes; a worker that never exited is a hang
  res.crashes = rep.problems.filter((p) => /: exit /.test(p)).length;
  res.hungWorkers = rep.problems.filter((p) => /hang/.test(p)).length;
  log(`cluster: ${res.ok ? 'ok' : 'FAILED'}: ${rep.rounds} rounds × 4 workers, ${rep.echoOk} echoes checked, ${rep.mismatch} mismatches, exits ${JSON.stringify(rep.exits.map((e) => e.signal || e.code))}${rep.problems.length ? `, problems: ${rep.problems.join('; ').slice(0, 2000)}` : ''}`);
  return res;
}

async function memcheckPhase(log) {
  if (!OPTS.memcheckRounds) return { ran: false, why: OPTS.quick ? '--quick' : '--no-memcheck' };
  const r = await runTool('bash', [path.join(ROOT, 'scripts', 'memcheck.sh'), String(OPTS.memcheckRounds)], 900000);
  if (r.code === 2 && /not installed/.test(r.out)) return { ran: false, why: 'valgrind not installed' };
  const m = /memcheck: definitely lost (\d+) bytes, indirectly lost (\d+) bytes, invalid accesses (\d+)/.exec(r.out);
  const live = /live native sessions: (\d+)/.exec(r.out);
  const res = {
    ran: true,
    ok: r.code === 0 && !!m,
    definite: m ? Number(m[1]) : null,
    indirect: m ? Number(m[2]) : null,
    invalid: m ? Number(m[3]) : null,
    live: live ? Number(live[1]) : null,
    output: r.code === 0 ? undefined : r.out.slice(-3000),
  };
  log(`memcheck (${OPTS.memcheckRounds} rounds): ${res.ok ? 'ok' : 'FAILED'}: definitely lost ${res.definite} B, indirectly lost ${res.indirect} B, invalid accesses ${res.invalid}, live sessions ${res.live}`);
  return res;
}

async function fuzzPhase(log) {
  if (!OPTS.fuzzSeconds) return { ran: false, why: OPTS.quick ? '--quick' : '--no-fuzz' };
  const r = await runTool('bash', [path.join(ROOT, 'scripts', 'fuzz.sh'), String(OPTS.fuzzSeconds)], (OPTS.fuzzSeconds * 2 + 300) * 1000, (l) => /^fuzz: /.test(l) && log(l));
  if (r.code === 3) return { ran: false, why: 'clang++ not installed' };
  const m = /^FUZZ_JSON (.*)$/m.exec(r.out);
  const targets = m ? JSON.parse(m[1]) : {};
  const names = Object.keys(targets);
  const res = {
    ran: true,
    ok: r.code === 0 && names.length > 0,
    targets,
    execs: names.reduce((a, n) => a + targets[n].execs, 0),
    crashes: names.reduce((a, n) => a + targets[n].crashes, 0),
    output: r.code === 0 ? undefined : r.out.slice(-4000),
  };
  if (!m || (r.code !== 0 && res.crashes === 0)) res.crashes = Math.max(res.crashes, r.code === 1 ? 1 : 0);
  return res;
}

/**
 * The adversarial-peer suite (test/robustness: crafted ClientHellos against gnutls-serv --echo
 * and our server, every answer compared) with its counts multiplied by --robustness-scale.
 */
async function robustnessPhase(log) {
  if (!OPTS.robustnessScale) return { ran: false, why: OPTS.quick ? '--quick' : '--no-robustness' };
  const report = path.join(os.tmpdir(), `node-gnutls-robustness-${process.pid}.txt`);
  fs.rmSync(report, { force: true });
  const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
  log(`robustness: test/robustness at scale ${OPTS.robustnessScale} starting`);
  const t0 = Date.now();
  const env = { NODE_GNUTLS_ROBUSTNESS_SCALE: String(OPTS.robustnessScale), NODE_GNUTLS_ROBUSTNESS_REPORT: report };
  const r = await runTool(process.execPath, [jest, 'test/robustness', '--ci', '--testTimeout', '600000'], 900000, undefined, env);
  const m = /Tests:\s+(?:(\d+) failed, )?(?:(\d+) skipped, )?(\d+) passed, (\d+) total/.exec(r.out);
  const rows = fs.existsSync(report) ? fs.readFileSync(report, 'utf8').trim().split('\n').filter(Boolean) : [];
  fs.rmSync(report, { force: true });
  const res = {
    ran: true,
    ok: r.code === 0 && !!m && !m[1],
    failed: m ? Number(m[1] || 0) : null,
    passed: m ? Number(m[3]) : null,
    shapes: rows.length,
    deliberate: rows.filter((l) => / \| deliberate: /.test(l)).length,
    timedOut: r.timedOut,
    seconds: +((Date.now() - t0) / 1000).toFixed(1),
    output: r.code === 0 ? undefined : r.out.slice(-6000),
  };
  log(`robustness: ${res.ok ? 'ok' : 'FAILED'}: ${res.passed ?? '?'} tests passed, ${res.failed ?? '?'} failed, ${res.shapes} shapes compared with gnutls-serv (${res.deliberate} deliberate differences), ${res.seconds} s`);
  return res;
}

const num = (n) => Number(n).toLocaleString('en-US');

// ---- main ----------------------------------------------------------------------------------------

function pad(s, n) {
  s = String(s);
  return s + ' '.repeat(Math.max(0, n - s.length));
}

async function orchestrate() {
  const tStart = Date.now();
  const quick = OPTS.quick;
  const total = OPTS.cases;
  const log = (...a) => console.log(`[${((Date.now() - tStart) / 1000).toFixed(1)}s]`, ...a);
  log(`node-gnutls stress: cases=${total} quick=${quick} seed=${OPTS.seed} concurrency=${OPTS.concurrency}`);

  // captures first (Node's tls only: nothing here loads node-gnutls)
  const hello13 = await captureClientHello();
  const hello12 = await captureClientHello({ maxVersion: 'TLSv1.2' });
  const flights = { '1.3': await captureServerFlight('TLSv1.3'), '1.2': await captureServerFlight('TLSv1.2') };
  log(`captured ClientHello ${hello13.length}/${hello12.length} B, server flights TLS1.3 ${flights['1.3'].length} B, TLS1.2 ${flights['1.2'].length} B`);

  let server = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    server = startChild('server', {}, ['--expose-gc']);
    const first = await Promise.race([server.message(), server.exited.then((x) => ({ exited: x }))]);
    if (first.ready) {
      server.port = first.port;
      server.evilPort = first.evilPort;
      log(`server child pid ${server.child.pid}: port ${first.port}, evil port ${first.evilPort}, GnuTLS ${first.gnutls}`);
      break;
    }
    const out = first.exited.output();
    if (/No native build was found/.test(out) && attempt < 4) {
      log('addon not available (concurrent rebuild?); retrying in 30 s');
      await sleep(30000);
      continue;
    }
    throw new Error(`server child failed to start: ${out}`);
  }
  let serverExit = null;
  server.exited.then((x) => (serverExit = x));

  // split of the case budget
  const nMirror = Math.round(total * 0.15);
  const nPost = Math.round(total * 0.12);
  const nRaw = total - nMirror - nPost;
  const nFloods = quick ? 20 : 200;
  const nEvil = quick ? 20 : 200;

  // the malicious server and the client child run alongside the target's fuzzing
  await PROXY.start();
  const mal = maliciousServer(flights);
  const rawPort = await listenOn(mal);
  const client = startChild('client', {
    STRESS_CLIENT: JSON.stringify({ rawPort, mainPort: server.port, evilPort: server.evilPort, cases: nMirror, floods: nFloods, evil: nEvil, concurrency: 16 }),
  });
  const clientDone = Promise.race([client.message(), client.exited.then(() => null)]);

  let fuzzing = true;
  const good = goodClients(server.port, 2, () => (fuzzing ? Date.now() + 1 : 0));

  // raw cases (a) + (b) and post-handshake cases (c), interleaved, at OPTS.concurrency
  const split = { n: 0, m: 0 };
  let nextCase = 0;
  let lastLog = Date.now();
  const conc = quick ? Math.min(OPTS.concurrency, 32) : OPTS.concurrency;
  const postEvery = nPost > 0 ? Math.max(1, Math.floor((nRaw + nPost) / nPost)) : Infinity;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (nextCase < nRaw + nPost && serverExit === null) {
        const i = nextCase++;
        const r = rng(caseSeed(OPTS.seed, i));
        if (i % postEvery === 0 && R.cases.post < nPost) {
          R.cases.post++;
          await postCase(server.port, r, hello12);
        } else if (r.next() < 0.3) {
          R.cases.random++;
          const out = await rawCase(server.port, [randomPayload(r)], r, 'random', `case ${i}`);
          bump(R.outcomes.random, out);
        } else {
          R.cases.hello++;
          const base = r.next() < 0.5 ? hello13 : hello12;
          const m = mutate(r, base, split);
          const out = await rawCase(server.port, m.chunks, r, 'hello', `case ${i}: ${m.desc}`);
          bump(R.outcomes.hello, out);
        }
        if (Date.now() - lastLog > 10000) {
          lastLog = Date.now();
          log(`fuzz ${nextCase}/${nRaw + nPost} (mirror ${R.cases.mirror}), hangs ${R.hangs.length}, good ${R.good.ok}/${R.good.fail}`);
        }
      }
    }),
  );
  log(`target fuzz done: ${R.cases.random + R.cases.hello + R.cases.post} cases; waiting for the client child`);
  const cm = await Promise.race([clientDone, sleep(600000).then(() => null)]);
  const cres = await Promise.race([client.exited, sleep(5000).then(() => null)]);
  fuzzing = false;
  await good;
  mal.close();
  PROXY.server.close();
  if (cm && cm.stats) {
    const cs = cm.stats;
    R.client = cs;
    R.cases.floods = cs.floods.cases;
    R.cases.evil = cs.evil.cases;
    for (const h of cs.hangs) R.hangs.push({ label: `client:${h.where}`, desc: JSON.stringify(h), file: saveFinding('hang', h) });
  }
  if (!cres || cres.code !== 0 || cres.signal) {
    R.crashes.push({ who: 'client child (node-gnutls clients)', code: cres && cres.code, signal: cres && cres.signal, output: cres ? cres.output().slice(-4000) : 'no exit within 5 s' });
    if (cres === null) client.child.kill('SIGKILL');
  }
  const fuzzStats = await server.ask('stats');
  log(`fuzz phase done (${((Date.now() - tStart) / 1000).toFixed(1)} s)`);

  // load
  if (OPTS.load && serverExit === null) {
    const nConns = quick ? 200 : 2000;
    const nStorm = quick ? 2000 : 20000;
    const rounds = quick ? 1 : OPTS.rounds;
    for (let round = 1; round <= rounds && serverExit === null; round++) {
      const lr = await loadRound(server.port, server, nConns, nStorm, round);
      R.load.push(lr);
      log(`load round ${round}: ${JSON.stringify(lr)}`);
    }
  }

  const finalStats = serverExit === null ? await server.ask('exit') : null;
  const sx = await Promise.race([server.exited, sleep(5000).then(() => null)]);
  if (!sx || sx.code !== 0 || sx.signal) {
    R.crashes.push({ who: 'server child (node-gnutls server)', code: sx && sx.code, signal: sx && sx.signal, output: sx ? sx.output().slice(-4000) : 'no exit' });
    if (!sx) server.child.kill('SIGKILL');
  }
  const st = finalStats || fuzzStats || {};
  R.server = st;

  // cluster, memcheck, fuzzers: after the load, one at a time (each wants the CPU)
  R.cluster = await clusterPhase(log);
  R.memcheck = await memcheckPhase(log);
  R.fuzz = await fuzzPhase(log);
  R.robustness = await robustnessPhase(log);

  const untyped = [...(st.untyped || []), ...((R.client && R.client.untyped) || [])];
  const nCases = R.cases.random + R.cases.hello + R.cases.post + R.cases.mirror + R.cases.floods + R.cases.evil;
  const peak = Math.max(st.peakRss || 0, ...R.load.map((l) => (l.peakRssMiB || 0) * 1048576));
  const hsps = R.load.length ? Math.round(R.load.reduce((a, l) => a + l.handshakesPerSec, 0) / R.load.length) : 0;
  const cl = R.cluster;
  const mc = R.memcheck;
  const fz = R.fuzz;
  const rb = R.robustness;

  // ---- summary ----
  console.log('\nDetails');
  console.log(`  cases: ${JSON.stringify(R.cases)}`);
  console.log(`  target server: secure ${st.secure}, tlsClientError codes ${JSON.stringify(st.clientErrors)}`);
  console.log(`  target socket errors: ${JSON.stringify(st.sockErrors)}`);
  console.log(`  evil server: ${JSON.stringify(st.evil)}`);
  if (R.client) {
    console.log(`  our client vs malicious server: ${JSON.stringify(R.client.outcomes)}`);
    console.log(`  our client floods vs target: ${JSON.stringify(R.client.floods.outcomes)}`);
    console.log(`  our client vs evil server: ${JSON.stringify(R.client.evil.outcomes)}`);
  }
  console.log(`  raw outcomes: random ${JSON.stringify(R.outcomes.random)}, hello ${JSON.stringify(R.outcomes.hello)}`);
  console.log(`  post-handshake outcomes: ${JSON.stringify(R.outcomes.post)}`);
  console.log(`  good echo clients during fuzzing: ok ${R.good.ok}, failed ${R.good.fail} ${JSON.stringify(R.good.failures.slice(0, 5))}`);
  for (const l of R.load) console.log(`  load round ${l.round}: ${JSON.stringify(l)}`);
  if (cl.ran) console.log(`  cluster: ${JSON.stringify({ ...cl, output: undefined })}`);
  if (mc.ran) console.log(`  memcheck: ${JSON.stringify({ ...mc, output: undefined })}`);
  if (fz.ran) console.log(`  fuzz: ${JSON.stringify(fz.targets)}`);
  for (const h of R.hangs.slice(0, 20)) console.log(`  HANG ${JSON.stringify(h)}`);
  for (const u of untyped.slice(0, 20)) console.log(`  UNTYPED ${JSON.stringify(u)}`);
  for (const u of R.unexpected.slice(0, 20)) console.log(`  UNEXPECTED ${JSON.stringify(u)}`);
  for (const c of R.crashes) console.log(`  CRASH ${c.who}: code ${c.code} signal ${c.signal}\n${c.output}`);
  if (cl.ran && !cl.ok) console.log(`  CLUSTER FAILED: ${JSON.stringify(cl.problems)}${cl.output ? `\n${cl.output}` : ''}`);
  if (mc.ran && !mc.ok) console.log(`  MEMCHECK FAILED\n${mc.output || ''}`);
  if (fz.ran && !fz.ok) console.log(`  FUZZ FAILED\n${fz.output || ''}`);
  if (rb.ran && !rb.ok) console.log(`  ROBUSTNESS FAILED\n${rb.output || ''}`);

  // a cluster run without a report counts as a crash of its primary
  const crashes = R.crashes.length + (cl.ran ? (cl.exits ? cl.crashes : 1) : 0);
  const hangs = R.hangs.length + (cl.ran ? (cl.hangs || 0) + (cl.hungWorkers || 0) : 0);
  const untypedCount = (st.untypedCount || 0) + ((R.client && R.client.untyped.length) || 0) + (cl.ran ? cl.untyped || 0 : 0);
  const notRun = (x) => `not run (${x.why})`;
  const leaks = mc.ran
    ? mc.definite === null
      ? 'memcheck FAILED (no report)'
      : `definitely lost ${num(mc.definite)} B, indirectly lost ${num(mc.indirect)} B, invalid accesses ${mc.invalid}, live sessions ${mc.live}`
    : notRun(mc);
  const fuzzRow = fz.ran
    ? `${Object.entries(fz.targets)
        .map(([n, t]) => `${n.replace(/_fuzz$/, '')} ${num(t.execs)} execs (cov ${t.cov}, ft ${t.ft})`)
        .join(', ')}; crashes ${fz.crashes}`
    : notRun(fz);
  const clusterRow = cl.ran
    ? `${cl.ok ? 'ok' : 'FAILED'}: ${cl.rounds ?? 0} × 4 workers ended mid-traffic, ${num(cl.echoOk || 0)} echoes, ${cl.mismatch ?? '?'} mismatches, ${cl.crashes ?? '?'} unexpected exits`
    : notRun(cl);
  const rows = [
    ['cases run', num(nCases)],
    ['crashes', crashes],
    ['hangs', hangs],
    ['unexpected (untyped) errors', untypedCount],
    ['other unexpected', R.unexpected.length],
    ['good clients ok/failed', `${R.good.ok}/${R.good.fail}`],
    ['leaks (valgrind memcheck)', leaks],
    ['fuzz (libFuzzer)', fuzzRow],
    ['cluster', clusterRow],
    ['robustness (vs gnutls-serv)', rb.ran ? `${rb.ok ? 'ok' : 'FAILED'}: ${rb.passed ?? '?'} passed, ${rb.failed ?? '?'} failed, ${rb.shapes} shapes, ${rb.seconds} s` : notRun(rb)],
    ['peak RSS (server)', `${(peak / 1048576).toFixed(1)} MiB`],
    ['RSS after gc per round', R.load.map((l) => `${l.rssAfterGcMiB} MiB`).join(', ') || 'n/a'],
    ['live sessions after gc', R.load.map((l) => l.liveAfterGc).join(', ') || 'n/a'],
    ['handshakes/s under load', hsps],
    ['load errors', R.load.reduce((a, l) => a + l.echoErrors + l.stormErrors + (l.garbage - l.garbageClosed), 0)],
    ['duration', `${((Date.now() - tStart) / 1000).toFixed(1)} s`],
  ];
  const w2 = Math.max(28, ...rows.map(([, v]) => String(v).length));
  console.log('\nSUMMARY');
  for (const [k, v] of rows) console.log(`| ${pad(k, 30)} | ${pad(v, w2)} |`);
  const summary = Object.fromEntries(rows.map(([k, v]) => [k, v]));
  const failed = {
    leaks: mc.ran && !mc.ok,
    fuzz: fz.ran && !fz.ok,
    cluster: cl.ran && !cl.ok,
    robustness: rb.ran && !rb.ok,
  };
  console.log(
    `SUMMARY_JSON ${JSON.stringify({
      cases: nCases,
      crashes,
      hangs,
      untyped: untypedCount,
      unexpected: R.unexpected.length,
      goodFailed: R.good.fail,
      peakRssMiB: +(peak / 1048576).toFixed(1),
      handshakesPerSec: hsps,
      leaks: mc.ran ? { definite: mc.definite, indirect: mc.indirect, invalid: mc.invalid, live: mc.live, ok: mc.ok } : null,
      fuzz: fz.ran ? { execs: fz.execs, crashes: fz.crashes, targets: fz.targets, ok: fz.ok } : null,
      cluster: cl.ran ? { ok: cl.ok, rounds: cl.rounds, echoOk: cl.echoOk, mismatch: cl.mismatch, crashes: cl.crashes } : null,
      robustness: rb.ran ? { ok: rb.ok, passed: rb.passed, failed: rb.failed, shapes: rb.shapes, deliberate: rb.deliberate } : null,
      seed: OPTS.seed,
    })}`,
  );
  if (OPTS.json) fs.writeFileSync(OPTS.json, JSON.stringify({ summary, R }, null, 1));
  if (R.hangs.length || R.unexpected.length) console.log(`findings saved under ${FINDINGS}`);
  process.exitCode = crashes || hangs || failed.leaks || failed.fuzz || failed.cluster || failed.robustness ? 1 : 0;
  // let sockets drain, but never linger
  setTimeout(() => process.exit(process.exitCode), 500).unref();
}

if (OPTS.role === 'server') serverMain();
else if (OPTS.role === 'client') clientMain();
else
  orchestrate().catch((e) => {
    console.error('stress driver failed:', e);
    process.exit(2);
  });
