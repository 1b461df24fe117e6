// The published entry points: require('node-gnutls') and import { ... } from 'node-gnutls'
// (package.json main/types/exports → dist/, built by `npm ci`), run as a user would.
import { execFileSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..');
const run = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

test('CommonJS: require("node-gnutls") exposes the tls-compatible API', () => {
  const out = run(['-e', "const t = require('node-gnutls'); console.log(['connect','createServer','createSecureContext','TLSSocket','Server','checkServerIdentity','TLSError'].map((k) => typeof t[k]).join(','), t.DEFAULT_MIN_VERSION)"]);
  expect(out.trim()).toBe('function,function,function,function,function,function,function TLSv1.2');
});

test('ES module: import { connect } from "node-gnutls" works and a handshake runs through it', () => {
  const script = `
    import { connect, createServer } from 'node-gnutls';
    import { readFileSync } from 'fs';
    const f = (n) => readFileSync('test/fixtures/' + n);
    const server = createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (s) => s.end('esm ok'));
    server.listen(0, '127.0.0.1', () => {
      const c = connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: f('ca.pem') });
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('end', () => { console.log(got, c.getProtocol()); server.close(); });
    });`;
  expect(run(['--input-type=module', '-e', script]).trim()).toBe('esm ok TLSv1.3');
});
