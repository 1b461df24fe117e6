'use strict';
// One process, both ends of TLS 1.3 mutual authentication, for `perf record`:
//   node bench/profile-reauth.js reauth [N]     N post-handshake reauth({ require: true }) on one connection
//   node bench/profile-reauth.js mtls [N]       N fresh mutual-TLS handshakes, one after another
//   node bench/profile-reauth.js tls [N]        N fresh handshakes without a client certificate
// Each prints CPU-ms per operation (one process, both ends). `mtls` and `tls` take a third
// argument, `node`, to run Node's tls instead. See bench/README.md.
const { selfSigned } = require('./self-signed');

const mode = ['mtls', 'tls'].includes(process.argv[2]) ? process.argv[2] : 'reauth';
const tls = process.argv[4] === 'node' && mode !== 'reauth' ? require('tls') : require('..');
const count = Number(process.argv[3] || 2000);
const { key, cert } = selfSigned({ client: true });

const common = { key, cert, ca: cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
const report = (t0, cpu0, n) => {
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  console.log(`${mode} (${tls === require('tls') ? 'node:tls' : 'node-gnutls'}): ${(n / (ms / 1000)).toFixed(0)}/s, ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} CPU-ms/op (one process, both ends)`);
};

const server = tls.createServer({ ...common, requestCert: mode === 'mtls', rejectUnauthorized: true }, async (s) => {
  s.on('error', () => {});
  if (mode !== 'reauth') return void s.end('k');
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    await s.reauth({ require: true });
    if (!s.authorized) throw new Error(`reauth ${i}: ${s.authorizationError}`);
  }
  report(t0, cpu0, count);
  s.end();
  server.close();
});
server.listen(0, '127.0.0.1', async () => {
  const opts = { ...common, port: server.address().port, host: '127.0.0.1', servername: 'localhost' };
  if (mode === 'tls') delete opts.key, delete opts.cert;
  const once = () =>
    new Promise((resolve, reject) => {
      const c = tls.connect(opts);
      c.on('error', reject);
      c.on('data', () => {});
      c.on('end', () => {
        c.destroy();
        resolve();
      });
    });
  if (mode === 'reauth') return void (await once());
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) await once();
  report(t0, cpu0, count);
  server.close();
});
