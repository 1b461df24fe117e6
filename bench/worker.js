'use strict';
// Benchmark worker: forked by bench/run.js as either the server or the client process. It loads
// both stacks (node-gnutls and Node's tls) and runs one job at a time on command over IPC. Every
// job reports its own timings; { cmd: 'cpu' } reports process.cpuUsage() since the job's mark.
const fs = require('fs');
const path = require('path');
const net = require('net');
const nodeTls = require('tls');
const gtls = require('..');

/**
 * Plain TCP behind the same calls (the bulk ceiling): a connection is "secure" once it is
 * connected, and the TLS options are ignored.
 */
const plainTcp = {
  createServer: (_opts, onConnection) => net.createServer(onConnection),
  connect: (opts) => {
    const s = net.connect(opts.port, opts.host);
    s.once('connect', () => s.emit('secureConnect'));
    return s;
  },
};

const STACKS = { gnutls: gtls, node: nodeTls, net: plainTcp };
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Writes `bytes` bytes of CHUNK to `s`, honouring backpressure ('drain'). */
function writeBytes(s, bytes) {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        s.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

let certs = null;
let cpuMark = process.cpuUsage();
let current = null; // { server, sockets:Set } or client sockets of the running job
const mark = () => { cpuMark = process.cpuUsage(); };
const gc = () => { if (global.gc) { global.gc(); global.gc(); } };
const send = (msg) => { if (process.connected) process.send(msg); };
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function loadCerts(dir) {
  const r = (f) => fs.readFileSync(path.join(dir, f));
  return {
    ca: r('ca.pem'),
    ecdsa: { key: r('server-ecdsa.key'), cert: r('server-ecdsa.pem') },
    rsa: { key: r('server-rsa.key'), cert: r('server-rsa.pem') },
    client: { key: r('client.key'), cert: r('client.pem') },
  };
}

/**
 * The same configuration expressed for each stack: one protocol version, one cipher suite
 * (AES-128-GCM), one key-exchange group (X25519).
 */
function tlsOptions(stack, cfg, role) {
  const v = cfg.version; // 'TLSv1.3' | 'TLSv1.2'
  const o = { ca: certs.ca, minVersion: v, maxVersion: v };
  if (role === 'server') {
    Object.assign(o, certs[cfg.key || 'ecdsa']);
    // requestCert defaults to clientCert; the reauth job starts anonymous (requestCert: false).
    if (cfg.requestCert !== undefined ? cfg.requestCert : cfg.clientCert) { o.requestCert = true; o.rejectUnauthorized = true; }
  } else {
    o.host = '127.0.0.1';
    o.servername = 'localhost';
    if (cfg.clientCert) Object.assign(o, certs.client);
  }
  const kx = (cfg.key || 'ecdsa') === 'rsa' ? 'RSA' : 'ECDSA';
  if (stack === 'node') {
    o.ecdhCurve = 'X25519:P-256'; // P-256 too: TLS 1.2 needs the ECDSA cert's curve advertised
    // Node takes TLS 1.3 suite names in `ciphers` too.
    if (v === 'TLSv1.3') { o.ciphers = 'TLS_AES_128_GCM_SHA256'; }
    else { o.ciphers = `ECDHE-${kx}-AES128-GCM-SHA256`; }
  } else {
    // GnuTLS: minVersion/maxVersion append the version tokens to this.
    const base = 'NORMAL:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1';
    o.priority = v === 'TLSv1.3' ? base : `${base}:-KX-ALL:+ECDHE-${kx}`;
  }
  return o;
}

function describe(s) {
  if (typeof s.getProtocol !== 'function') return { protocol: 'tcp' };
  const c = s.getCipher ? s.getCipher() : {};
  const kx = s.getEphemeralKeyInfo ? s.getEphemeralKeyInfo() : null;
  return { protocol: s.getProtocol(), cipher: c && (c.standardName || c.name), group: kx && kx.name };
}

// ---------------------------------------------------------------- server side

function serverJob(msg) {
  const { stack, cfg, mode } = msg;
  const tls = STACKS[stack];
  const sockets = new Set();
  const state = { info: null, error: null };
  const server = tls.createServer(tlsOptions(stack, cfg, 'server'), (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    if (!state.info) state.info = describe(s);
    s.setNoDelay(true);
    if (mode === 'source') {
      // Wait for the client's 'go', then write cfg.bytes and end.
      s.once('data', () => {
        mark();
        writeBytes(s, cfg.bytes);
      });
    } else if (mode === 'sink') {
      mark();
      let got = 0;
      s.on('data', (d) => {
        got += d.length;
        if (got >= cfg.bytes) s.write('k');
      });
    } else if (mode === 'echo') {
      // Ping-pong: echo every complete message of cfg.size bytes.
      let pending = 0;
      const parts = [];
      s.on('data', (d) => {
        parts.push(d);
        pending += d.length;
        while (pending >= cfg.size) {
          const all = Buffer.concat(parts);
          parts.length = 0;
          s.write(all.subarray(0, cfg.size));
          pending -= cfg.size;
          if (pending) parts.push(all.subarray(cfg.size));
        }
      });
    } else if (mode === 'reauth') {
      // Post-handshake auth cfg.count times on this one connection, timed here.
      (async () => {
        try {
          mark();
          const t0 = now();
          for (let i = 0; i < cfg.count; i++) {
            await s.reauth({ require: true, timeout: 10000 });
            if (!s.authorized) throw new Error(`reauth ${i}: not authorized: ${s.authorizationError}`);
          }
          const ms = now() - t0;
          send({ ev: 'reauthDone', count: cfg.count, ms });
          s.end('k');
        } catch (err) {
          send({ ev: 'reauthDone', error: String(err && err.stack || err) });
          s.destroy();
        }
      })();
    } else {
      // 'ack' (handshakes, idle connections): one byte once the server has the connection.
      s.write('k');
    }
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', (err) => { state.error = state.error || String(err && err.message); });
  server.on('error', (err) => { state.error = String(err && err.message); });
  current = { server, sockets, state };
  gc();
  server.listen(0, '127.0.0.1', () => send({ ev: 'listening', port: server.address().port }));
}

function closeServer() {
  return new Promise((resolve) => {
    if (!current || !current.server) return resolve(null);
    const { server, sockets, state } = current;
    current = null;
    for (const s of sockets) s.destroy();
    server.close(() => resolve(state));
  });
}

// ---------------------------------------------------------------- client side

function connectOnce(tls, opts) {
  return new Promise((resolve, reject) => {
    const s = tls.connect(opts);
    s.on('error', reject);
    s.once('secureConnect', () => resolve(s));
  });
}

/** Waits for the server's one-byte ack (so the server side of the handshake is complete too). */
function waitByte(s) {
  return new Promise((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('error', reject);
    s.once('end', () => reject(new Error('closed before ack')));
  });
}

async function clientBulk(tls, opts, cfg) {
  const s = await connectOnce(tls, opts);
  const info = describe(s);
  s.setNoDelay(true);
  mark();
  const t0 = now();
  if (cfg.dir === 's2c') {
    await new Promise((resolve, reject) => {
      let got = 0;
      s.on('data', (d) => { got += d.length; if (got >= cfg.bytes) resolve(); });
      s.on('error', reject);
      s.write('g');
    });
  } else {
    await new Promise((resolve, reject) => {
      s.once('data', () => resolve());
      s.on('error', reject);
      writeBytes(s, cfg.bytes);
    });
  }
  const ms = now() - t0;
  s.destroy();
  return { ms, bytes: cfg.bytes, info };
}

async function clientHandshakes(tls, opts, cfg) {
  let session = null;
  let info = null;
  if (cfg.resume) {
    // One full handshake to obtain a ticket; not counted.
    const s = await new Promise((resolve, reject) => {
      const c = tls.connect(opts);
      c.on('error', reject);
      c.on('session', (sess) => { session = sess; });
      c.once('data', () => resolve(c));
    });
    await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    if (!session) throw new Error('no session ticket received');
  }
  mark();
  let started = 0;
  let reused = 0;
  const t0 = now();
  const one = async () => {
    while (started < cfg.count) {
      started++;
      const o = session ? { ...opts, session } : opts;
      const s = await new Promise((resolve, reject) => {
        const c = tls.connect(o);
        c.on('error', reject);
        if (cfg.resume) c.on('session', (sess) => { session = sess; });
        c.once('secureConnect', () => { if (!info) info = describe(c); });
        c.once('data', () => resolve(c));
      });
      if (s.isSessionReused()) reused++;
      s.destroy();
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, one));
  const ms = now() - t0;
  return { ms, count: cfg.count, reused, info };
}

async function clientPingPong(tls, opts, cfg) {
  const s = await connectOnce(tls, opts);
  const info = describe(s);
  s.setNoDelay(true);
  const msg = Buffer.alloc(cfg.size, 0x62);
  const lat = new Float64Array(cfg.count);
  // Warm-up round trips, not counted.
  const rtt = () => new Promise((resolve) => {
    let got = 0;
    const onData = (d) => { got += d.length; if (got >= cfg.size) { s.off('data', onData); resolve(); } };
    s.on('data', onData);
    s.write(msg);
  });
  for (let i = 0; i < Math.min(200, cfg.count); i++) await rtt();
  mark();
  send({ ev: 'markServer' }); // run.js forwards this so the server's CPU excludes the warm-up
  const t0 = now();
  for (let i = 0; i < cfg.count; i++) {
    const a = process.hrtime.bigint();
    await rtt();
    lat[i] = Number(process.hrtime.bigint() - a) / 1000; // µs
  }
  const ms = now() - t0;
  s.destroy();
  lat.sort();
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { ms, count: cfg.count, p50: pct(0.5), p99: pct(0.99), mean: (ms * 1000) / cfg.count, info };
}

async function clientHold(tls, opts, cfg) {
  const held = [];
  let info = null;
  let started = 0;
  const one = async () => {
    while (started < cfg.count) {
      started++;
      const s = await new Promise((resolve, reject) => {
        const c = tls.connect(opts);
        c.on('error', reject);
        c.once('data', () => resolve(c));
      });
      s.on('error', () => {});
      if (!info) info = describe(s);
      held.push(s);
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
  current = { clientSockets: held };
  return { count: held.length, info };
}

async function clientReauth(tls, opts) {
  // The client has a certificate; node-gnutls answers reauth requests automatically.
  const s = await connectOnce(tls, opts);
  const info = describe(s);
  mark();
  await new Promise((resolve, reject) => {
    s.on('data', () => {});
    s.on('end', resolve);
    s.on('close', resolve);
    s.on('error', reject);
  });
  s.destroy();
  return { info };
}

const CLIENT_JOBS = { bulk: clientBulk, handshakes: clientHandshakes, pingpong: clientPingPong, hold: clientHold, reauth: clientReauth };

function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

process.on('message', async (msg) => {
  try {
    switch (msg.cmd) {
      case 'init':
        certs = loadCerts(msg.certDir);
        send({ ev: 'ready' });
        break;
      case 'listen':
        serverJob(msg);
        break;
      case 'closeServer':
        send({ ev: 'closed', state: await closeServer() });
        break;
      case 'run': {
        gc();
        const tls = STACKS[msg.stack];
        const opts = { ...tlsOptions(msg.stack, msg.cfg, 'client'), port: msg.port };
        const result = await CLIENT_JOBS[msg.job](tls, opts, msg.cfg);
        send({ ev: 'result', result });
        break;
      }
      case 'release':
        if (current && current.clientSockets) for (const s of current.clientSockets) s.destroy();
        current = null;
        send({ ev: 'released' });
        break;
      case 'mark':
        mark();
        send({ ev: 'marked' });
        break;
      case 'markQuiet':
        mark();
        break;
      case 'cpu': {
        const u = process.cpuUsage(cpuMark);
        send({ ev: 'cpu', cpu: (u.user + u.system) / 1e6 });
        break;
      }
      case 'memory':
        send({ ev: 'memory', memory: memory() });
        break;
      case 'exit':
        process.exit(0);
        break;
      default:
        throw new Error(`unknown command ${msg.cmd}`);
    }
  } catch (err) {
    send({ ev: 'error', error: String(err && err.stack || err) });
  }
});
process.on('disconnect', () => process.exit(0));
