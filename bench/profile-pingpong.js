'use strict';
// One process, both ends of a TLS 1.3 1 KiB ping-pong (the bench's: setNoDelay, the next message
// only after the whole echo), for `perf record` and for the CPU per round trip of each stack:
//   node bench/profile-pingpong.js gnutls|node [round trips]
const { selfSigned } = require('./self-signed');

const stack = process.argv[2] === 'node' ? 'node' : 'gnutls';
const count = Number(process.argv[3] || 20000);
const tls = stack === 'node' ? require('tls') : require('..');
const { key, cert } = selfSigned();

const size = 1024;
const v13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
const server = tls.createServer({ key, cert, ...v13 }, (s) => {
  s.setNoDelay(true);
  let pending = 0;
  s.on('data', (d) => {
    pending += d.length;
    while (pending >= size) {
      pending -= size;
      s.write(Buffer.alloc(size, 0x61));
    }
  });
  s.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', ca: cert, servername: 'localhost', ...v13 });
  c.setNoDelay(true);
  const msg = Buffer.alloc(size, 0x62);
  c.on('secureConnect', async () => {
    const rtt = () =>
      new Promise((resolve) => {
        let got = 0;
        const onData = (d) => {
          got += d.length;
          if (got >= size) {
            c.off('data', onData);
            resolve();
          }
        };
        c.on('data', onData);
        c.write(msg);
      });
    for (let i = 0; i < 200; i++) await rtt();
    const lat = new Float64Array(count);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const a = process.hrtime.bigint();
      await rtt();
      lat[i] = Number(process.hrtime.bigint() - a) / 1000;
    }
    const cpu = process.cpuUsage(cpu0);
    lat.sort();
    const pct = (p) => lat[Math.min(count - 1, Math.floor(p * count))].toFixed(1);
    console.log(`${stack}: p50 ${pct(0.5)} µs, p99 ${pct(0.99)} µs, ${((cpu.user + cpu.system) / count).toFixed(1)} CPU-µs per round trip (one process, both ends)`);
    c.destroy();
    server.close();
  });
});
