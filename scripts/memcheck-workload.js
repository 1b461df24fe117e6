// Workload for `npm run memcheck`: handshakes, reauth() and rehandshake() under TLS 1.3 and 1.2
// between our server and client, then sessions dropped without destroy() and collected by gc().
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

async function main() {
  const rounds = Number(process.argv[2] || 6);
  for (let i = 0; i < rounds; i++) {
    for (const version of ['TLSv1.3', 'TLSv1.2']) await exchange(version, i % 2 ? 'reauth' : 'rehandshake');
  }
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
