// Differential scenario: an error on a server's socket after 'secureConnection' that the
// application does not listen to (a reset connection, a record TLS rejects) does not kill the
// process: Node's server sockets carry an 'error' listener of their own. The server runs in a
// child process (a crash is the outcome under test); Node's client misbehaves once secure.
import { spawn } from 'child_process';
import * as path from 'path';
import { differential } from './harness';
import { ensureDist } from '../helpers';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, '..', 'fixtures');

const child = (mod: string, how: string): string => `
const tls = require(${JSON.stringify(mod)}), nodeTls = require('tls'), net = require('net'), fs = require('fs');
const f = (n) => fs.readFileSync(${JSON.stringify(FIXTURES)} + '/' + n);
const server = tls.createServer({ key: f('server.key'), cert: f('server-chain.pem') }, (s) => {
  console.log('secureConnection, error listeners: ' + s.listenerCount('error'));
  s.resume();
});
server.listen(0, '127.0.0.1', () => {
  const raw = net.connect(server.address().port, '127.0.0.1');
  const c = nodeTls.connect({ socket: raw, servername: 'localhost', ca: f('ca.pem') });
  c.on('error', () => {});
  // A TCP reset, or a record with version 3.1 written under the client's TLS.
  const bad = Buffer.from('1703010010' + '01'.repeat(16), 'hex');
  c.on('secureConnect', () => setTimeout(() => (${JSON.stringify(how)} === 'reset' ? raw.resetAndDestroy() : raw.write(bad)), 50));
});
setTimeout(() => { console.log('still alive'); process.exit(0); }, 1500);
`;

beforeAll(() => ensureDist(), 120000);

for (const how of ['reset', 'bad record'] as const) {
  differential(`an error after secureConnection with no error listener does not crash the server (${how})`, async ({ pair }, t) => {
    const mod = pair.server === 'node' ? 'tls' : path.join(ROOT, 'dist');
    const p = spawn(process.execPath, ['-e', child(mod, how)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
    t.push(`server printed ${JSON.stringify(out.trim().split('\n'))}`);
    t.push(`server exit code ${code}`);
    t.push(`server uncaught ${/Unhandled 'error' event/.test(err) ? 'unhandled error event' : 'none'}`);
  }, { pairings: 'server', timeoutMs: 15000 });
}
