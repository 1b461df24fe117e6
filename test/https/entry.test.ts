// The published subpath node-gnutls/https (package.json exports → dist/https/), required and
// imported as a user would, serving a request that Node's https client makes.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ensureDist } from '../helpers';

const root = path.join(__dirname, '..', '..');
const run = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

beforeAll(() => ensureDist('https/index.js', 'https'));

test('CommonJS: require("node-gnutls/https") exposes createServer, Server, Agent, undiciConnector', () => {
  const out = run(['-e', "const h = require('node-gnutls/https'); console.log(['createServer','Server','Agent','undiciConnector'].map((k) => typeof h[k]).join(','), new h.Agent() instanceof require('https').Agent)"]);
  expect(out.trim()).toBe('function,function,function,function true');
});

test('ES module: import { createServer, Agent } from "node-gnutls/https" serves a request', () => {
  const script = `
    import { createServer, Agent } from 'node-gnutls/https';
    import https from 'https';
    import { readFileSync } from 'fs';
    const f = (n) => readFileSync('test/fixtures/' + n);
    const server = createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (req, res) => res.end('esm ' + req.socket.getProtocol()));
    server.listen(0, '127.0.0.1', () => {
      const agent = new Agent({ ca: f('ca.pem'), servername: 'localhost' });
      https.get({ host: '127.0.0.1', port: server.address().port, agent }, (res) => {
        let got = '';
        res.on('data', (d) => (got += d));
        res.on('end', () => { console.log(got); server.close(); });
      });
    });`;
  expect(run(['--input-type=module', '-e', script]).trim()).toBe('esm TLSv1.3');
});
