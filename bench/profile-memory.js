'use strict';
// Memory per idle TLS 1.3 connection on one side, split into V8's heap spaces and the rest (native:
// GnuTLS or OpenSSL, libuv, malloc), the other side being Node's tls in a child process:
//   node --expose-gc bench/profile-memory.js server|client gnutls|node [connections]
// Prints KiB per connection: RSS, the physical size of each V8 space that grew, and RSS minus V8.
const { fork } = require('child_process');
const v8 = require('v8');
const { selfSigned } = require('./self-signed');

const PEER = process.argv[2] === 'peer';
const v13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };

function snapshot() {
  for (let i = 0; i < 3; i++) global.gc();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.physical_space_size;
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, spaces };
}

function report(label, a, b, n) {
  const kib = (x) => (x / n / 1024).toFixed(2);
  const v8grew = Object.keys(b.spaces).reduce((t, k) => t + (b.spaces[k] - (a.spaces[k] || 0)), 0);
  const parts = Object.keys(b.spaces)
    .map((k) => [k, b.spaces[k] - (a.spaces[k] || 0)])
    .filter(([, d]) => Math.abs(d) >= 1024 * n * 0.05)
    .map(([k, d]) => `${k} ${kib(d)}`);
  console.log(`${label}: RSS ${kib(b.rss - a.rss)} KiB/conn, JS heap used ${kib(b.heapUsed - a.heapUsed)}, ` +
    `V8 spaces ${kib(v8grew)} (${parts.join(', ')}), RSS outside V8 ${kib(b.rss - a.rss - v8grew)}`);
}

if (PEER) {
  // The other side, always Node's tls: a server that answers each connection with one byte, or a
  // client that opens `n` connections 16 at a time and holds them.
  const tls = require('tls');
  process.on('disconnect', () => process.exit(0)); // the measuring side is done
  process.on('message', (m) => {
    if (m.serve) {
      const server = tls.createServer({ key: Buffer.from(m.key), cert: Buffer.from(m.cert), ...v13 }, (s) => {
        s.on('error', () => {});
        s.write('k');
      });
      server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    } else if (m.connect) {
      const held = [];
      let started = 0;
      const one = async () => {
        while (started < m.n) {
          started++;
          held.push(await new Promise((resolve, reject) => {
            const c = tls.connect({ port: m.port, host: '127.0.0.1', ca: Buffer.from(m.cert), servername: 'localhost', ...v13 });
            c.on('error', reject);
            c.once('data', () => resolve(c));
          }));
        }
      };
      Promise.all(Array.from({ length: 16 }, one)).then(() => process.send({ held: held.length }));
    }
  });
} else {
  const side = process.argv[2] === 'client' ? 'client' : 'server';
  const stack = process.argv[3] === 'node' ? 'node' : 'gnutls';
  const n = Number(process.argv[4] || 2000);
  const tls = stack === 'node' ? require('tls') : require('..');
  const { key, cert } = selfSigned();
  const peer = fork(__filename, ['peer'], { stdio: 'inherit' });
  const ask = (msg) => new Promise((resolve) => { peer.once('message', resolve); peer.send(msg); });
  const held = [];
  const run = async () => {
    if (side === 'server') {
      const server = tls.createServer({ key, cert, ...v13 }, (s) => {
        s.on('error', () => {});
        held.push(s);
        s.write('k');
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const port = server.address().port;
      await ask({ connect: true, port, cert: cert.toString(), n: 1 });
      const a = snapshot();
      await ask({ connect: true, port, cert: cert.toString(), n });
      await new Promise((r) => setTimeout(r, 200));
      report(`${stack} server, ${held.length - 1} connections`, a, snapshot(), n);
    } else {
      const { port } = await ask({ serve: true, key: key.toString(), cert: cert.toString() });
      const connect = () => new Promise((resolve, reject) => {
        const c = tls.connect({ port, host: '127.0.0.1', ca: cert, servername: 'localhost', ...v13 });
        c.on('error', reject);
        c.once('data', () => resolve(c));
      });
      held.push(await connect());
      const a = snapshot();
      let started = 0;
      const one = async () => {
        while (started < n) {
          started++;
          held.push(await connect());
        }
      };
      await Promise.all(Array.from({ length: 16 }, one));
      report(`${stack} client, ${held.length - 1} connections`, a, snapshot(), n);
    }
    process.exit(0);
  };
  run();
}
