'use strict';
// `--only dtls` of bench/run.js: node-gnutls/dtls against gnutls-serv --udp and openssl s_server
// -dtls. Node has no DTLS, so the reference is Node's tls (TLS 1.2 over TCP) against the same
// program in TCP mode: the ratio says what a datagram association costs next to a TCP one.
const { spawn } = require('child_process');
const dgram = require('dgram');
const net = require('net');
const path = require('path');
const tls = require('tls');

const fixtures = path.join(__dirname, '..', 'test', 'fixtures');

function freePort(udp) {
  return new Promise((resolve, reject) => {
    if (udp) {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    } else {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    }
  });
}

/** Starts a peer and resolves once it printed `ready`. */
function peer(cmd, argv, ready) {
  return new Promise((resolve, reject) => {
    const p = spawn('stdbuf', ['-oL', '-eL', cmd, ...argv], { cwd: fixtures, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const on = (d) => {
      out += d;
      if (ready.test(out)) { p.stdout.off('data', on); p.stderr.off('data', on); p.stdout.resume(); p.stderr.resume(); resolve(p); }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('exit', (code) => reject(new Error(`${cmd} exited (${code}) before it was ready:\n${out}`)));
  });
}

const fixture = (n) => require('fs').readFileSync(path.join(fixtures, n));

async function dtlsHandshakes(port, count) {
  const dtls = require('../dist/dtls');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const c = dtls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem') }, () => c.close());
      c.on('error', reject);
      c.on('close', resolve);
    });
  }
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function tlsHandshakes(port, count) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem'), maxVersion: 'TLSv1.2' }, () => c.end());
      c.on('error', reject);
      c.on('close', resolve);
      c.resume();
    });
  }
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Round trips of a 100-byte message through an echo server, one at a time. */
async function dtlsEcho(port, count) {
  const dtls = require('../dist/dtls');
  const c = dtls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem') });
  await new Promise((resolve, reject) => { c.once('secureConnect', resolve); c.once('error', reject); });
  const msg = Buffer.concat([Buffer.alloc(99, 0x61), Buffer.from('\n')]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => { c.once('message', resolve); c.send(msg); });
  }
  const rate = count / (Number(process.hrtime.bigint() - t0) / 1e9);
  c.close();
  return rate;
}

async function tlsEcho(port, count) {
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem'), maxVersion: 'TLSv1.2' });
  await new Promise((resolve, reject) => { c.once('secureConnect', resolve); c.once('error', reject); });
  const msg = Buffer.concat([Buffer.alloc(99, 0x61), Buffer.from('\n')]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => {
      let got = 0;
      const on = (d) => { got += d.length; if (got >= msg.length) { c.off('data', on); resolve(); } };
      c.on('data', on);
      c.write(msg);
    });
  }
  const rate = count / (Number(process.hrtime.bigint() - t0) / 1e9);
  c.destroy();
  return rate;
}

const GNUTLS_CERT = ['--x509certfile', 'server-chain.pem', '--x509keyfile', 'server.key'];
const OPENSSL_CERT = ['-cert', 'server.pem', '-cert_chain', 'int.pem', '-key', 'server.key'];

/** Runs the DTLS rows; `addRow`/`progress` are bench/run.js's. */
async function dtlsScenario({ sizes, addRow, progress }) {
  const handshakes = Math.max(20, Math.round(sizes.handshakes / 5));
  const rtts = Math.max(200, Math.round(sizes.rtts / 5));
  const peers = [];
  try {
    const gu = await freePort(true);
    const gt = await freePort(false);
    peers.push(await peer('gnutls-serv', ['--udp', '--echo', '-p', String(gu), ...GNUTLS_CERT], /listening on IPv4/));
    peers.push(await peer('gnutls-serv', ['--echo', '-p', String(gt), ...GNUTLS_CERT], /listening on IPv4/));
    const ou = await freePort(true);
    const ot = await freePort(false);
    peers.push(await peer('openssl', ['s_server', '-dtls', '-accept', `127.0.0.1:${ou}`, ...OPENSSL_CERT], /ACCEPT/));
    peers.push(await peer('openssl', ['s_server', '-accept', `127.0.0.1:${ot}`, ...OPENSSL_CERT], /ACCEPT/));
    await new Promise((r) => setTimeout(r, 300));
    const rows = [
      ['dtls handshake, gnutls-serv', 'handshakes', () => dtlsHandshakes(gu, handshakes), () => tlsHandshakes(gt, handshakes),
        'gnutls-serv --udp takes ~160 ms to accept each new association (its own loop; our server and openssl s_server take ~7 ms)'],
      ['dtls handshake, openssl s_server', 'handshakes', () => dtlsHandshakes(ou, handshakes), () => tlsHandshakes(ot, handshakes)],
      ['dtls echo 100 B, gnutls-serv', 'round trips', () => dtlsEcho(gu, rtts), () => tlsEcho(gt, rtts)],
    ];
    for (const [label, metric, ours, ref, extra] of rows) {
      const a = [];
      const b = [];
      for (let r = 0; r < sizes.rounds; r++) {
        progress(`${label} (node-gnutls/dtls)`);
        a.push(await ours());
        progress(`${label} (node:tls over TCP)`);
        b.push(await ref());
      }
      addRow({
        group: 'dtls', id: label, label, metric, unit: '/s', better: 'higher', a: { samples: a }, b: { samples: b },
        note: `node:tls column: TLS 1.2 over TCP to the same program (Node has no DTLS); ratio = DTLS / TLS${extra ? `; ${extra}` : ''}`,
      });
    }
  } finally {
    for (const p of peers) p.kill('SIGKILL');
  }
}

dtlsScenario.steps = (rounds) => 3 * 2 * rounds;
module.exports = { dtlsScenario };
