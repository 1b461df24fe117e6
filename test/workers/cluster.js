'use strict';
// cluster: node-gnutls in forked workers sharing one listening port, each running a server and
// clients concurrently (every echo checked by SHA-256), then the workers are ended mid-traffic:
// one SIGKILLed, one killed by worker.kill() (SIGTERM), one disconnect()ed (must exit by itself,
// code 0), one told to destroy every socket it has and then disconnected (code 0).
// Run as a child process by test/socket.cluster.test.ts and by scripts/stress.js:
//   node cluster.js [--workers 4] [--clients 4] [--warmup 5] [--rounds 1] [--max-kb 256]
// Prints one "CLUSTER {json}" line (per-round exits, expected exits, traffic counts) and exits 0
// when every round passed (no unexpected exit code or signal, no hang, no data mismatch, no
// untyped error, no native session left in the workers that reported), 1 otherwise.
const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const PKG = path.join(__dirname, '..', '..');
const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

// =================================================================================================
// worker: a node-gnutls server on the shared port + client loops against the shared port
// =================================================================================================

function workerMain() {
  process.on('uncaughtException', (e) => {
    process.stdout.write(`WORKER ${cluster.worker.id} UNCAUGHT ${e && e.stack}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    process.stdout.write(`WORKER ${cluster.worker.id} UNHANDLED_REJECTION ${e && e.stack}\n`);
    process.exit(71);
  });
  const tls = require(PKG);
  const { binding } = require(path.join(PKG, 'dist', 'native'));
  const id = cluster.worker.id;
  const clients = Number(process.env.CLUSTER_CLIENTS || 4);
  const maxBytes = Number(process.env.CLUSTER_MAX_KB || 256) * 1024;
  const st = { id, pid: process.pid, served: 0, echoOk: 0, mismatch: 0, typed: 0, transport: 0, untyped: 0, hangs: 0, handshakeTimeouts: 0, serverErrors: 0, untypedSamples: [], hangSamples: [] };
  const open = new Set();
  const classify = (e) => {
    if (e instanceof tls.TLSError) return 'typed';
    if (e && (typeof e.syscall === 'string' || /^ERR_STREAM_|^ERR_SOCKET_CLOSED/.test(e.code || ''))) return 'transport';
    return 'untyped';
  };
  const note = (e) => {
    const k = classify(e);
    st[k]++;
    if (k === 'untyped' && st.untypedSamples.length < 5) st.untypedSamples.push(String((e && e.stack) || e));
  };

  const server = tls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => {
    st.served++;
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', (e) => {
      st.serverErrors++;
      if (classify(e) === 'untyped') note(e);
    });
    s.pipe(s);
  });
  server.on('tlsClientError', (e) => {
    st.serverErrors++;
    if (classify(e) === 'untyped') note(e);
  });

  let stopping = false;
  let inFlight = 0;
  let port = 0;
  const oneEcho = () =>
    new Promise((resolve) => {
      inFlight++;
      const data = crypto.randomBytes(1 + crypto.randomInt(maxBytes));
      // handshakeTimeout: a connection the primary accepted and handed to a worker that died before
      // taking it is never served (Node's round-robin handoff); the client gives up on it.
      const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fixture('ca.pem'), minVersion: Math.random() < 0.5 ? 'TLSv1.2' : 'TLSv1.3', handshakeTimeout: 4000 });
      open.add(c);
      const got = [];
      let failed = false;
      let secure = false;
      const timer = setTimeout(() => {
        st.hangs++;
        if (st.hangSamples.length < 5) st.hangSamples.push({ secure, received: Buffer.concat(got).length, size: data.length, bytesRead: c.socket.bytesRead, bytesWritten: c.socket.bytesWritten });
        c.destroy();
      }, 12000);
      c.on('secureConnect', () => {
        secure = true;
        c.end(data);
      });
      c.on('data', (d) => got.push(d));
      c.on('error', (e) => {
        failed = true;
        if (e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') st.handshakeTimeouts++;
        note(e);
      });
      c.on('close', () => {
        clearTimeout(timer);
        open.delete(c);
        inFlight--;
        const back = Buffer.concat(got);
        if (!failed && back.length === data.length) {
          if (crypto.createHash('sha256').update(back).digest('hex') === crypto.createHash('sha256').update(data).digest('hex')) st.echoOk++;
          else st.mismatch++;
        } else if (!failed && back.length > 0 && !data.subarray(0, back.length).equals(back)) {
          st.mismatch++; // a cut-short echo must still be a prefix of what was sent
        }
        resolve();
      });
    });
  const loop = async () => {
    while (!stopping) await oneEcho();
  };

  const report = setInterval(() => process.connected && process.send({ type: 'stats', st }), 200);
  const finalStats = async (how) => {
    stopping = true;
    while (inFlight > 0) await sleep(20);
    await new Promise((r) => (server.listening ? server.close(() => r()) : r()));
    for (let i = 0; i < 5; i++) {
      global.gc?.();
      await sleep(20);
    }
    clearInterval(report);
    return { ...st, how, live: binding.liveSessions() };
  };

  process.on('message', async (m) => {
    if (m.cmd === 'traffic') {
      port = m.port;
      for (let i = 0; i < clients; i++) loop();
    } else if (m.cmd === 'destroy-all') {
      for (const s of open) s.destroy();
      process.send({ type: 'destroyed', count: open.size });
    } else if (m.cmd === 'finish') {
      const f = await finalStats('finish');
      process.send({ type: 'final', st: f });
    }
  });
  // worker.disconnect() from the primary: servers are closed for us; stop the clients and let
  // the process end by itself (anything left open would keep it alive: a hang).
  process.on('disconnect', async () => {
    if (stopping) return;
    const f = await finalStats('disconnect');
    process.stdout.write(`WORKER_FINAL ${JSON.stringify(f)}\n`);
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
}

// =================================================================================================
// primary
// =================================================================================================

async function round(n, opts) {
  const workers = [];
  for (let i = 0; i < opts.workers; i++) {
    const w = cluster.fork({ CLUSTER_CLIENTS: String(opts.clients), CLUSTER_MAX_KB: String(opts.maxKb) });
    const rec = { w, id: w.id, stats: null, final: null, exit: null, listening: null, output: '' };
    // Worker output is piped (silent): crash reports are kept, and a disconnected worker (its IPC
    // channel gone) reports its final counts as a WORKER_FINAL line.
    const collect = (d) => {
      rec.output = (rec.output + d).slice(-8000);
      const m = /^WORKER_FINAL (.*)$/m.exec(rec.output);
      if (m && !rec.final) rec.final = JSON.parse(m[1]);
    };
    w.process.stdout.on('data', collect);
    w.process.stderr.on('data', collect);
    rec.exited = new Promise((resolve) =>
      w.on('exit', (code, signal) => {
        rec.exit = { code, signal };
        resolve();
      }),
    );
    w.on('message', (m) => {
      if (m.type === 'stats') rec.stats = m.st;
      else if (m.type === 'listening') rec.listening = m.port;
      else if (m.type === 'final') rec.final = m.st;
    });
    w.on('error', () => {});
    workers.push(rec);
  }
  const t0 = Date.now();
  const out = { round: n, ok: false, ports: [], workers: [], problems: [] };
  const deadline = (ms) => Date.now() - t0 > ms;
  while (workers.some((r) => r.listening === null && r.exit === null) && !deadline(20000)) await sleep(20);
  out.ports = [...new Set(workers.map((r) => r.listening))];
  if (out.ports.length !== 1 || workers.some((r) => r.exit)) out.problems.push(`workers did not all listen on one shared port: ${JSON.stringify(workers.map((r) => [r.listening, r.exit]))}`);
  const port = out.ports[0];
  for (const r of workers) r.w.send({ cmd: 'traffic', port });
  // Traffic until every worker has echoed `warmup` times and served connections itself.
  while (!deadline(45000) && !workers.every((r) => r.stats && r.stats.echoOk >= opts.warmup && r.stats.served > 0) && !workers.some((r) => r.exit)) await sleep(50);
  const before = workers.map((r) => ({ ...(r.stats || {}) }));
  if (!workers.every((r) => r.stats && r.stats.echoOk >= opts.warmup && r.stats.served > 0)) out.problems.push('warm-up traffic did not reach every worker');

  // Mid-traffic endings. Expected: [SIGKILL], [SIGTERM], [exit 0 after disconnect], [exit 0 after destroying all].
  const [a, b, c, d] = workers;
  const expect = new Map();
  if (a) {
    expect.set(a, { signal: 'SIGKILL' });
    a.w.process.kill('SIGKILL');
  }
  if (b) {
    expect.set(b, { signal: 'SIGTERM' });
    b.w.kill();
  }
  if (c) {
    expect.set(c, { code: 0 });
    c.w.disconnect();
  }
  if (d) {
    expect.set(d, { code: 0 });
    d.w.send({ cmd: 'destroy-all' });
    await sleep(300); // traffic goes on after everything was destroyed
    d.w.send({ cmd: 'finish' });
    const tf = Date.now();
    while (!d.final && d.exit === null && Date.now() - tf < 20000) await sleep(20);
    d.w.disconnect();
  }
  for (const r of workers.slice(4)) {
    expect.set(r, { code: 0 });
    r.w.disconnect();
  }
  const tExit = Date.now();
  let timer;
  await Promise.race([Promise.all(workers.map((r) => r.exited)), new Promise((r) => (timer = setTimeout(r, 20000)))]);
  clearTimeout(timer);
  for (const r of workers) {
    if (r.exit === null) {
      out.problems.push(`worker ${r.id} did not exit within 20 s (hang)`);
      r.w.process.kill('SIGKILL');
    }
  }
  await Promise.all(workers.map((r) => r.exited));
  out.exitMs = Date.now() - tExit;
  out.durationMs = Date.now() - t0;
  for (const r of workers) {
    const want = expect.get(r);
    const got = r.exit;
    const okExit = want.signal ? got.signal === want.signal : got.code === want.code && got.signal === null;
    if (!okExit) out.problems.push(`worker ${r.id}: exit ${JSON.stringify(got)}, expected ${JSON.stringify(want)}; output: ${r.output.slice(-2000)}`);
    if (want.code === 0 && !r.final) out.problems.push(`worker ${r.id}: no final report`);
    const s = r.final || r.stats || {};
    out.workers.push({ id: r.id, expected: want, exit: got, final: r.final ? r.final.how : null, beforeKill: before[workers.indexOf(r)], last: s });
  }
  out.ok = out.problems.length === 0;
  return out;
}

async function primaryMain() {
  const opts = { workers: arg('workers', 4), clients: arg('clients', 4), warmup: arg('warmup', 5), rounds: arg('rounds', 1), maxKb: arg('max-kb', 256) };
  cluster.setupPrimary({ exec: __filename, execArgv: ['--expose-gc'], silent: true });
  const rounds = [];
  for (let n = 1; n <= opts.rounds; n++) rounds.push(await round(n, opts));
  const all = rounds.flatMap((r) => r.workers);
  const sum = (k) => all.reduce((a, w) => a + ((w.last && w.last[k]) || 0), 0);
  const result = {
    ok: false,
    rounds: rounds.length,
    workers: all.length,
    echoOk: sum('echoOk'),
    mismatch: sum('mismatch'),
    untyped: sum('untyped'),
    typed: sum('typed'),
    transport: sum('transport'),
    hangs: sum('hangs'),
    handshakeTimeouts: sum('handshakeTimeouts'),
    served: sum('served'),
    liveAfterFinish: all.filter((w) => w.final).map((w) => w.last.live),
    exits: all.map((w) => w.exit),
    problems: rounds.flatMap((r) => r.problems.map((p) => `round ${r.round}: ${p}`)),
    untypedSamples: all.flatMap((w) => (w.last && w.last.untypedSamples) || []).slice(0, 5),
    details: rounds,
  };
  if (result.mismatch) result.problems.push(`${result.mismatch} echo mismatches`);
  if (result.untyped) result.problems.push(`${result.untyped} untyped errors`);
  if (result.hangs) result.problems.push(`${result.hangs} client connections hung`);
  if (result.liveAfterFinish.some((n) => n !== 0)) result.problems.push(`native sessions alive after finish: ${result.liveAfterFinish}`);
  result.ok = result.problems.length === 0;
  process.stdout.write(`CLUSTER ${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
  // The primary loads no node-gnutls. Node's cluster primary can stay alive on a round-robin handle
  // after every worker is gone (seen once in ~10 runs under load, no worker left): name what holds
  // it, then exit, so that the result is not lost to the caller's kill timer.
  setTimeout(() => {
    process.stderr.write(`cluster primary still alive 2 s after the report, on: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit();
  }, 2000).unref();
}

if (cluster.isPrimary) {
  primaryMain().catch((e) => {
    console.error('FAIL', e && e.stack);
    process.exit(2);
  });
} else {
  workerMain();
}
