'use strict';
// One process, both ends of a TLS 1.3 loopback transfer (server→client, 64 KiB writes with
// back-pressure), for `perf record`: node bench/profile-bulk.js gnutls|node [MiB]. See
// bench/README.md ("Where the cycles go") for how it is run and read.
const { selfSigned } = require('./self-signed');

const stack = process.argv[2] === 'node' ? 'node' : 'gnutls';
const mib = Number(process.argv[3] || 1024);
const tls = stack === 'node' ? require('tls') : require('..');
const { key, cert } = selfSigned();

const suite = stack === 'node' ? { ciphers: 'TLS_AES_128_GCM_SHA256' } : { priority: 'NORMAL:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD' };
const chunk = Buffer.alloc(64 * 1024, 0x61);
const total = mib * 1024 * 1024;
const server = tls.createServer({ key, cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ...suite }, (s) => {
  let left = total;
  const pump = () => {
    while (left > 0) {
      left -= chunk.length;
      if (!s.write(chunk)) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
});
server.listen(0, '127.0.0.1', () => {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', ca: cert, servername: 'localhost', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ...suite });
  let got = 0;
  c.on('data', (d) => (got += d.length));
  c.on('end', () => {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    console.log(`${stack}: ${(got / 1048576 / s).toFixed(0)} MiB/s, ${((cpu.user + cpu.system) / 1e6 / (got / 2 ** 30)).toFixed(2)} CPU-s/GiB (one process, both ends)`);
    c.destroy();
    server.close();
  });
});
