// Workload for `npm run memcheck`: handshakes, reauth() and rehandshake() under TLS 1.3 and 1.2
// between our server and client, destroy() from inside PSK callbacks, then sessions dropped
// without destroy() and collected by gc().
// Prints the native session count left alive (expected 0).
'use strict';
const fs = require('fs');
const path = require('path');
const { PassThrough } = require('stream');
const tls = require('..');
const { binding } = require('../dist/native');

const fixture = (n) => fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', n));
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), ca: fixture('ca.pem') };
const clientOpts = { servername: 'localhost', ca: fixture('ca.pem'), key: fixture('client.key'), cert: fixture('client.pem') };

function exchange(version, op) {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ ...serverOpts, maxVersion: version }, async (s) => {
      try {
        if (op === 'reauth') await s.reauth({ require: true, timeout: 10000 });
        else await s.rehandshake({ timeout: 10000 });
        s.end('done');
      } catch (err) {
        reject(err);
      }
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ port: server.address().port, host: '127.0.0.1', ...clientOpts });
      c.on('data', () => {});
      c.on('error', reject);
      c.on('close', () => server.close(() => resolve()));
    });
  });
}

// destroy() from inside a PSK callback: the native session must outlive the GnuTLS call that is
// running it (its close is deferred), and still be freed.
function pskDestroy(version, side) {
  const key = Buffer.alloc(32, 7);
  const psk = { ciphers: 'PSK-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256', minVersion: version, maxVersion: version };
  return new Promise((resolve) => {
    const server = tls.createServer({
      ...psk,
      pskCallback: (socket) => {
        if (side === 'server') socket.destroy();
        return key;
      },
    });
    server.on('tlsClientError', () => {});
    server.on('secureConnection', (s) => s.on('error', () => {}));
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({
        port: server.address().port,
        host: '127.0.0.1',
        ...psk,
        checkServerIdentity: () => undefined,
        pskCallback: () => {
          if (side === 'client') c.destroy();
          return { psk: key, identity: 'memcheck' };
        },
      });
      c.on('error', () => {});
      c.on('close', () => setTimeout(() => server.close(() => resolve()), 20));
    });
  });
}

async function main() {
  const rounds = Number(process.argv[2] || 6);
  for (let i = 0; i < rounds; i++) {
    for (const version of ['TLSv1.3', 'TLSv1.2']) await exchange(version, i % 2 ? 'reauth' : 'rehandshake');
  }
  for (const version of ['TLSv1.3', 'TLSv1.2']) for (const side of ['server', 'client']) await pskDestroy(version, side);
  for (let i = 0; i < 50; i++) new tls.TLSSocket(new PassThrough(), { isServer: true, ...serverOpts });
  for (let i = 0; i < 5; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`live native sessions: ${binding.liveSessions()}`);
  if (binding.liveSessions() !== 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
