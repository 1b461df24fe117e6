// The `node-gnutls/dtls` entry points (CommonJS and ES module, through package.json "exports"),
// and DTLS in worker_threads: sessions of a worker that exits mid-handshake or established are
// closed by the environment cleanup hook, and the process goes on.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ensureDist } from './helpers';

const root = path.join(__dirname, '..');
const run = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20000 });

beforeAll(() => ensureDist('dtls/index.js', 'dtls'));

test('CommonJS: require("node-gnutls/dtls") exposes connect, createServer and the classes', () => {
  const out = run(['-e', "const d = require('node-gnutls/dtls'); console.log(['connect','createServer','DTLSServer','DTLSSocket','TLSError'].map((k) => typeof d[k]).join(','))"]);
  expect(out.trim()).toBe('function,function,function,function,function');
});

test('ES module: import from "node-gnutls/dtls" and a DTLS exchange through it', () => {
  const script = `
    import { connect, createServer } from 'node-gnutls/dtls';
    import { readFileSync } from 'fs';
    const f = (n) => readFileSync('test/fixtures/' + n);
    const server = createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (s) => s.on('message', (m) => s.send('re:' + m)));
    server.bind(0, '127.0.0.1', () => {
      const c = connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: f('ca.pem') }, () => c.send('esm'));
      c.on('message', (m) => { console.log(String(m), c.getProtocol()); c.close(); server.close(); });
    });`;
  expect(run(['--input-type=module', '-e', script]).trim()).toBe('re:esm DTLSv1.2');
});

test('worker_threads: four workers each run a DTLS exchange and exit with sessions open', () => {
  const script = `
    const { Worker } = require('worker_threads');
    const body = \`
      const { connect, createServer } = require(\${JSON.stringify(path.join(root, 'dist/dtls'))});
      const fs = require('fs');
      const f = (n) => fs.readFileSync(\${JSON.stringify(path.join(root, 'test/fixtures'))} + '/' + n);
      const { parentPort } = require('worker_threads');
      const server = createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (s) => s.on('message', (m) => s.send(m)));
      server.bind(0, '127.0.0.1', () => {
        // One association established, one left half-open: the worker exits with both alive.
        connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: f('ca.pem') });
        const c = connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: f('ca.pem') }, () => c.send('w'));
        c.on('message', (m) => { parentPort.postMessage(String(m)); process.exit(0); });
      });\`;
    let done = 0;
    for (let i = 0; i < 4; i++) {
      const w = new Worker(body, { eval: true });
      w.on('message', (m) => { if (m === 'w') done++; });
      w.on('exit', () => { if (++exited === 4) console.log('done', done); });
    }
    let exited = 0;`;
  const out = run(['-e', `const path = require('path'); const root = ${JSON.stringify(root)};\n${script}`]);
  expect(out.trim()).toBe('done 4');
});
