#!/usr/bin/env node
'use strict';
// node-gnutls vs Node's tls benchmark. See bench/README.md.
//
//   node bench/run.js [--quick] [--out FILE] [--rounds N] [--only bulk,handshake,pingpong,memory,reauth,dtls]
//
// Server and client run in separate forked processes (bench/worker.js) on 127.0.0.1, ports from
// the OS. Each scenario runs both stacks in the same invocation, alternating, for several rounds;
// the table shows medians, the ratio node-gnutls / node:tls and CPU (server + client user+sys)
// per unit of work. Certificates are generated at startup with certtool into a temp dir.
const { execFileSync, fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const a = { quick: false, out: null, rounds: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--quick') a.quick = true;
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--rounds') a.rounds = Number(argv[++i]);
    else if (k === '--only') a.only = argv[++i].split(',');
    else if (k === '--help' || k === '-h') {
      console.log('usage: node bench/run.js [--quick] [--out FILE] [--rounds N] [--only bulk,handshake,pingpong,memory,reauth,dtls]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}
const args = parseArgs(process.argv.slice(2));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SIZES = args.quick
  ? { bulk: 32 * MiB, handshakes: 100, rtts: 2000, conns: 200, reauths: 50, rounds: 3 }
  : { bulk: 1 * GiB, handshakes: 1000, rtts: 20000, conns: 2000, reauths: 1000, rounds: 3 };
if (args.rounds) SIZES.rounds = args.rounds;
const OUT = path.resolve(args.out || path.join(__dirname, args.quick ? 'results-quick.json' : 'results.json'));
const want = (s) => !args.only || args.only.includes(s);

// ---------------------------------------------------------------- progress

const isTTY = process.stderr.isTTY;
let step = 0;
let totalSteps = 0;
const started = Date.now();
function progress(label) {
  step++;
  const t = ((Date.now() - started) / 1000).toFixed(1);
  const line = `[${step}/${totalSteps}] ${t}s ${label}`;
  if (isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
}
function progressDone() { if (isTTY) process.stderr.write('\r\x1b[K'); }

// ---------------------------------------------------------------- certificates

function makeCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-bench-'));
  const run = (a) => execFileSync('certtool', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const tmpl = (name, lines) => fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  const ecdsa = (f) => run(['--generate-privkey', '--key-type', 'ecdsa', '--curve', 'secp256r1', '--outfile', f]);
  ecdsa('ca.key');
  ecdsa('server-ecdsa.key');
  ecdsa('client.key');
  run(['--generate-privkey', '--key-type', 'rsa', '--bits', '2048', '--outfile', 'server-rsa.key']);
  tmpl('ca.tmpl', ['cn = node-gnutls bench CA', 'ca', 'cert_signing_key', 'crl_signing_key', 'expiration_days = 2']);
  tmpl('server.tmpl', ['cn = localhost', 'dns_name = localhost', 'ip_address = 127.0.0.1', 'tls_www_server',
    'signing_key', 'encryption_key', 'expiration_days = 2']);
  tmpl('client.tmpl', ['cn = bench-client', 'tls_www_client', 'signing_key', 'expiration_days = 2']);
  run(['--generate-self-signed', '--load-privkey', 'ca.key', '--template', 'ca.tmpl', '--outfile', 'ca.pem']);
  const issue = (key, t, out) => run(['--generate-certificate', '--load-privkey', key, '--load-ca-certificate', 'ca.pem',
    '--load-ca-privkey', 'ca.key', '--template', t, '--outfile', out]);
  issue('server-ecdsa.key', 'server.tmpl', 'server-ecdsa.pem');
  issue('server-rsa.key', 'server.tmpl', 'server-rsa.pem');
  issue('client.key', 'client.tmpl', 'client.pem');
  return dir;
}

// ---------------------------------------------------------------- workers

const children = new Set();
function killAll() {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

class Worker {
  constructor(role) {
    this.role = role;
    this.proc = fork(path.join(__dirname, 'worker.js'), [role], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.proc);
    this.waiters = [];
    this.onForward = null;
    this.proc.on('message', (m) => {
      if (m.ev === 'markServer') { if (this.onForward) this.onForward(); return; }
      const i = this.waiters.findIndex((w) => w.ev === m.ev || m.ev === 'error');
      if (i < 0) return;
      const w = this.waiters.splice(i, 1)[0];
      clearTimeout(w.timer);
      if (m.ev === 'error') w.reject(new Error(`${role} worker: ${m.error}`));
      else w.resolve(m);
    });
    this.proc.on('exit', (code, sig) => {
      children.delete(this.proc);
      for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(`${role} worker exited (${code ?? sig})`)); }
    });
  }
  wait(ev, timeoutMs = 600000) {
    return new Promise((resolve, reject) => {
      const w = { ev, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.role} worker: timed out waiting for ${ev}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
  rpc(msg, ev, timeoutMs) {
    const p = this.wait(ev, timeoutMs);
    this.proc.send(msg);
    return p;
  }
  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    try { this.proc.send({ cmd: 'exit' }); } catch { /* gone */ }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

async function startPair(certDir) {
  const S = new Worker('server');
  const C = new Worker('client');
  await Promise.all([S.rpc({ cmd: 'init', certDir }, 'ready'), C.rpc({ cmd: 'init', certDir }, 'ready')]);
  C.onForward = () => S.proc.send({ cmd: 'markQuiet' });
  return { S, C };
}

/** One job: a server of serverStack, a client of clientStack; returns the client's result + CPU. */
async function runPair(pair, { serverStack, clientStack, mode, job, cfg }) {
  const { S, C } = pair;
  const { port } = await S.rpc({ cmd: 'listen', stack: serverStack, cfg, mode }, 'listening');
  await S.rpc({ cmd: 'mark' }, 'marked');
  const serverDone = mode === 'reauth' ? S.wait('reauthDone') : null;
  let result;
  try {
    ({ result } = await C.rpc({ cmd: 'run', job, stack: clientStack, cfg, port }, 'result'));
  } catch (err) {
    const { state } = await S.rpc({ cmd: 'closeServer' }, 'closed').catch(() => ({ state: null }));
    if (state && state.error) err.message += ` (server: ${state.error})`;
    throw err;
  }
  const sr = serverDone ? await serverDone : null;
  if (sr && sr.error) throw new Error(`server reauth: ${sr.error}`);
  const cpuServer = (await S.rpc({ cmd: 'cpu' }, 'cpu')).cpu;
  const cpuClient = (await C.rpc({ cmd: 'cpu' }, 'cpu')).cpu;
  const { state } = await S.rpc({ cmd: 'closeServer' }, 'closed');
  return { ...result, reauth: sr, cpuServer, cpuClient, cpu: cpuServer + cpuClient, serverInfo: state && state.info };
}

// ---------------------------------------------------------------- statistics and output

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

const rows = []; // { group, id, label, metric, unit, better, a:{...}, b:{...}|null, ratio, cpuUnit, note }
function addRow(r) {
  const a = r.a ? { ...r.a, median: median(r.a.samples), cpuMedian: r.a.cpu ? median(r.a.cpu) : null } : null;
  const b = r.b ? { ...r.b, median: median(r.b.samples), cpuMedian: r.b.cpu ? median(r.b.cpu) : null } : null;
  // Both stacks must have negotiated the same protocol, suite and group.
  if (a && b && a.info && b.info && JSON.stringify(a.info) !== JSON.stringify(b.info)) {
    throw new Error(`${r.label}: stacks negotiated differently: ${JSON.stringify(a.info)} vs ${JSON.stringify(b.info)}`);
  }
  rows.push({ ...r, a, b, ratio: a && b ? a.median / b.median : null });
}

const fmt = (v) => {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const x = Math.abs(v);
  return x >= 1000 ? v.toFixed(0) : x >= 100 ? v.toFixed(1) : x >= 10 ? v.toFixed(2) : v.toFixed(3);
};

function printTable() {
  const head = ['scenario', 'metric', 'node-gnutls', 'node:tls', 'ratio', 'CPU gnutls', 'CPU node', 'CPU unit'];
  const body = rows.map((r) => [
    r.label, `${r.metric} (${r.unit})`,
    fmt(r.a && r.a.median), r.b ? fmt(r.b.median) : 'n/a',
    r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`,
    fmt(r.a && r.a.cpuMedian), r.b ? fmt(r.b.cpuMedian) : 'n/a', r.cpuUnit || '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  const out = [line(head), '|' + w.map((n, i) => (i < 2 ? ':' : '-') + '-'.repeat(n) + (i < 2 ? '-' : ':')).join('|') + '|'];
  let group = null;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].group !== group && group !== null) out.push(line(w.map(() => '')));
    group = rows[i].group;
    out.push(line(body[i]));
  }
  console.log(out.join('\n'));
  const notes = [...new Set(rows.filter((r) => r.note).map((r) => `- ${r.label.trim()}: ${r.note}`))];
  if (notes.length) console.log('\n' + notes.join('\n'));
}

// ---------------------------------------------------------------- scenarios

const STACKS = ['gnutls', 'node'];
/** Alternate the order every round so neither stack always runs first. */
const order = (round, xs) => (round % 2 ? [...xs].reverse() : xs);

async function bulkScenario(pair) {
  const rounds = SIZES.rounds;
  // Plain TCP through the same harness is the ceiling each TLS figure is also given against.
  const combos = [['gnutls', 'gnutls'], ['node', 'node'], ['gnutls', 'node'], ['node', 'gnutls'], ['net', 'net']];
  const infos = {};
  for (const version of ['TLSv1.3', 'TLSv1.2']) {
    for (const dir of ['s2c', 'c2s']) {
      const res = {};
      for (let r = 0; r < rounds; r++) {
        for (const [ss, cs] of order(r, combos)) {
          progress(`bulk ${version} ${dir} ${SIZES.bulk / MiB} MiB server=${ss} client=${cs} round ${r + 1}/${rounds}`);
          const cfg = { version, key: 'ecdsa', dir, bytes: SIZES.bulk };
          const out = await runPair(pair, { serverStack: ss, clientStack: cs, mode: dir === 's2c' ? 'source' : 'sink', job: 'bulk', cfg });
          const k = `${ss}/${cs}`;
          (res[k] = res[k] || { samples: [], cpu: [], info: out.info });
          res[k].samples.push(out.bytes / MiB / (out.ms / 1000));
          res[k].cpu.push(out.cpu / (out.bytes / GiB));
          infos[`${version} ${k}`] = out.info;
        }
      }
      const dirLabel = dir === 's2c' ? 'server→client' : 'client→server';
      const base = { group: 'bulk', metric: 'throughput', unit: 'MiB/s', cpuUnit: 'CPU-s/GiB' };
      const cipher = version === 'TLSv1.3' ? 'TLS_AES_128_GCM_SHA256' : 'ECDHE-ECDSA-AES128-GCM-SHA256';
      addRow({ ...base, id: `bulk-${version}-${dir}`, label: `bulk ${version} ${cipher} ${dirLabel}`, a: res['gnutls/gnutls'], b: res['node/node'] });
      addRow({ ...base, id: `bulk-${version}-${dir}-gS-nC`, label: `  mixed: gnutls server + node client`, a: res['gnutls/node'], b: res['node/node'],
        note: 'compared with node:tls on both ends' });
      addRow({ ...base, id: `bulk-${version}-${dir}-nS-gC`, label: `  mixed: node server + gnutls client`, a: res['node/gnutls'], b: res['node/node'],
        note: 'compared with node:tls on both ends' });
      addRow(ceilingRow(`bulk-${version}-${dir}-of-tcp`, `${version} ${dirLabel}`, res['gnutls/gnutls'], res['node/node'], res['net/net']));
    }
  }
}

/**
 * Each stack's throughput and CPU per GiB as fractions of plain TCP's in the same round (the
 * ceiling of the harness on this machine); plain TCP's own figures in the note.
 */
function ceilingRow(id, what, ours, node, tcp) {
  const of = (side) => ({
    samples: side.samples.map((v, i) => v / tcp.samples[i]),
    cpu: side.cpu.map((v, i) => v / tcp.cpu[i]),
  });
  return {
    group: 'bulk', id, label: '  each as a fraction of plain TCP', metric: 'throughput / TCP', unit: 'x', cpuUnit: 'CPU / TCP',
    a: of(ours), b: of(node),
    note: `${what}: plain TCP through the same harness ${median(tcp.samples).toFixed(0)} MiB/s, ${median(tcp.cpu).toFixed(3)} CPU-s/GiB`,
  };
}

async function handshakeRuns(pair, cfgBase, count, concurrency, resume) {
  const res = {};
  for (let r = 0; r < SIZES.rounds; r++) {
    for (const st of order(r, STACKS)) {
      progress(`handshake ${cfgBase.key}${cfgBase.clientCert ? '+mTLS' : ''}${resume ? ' resumed' : ''} c=${concurrency} ${st} round ${r + 1}/${SIZES.rounds}`);
      const cfg = { ...cfgBase, count, concurrency, resume };
      const out = await runPair(pair, { serverStack: st, clientStack: st, mode: 'ack', job: 'handshakes', cfg });
      if (resume && out.reused < out.count * 0.9) throw new Error(`${st}: only ${out.reused}/${out.count} handshakes resumed`);
      if (!resume && out.reused) throw new Error(`${st}: ${out.reused} handshakes resumed in a full-handshake run`);
      (res[st] = res[st] || { samples: [], cpu: [], reused: [], info: out.info });
      res[st].samples.push(out.count / (out.ms / 1000));
      res[st].cpu.push((out.cpu / out.count) * 1000);
      res[st].reused.push(out.reused);
    }
  }
  return res;
}

async function handshakeScenario(pair) {
  const n = SIZES.handshakes;
  const base = { group: 'handshake', metric: 'handshakes', unit: '/s', cpuUnit: 'CPU-ms/handshake' };
  for (const key of ['ecdsa', 'rsa']) {
    for (const clientCert of [false, true]) {
      for (const c of [1, 16]) {
        const res = await handshakeRuns(pair, { version: 'TLSv1.3', key, clientCert }, n, c, false);
        const label = `full handshake TLSv1.3 ${key === 'rsa' ? 'RSA-2048' : 'ECDSA P-256'}${clientCert ? ' + client cert' : ''} c=${c}`;
        addRow({ ...base, id: `hs-${key}-${clientCert ? 'mtls' : 'anon'}-c${c}`, label, a: res.gnutls, b: res.node });
      }
    }
  }
  for (const c of [1, 16]) {
    const res = await handshakeRuns(pair, { version: 'TLSv1.3', key: 'ecdsa', clientCert: false }, n, c, true);
    addRow({ ...base, id: `hs-resumed-c${c}`, label: `resumed handshake TLSv1.3 ticket ECDSA c=${c}`, a: res.gnutls, b: res.node });
  }
}

async function pingPongScenario(pair) {
  const res = {};
  for (let r = 0; r < SIZES.rounds; r++) {
    for (const st of order(r, STACKS)) {
      progress(`ping-pong 1 KiB x ${SIZES.rtts} ${st} round ${r + 1}/${SIZES.rounds}`);
      const cfg = { version: 'TLSv1.3', key: 'ecdsa', size: 1024, count: SIZES.rtts };
      const out = await runPair(pair, { serverStack: st, clientStack: st, mode: 'echo', job: 'pingpong', cfg });
      const x = (res[st] = res[st] || { p50: [], p99: [], rate: [], cpu: [], info: out.info });
      x.p50.push(out.p50);
      x.p99.push(out.p99);
      x.rate.push(out.count / (out.ms / 1000));
      x.cpu.push((out.cpu / out.count) * 1e6);
    }
  }
  const base = { group: 'pingpong', cpuUnit: 'CPU-µs/round trip' };
  const pick = (st, k) => ({ samples: res[st][k], cpu: res[st].cpu, info: res[st].info });
  addRow({ ...base, id: 'pingpong-p50', label: 'ping-pong 1 KiB TLSv1.3', metric: 'latency p50', unit: 'µs', a: pick('gnutls', 'p50'), b: pick('node', 'p50') });
  addRow({ ...base, id: 'pingpong-p99', label: 'ping-pong 1 KiB TLSv1.3', metric: 'latency p99', unit: 'µs', a: pick('gnutls', 'p99'), b: pick('node', 'p99') });
  addRow({ ...base, id: 'pingpong-rate', label: 'ping-pong 1 KiB TLSv1.3', metric: 'round trips', unit: '/s', a: pick('gnutls', 'rate'), b: pick('node', 'rate') });
}

async function memoryScenario(certDir) {
  const n = SIZES.conns;
  const res = {};
  for (let r = 0; r < SIZES.rounds; r++) {
    for (const st of order(r, STACKS)) {
      progress(`memory ${n} idle connections ${st} round ${r + 1}/${SIZES.rounds}`);
      // Fresh processes per run so the baseline is clean.
      const pair = await startPair(certDir);
      try {
        const cfg = { version: 'TLSv1.3', key: 'ecdsa', count: n };
        const { port } = await pair.S.rpc({ cmd: 'listen', stack: st, cfg, mode: 'ack' }, 'listening');
        // Warm up both processes with one connection (lazy initialisation is not per-connection cost).
        await pair.C.rpc({ cmd: 'run', job: 'hold', stack: st, cfg: { ...cfg, count: 1 }, port }, 'result');
        await pair.C.rpc({ cmd: 'release' }, 'released');
        await new Promise((r2) => setTimeout(r2, 100));
        const [s0, c0] = await Promise.all([pair.S.rpc({ cmd: 'memory' }, 'memory'), pair.C.rpc({ cmd: 'memory' }, 'memory')]);
        const { result } = await pair.C.rpc({ cmd: 'run', job: 'hold', stack: st, cfg, port }, 'result');
        await new Promise((r2) => setTimeout(r2, 200));
        const [s1, c1] = await Promise.all([pair.S.rpc({ cmd: 'memory' }, 'memory'), pair.C.rpc({ cmd: 'memory' }, 'memory')]);
        const per = (a, b, k) => (b.memory[k] - a.memory[k]) / result.count / 1024;
        const x = (res[st] = res[st] || { sRss: [], sHeap: [], cRss: [], cHeap: [], sExt: [], cExt: [], info: result.info });
        x.sRss.push(per(s0, s1, 'rss'));
        x.sHeap.push(per(s0, s1, 'heapUsed'));
        x.sExt.push(per(s0, s1, 'external'));
        x.cRss.push(per(c0, c1, 'rss'));
        x.cHeap.push(per(c0, c1, 'heapUsed'));
        x.cExt.push(per(c0, c1, 'external'));
      } finally {
        await pair.C.stop();
        await pair.S.stop();
      }
    }
  }
  const base = { group: 'memory', unit: 'KiB/conn', label: `memory, ${n} idle TLSv1.3 connections` };
  const pick = (st, k) => ({ samples: res[st][k], info: res[st].info });
  addRow({ ...base, id: 'mem-server-rss', metric: 'server RSS', a: pick('gnutls', 'sRss'), b: pick('node', 'sRss') });
  addRow({ ...base, id: 'mem-server-heap', metric: 'server JS heap', a: pick('gnutls', 'sHeap'), b: pick('node', 'sHeap') });
  addRow({ ...base, id: 'mem-client-rss', metric: 'client RSS', a: pick('gnutls', 'cRss'), b: pick('node', 'cRss') });
  addRow({ ...base, id: 'mem-client-heap', metric: 'client JS heap', a: pick('gnutls', 'cHeap'), b: pick('node', 'cHeap') });
}

async function reauthScenario(pair) {
  const n = SIZES.reauths;
  const re = { samples: [], cpu: [] };
  const hs = {};
  for (let r = 0; r < SIZES.rounds; r++) {
    progress(`reauth x ${n} gnutls round ${r + 1}/${SIZES.rounds}`);
    const cfg = { version: 'TLSv1.3', key: 'ecdsa', clientCert: true, requestCert: false, count: n };
    const out = await runPair(pair, { serverStack: 'gnutls', clientStack: 'gnutls', mode: 'reauth', job: 'reauth', cfg });
    re.samples.push(out.reauth.count / (out.reauth.ms / 1000));
    re.cpu.push((out.cpu / out.reauth.count) * 1000);
    re.info = out.info;
    for (const st of order(r, STACKS)) {
      progress(`reauth reference: mTLS handshake x ${n} ${st} round ${r + 1}/${SIZES.rounds}`);
      const cfg2 = { version: 'TLSv1.3', key: 'ecdsa', clientCert: true, count: n, concurrency: 1 };
      const o = await runPair(pair, { serverStack: st, clientStack: st, mode: 'ack', job: 'handshakes', cfg: cfg2 });
      (hs[st] = hs[st] || { samples: [], cpu: [], info: o.info });
      hs[st].samples.push(o.count / (o.ms / 1000));
      hs[st].cpu.push((o.cpu / o.count) * 1000);
    }
  }
  const base = { group: 'reauth', unit: '/s', cpuUnit: 'CPU-ms/op' };
  addRow({ ...base, id: 'reauth', label: 'TLSv1.3 post-handshake reauth() on one connection', metric: 'reauths', a: re, b: null,
    note: 'node:tls has no post-handshake auth' });
  addRow({ ...base, id: 'reauth-vs-mtls', label: 'fresh mTLS handshake ECDSA c=1 (reference)', metric: 'handshakes', a: hs.gnutls, b: hs.node });
  const ratio = median(re.samples) / median(hs.gnutls.samples);
  const cpuRatio = median(re.cpu) / median(hs.gnutls.cpu);
  rows.push({ group: 'reauth', id: 'reauth-ratio', label: 'reauth() / fresh mTLS handshake (node-gnutls)', metric: 'rate ratio', unit: 'x',
    a: { samples: [ratio], median: ratio, cpuMedian: cpuRatio }, b: null, ratio: null, cpuUnit: 'CPU ratio', note: 'node:tls has no post-handshake auth; ratio > 1 means reauth() is cheaper than a new mTLS connection' });
}

// ---------------------------------------------------------------- main

async function main() {
  const plan = {
    bulk: 2 * 2 * 5 * SIZES.rounds,
    handshake: 10 * 2 * SIZES.rounds,
    pingpong: 2 * SIZES.rounds,
    memory: 2 * SIZES.rounds,
    reauth: 3 * SIZES.rounds,
  };
  // DTLS (bench/dtls.js) runs only when asked for: --only dtls.
  const dtlsAsked = Boolean(args.only && args.only.includes('dtls'));
  if (dtlsAsked) plan.dtls = require('./dtls').dtlsScenario.steps(SIZES.rounds);
  totalSteps = Object.entries(plan).filter(([k]) => want(k)).reduce((s, [, v]) => s + v, 0);
  const certDir = makeCertificates();
  const gtls = require('..');
  const meta = {
    date: new Date().toISOString(), quick: args.quick, sizes: SIZES, node: process.version, gnutls: gtls.gnutlsVersion,
    openssl: process.versions.openssl, cpus: os.cpus().length, cpuModel: os.cpus()[0] && os.cpus()[0].model,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
  process.stderr.write(`node-gnutls bench${args.quick ? ' (quick)' : ''}: Node ${meta.node}, GnuTLS ${meta.gnutls}, OpenSSL ${meta.openssl}, ${meta.cpus} CPUs\n`);
  let pair = null;
  try {
    pair = await startPair(certDir);
    if (want('bulk')) await bulkScenario(pair);
    if (want('handshake')) await handshakeScenario(pair);
    if (want('pingpong')) await pingPongScenario(pair);
    if (want('reauth')) await reauthScenario(pair);
    if (want('memory')) await memoryScenario(certDir);
    if (dtlsAsked) await require('./dtls').dtlsScenario({ sizes: SIZES, addRow, progress });
  } finally {
    if (pair) { await pair.C.stop(); await pair.S.stop(); }
    killAll();
    fs.rmSync(certDir, { recursive: true, force: true });
    progressDone();
  }
  meta.seconds = (Date.now() - started) / 1000;
  printTable();
  console.log(`\n${args.quick ? 'quick' : 'full'} run, ${SIZES.rounds} rounds, medians; ratio = node-gnutls / node:tls; CPU = user+sys of server and client processes. ${meta.seconds.toFixed(1)} s. Results: ${path.relative(process.cwd(), OUT)}`);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ meta, rows }, null, 2) + '\n');
}

main().catch((err) => {
  progressDone();
  console.error(err && err.stack || err);
  killAll();
  process.exit(1);
});
