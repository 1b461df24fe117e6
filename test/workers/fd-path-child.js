'use strict';
// Child of test/socket.fd-path.test.ts: a node-gnutls server and client in one process move
// 1 MiB, then unref() everything and leave the connection open: the process must exit by itself
// (the fast path's poll handle follows the socket's ref state). Prints whether the client was on
// the fd fast path (not taken with NODE_GNUTLS_FD_PATH=0).
const fs = require('fs');
const path = require('path');
const tls = require('../..');

const fx = (n) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', n));
const server = tls.createServer({ key: fx('server.key'), cert: fx('server-chain.pem') }, (s) => {
  s.unref();
  s.write(Buffer.alloc(1024 * 1024, 1));
});
server.listen(0, '127.0.0.1', () => {
  server.unref();
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: fx('ca.pem') });
  let bytes = 0;
  c.on('data', (d) => {
    bytes += d.length;
    if (bytes < 1024 * 1024) return;
    process.stdout.write(`attached=${c.fd.attached} bytes=${bytes}\n`);
    c.unref();
  });
});
process.on('exit', () => process.stdout.write('exited\n'));
