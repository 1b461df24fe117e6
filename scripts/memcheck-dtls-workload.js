'use strict';
// A small DTLS workload for valgrind (as scripts/memcheck.sh runs memcheck-workload.js):
//   valgrind --leak-check=full --show-leak-kinds=definite,indirect node --expose-gc scripts/memcheck-dtls-workload.js
// handshakes with SRTP and exporters, garbage datagrams, a refused certificate, PSK, a peer that
// never answers; prints the native sessions still alive at the end (0).
const path = require('path');
const root = path.join(__dirname, '..');
const dtls = require(path.join(root, 'dist', 'dtls'));
const { binding } = require(path.join(root, 'dist', 'native'));
const fs = require('fs');
const f = (n) => fs.readFileSync(path.join(root, 'test', 'fixtures', n));
const PSK = Buffer.alloc(16, 7);
const server = dtls.createServer({ key: f('server.key'), cert: f('server-chain.pem'), srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_80'] }, (s) => s.on('message', (m) => s.send(m)));
server.on('clientError', () => {});
const psk = dtls.createServer({ priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK', pskCallback: () => PSK });
psk.on('secureConnection', (s) => s.close());
const one = (port, opts) => new Promise((resolve) => {
  const c = dtls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: f('ca.pem'), ...opts }, () => {
    if (c.srtpProfile) c.getSrtpKeyingMaterial();
    c.exportKeyingMaterial(32, 'x'); c.getPeerCertificate(true); c.send('hi');
  });
  c.on('message', () => c.close());
  c.on('error', () => {});
  c.on('close', resolve);
});
server.bind(0, '127.0.0.1', () => psk.bind(0, '127.0.0.1', async () => {
  const port = server.address().port;
  for (let i = 0; i < 4; i++) await one(port, { srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_80'] });
  // Garbage at the port: random, truncated records, empty datagrams.
  const junk = require('dgram').createSocket('udp4');
  await new Promise((r) => junk.bind(0, '127.0.0.1', r));
  for (let i = 0; i < 200; i++) {
    const b = require('crypto').randomBytes(i % 7 === 0 ? 0 : 1 + (i * 37) % 300);
    if (i % 3 === 0 && b.length > 14) { b[0] = 22; b[1] = 0xfe; b[2] = 0xfd; b[13] = 1; }
    junk.send(b, port, '127.0.0.1');
  }
  await new Promise((r) => setTimeout(r, 200));
  junk.close();
  await one(port, { ca: f('other-ca.pem') });
  await one(psk.address().port, { priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK', pskCallback: () => ({ identity: 'a', psk: PSK }) });
  const silent = require('dgram').createSocket('udp4');
  await new Promise((r) => silent.bind(0, '127.0.0.1', r));
  const abandoned = dtls.connect({ host: '127.0.0.1', port: silent.address().port, rejectUnauthorized: false, handshakeTimeout: 300 });
  abandoned.on('close', () => silent.close());
  abandoned.on('error', () => {});
  await new Promise((r) => abandoned.on('close', r));
  server.close(); psk.close();
  setTimeout(() => { global.gc && gc(); console.log('live sessions', binding.liveSessions()); }, 200);
}));
