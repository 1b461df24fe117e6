// The DTLS event maps make misuse a compile error: one snippet compiled with the project's tsc,
// where each misuse carries @ts-expect-error (an unused one fails the compile too).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const tscBin = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

test('typed DTLS events and options: correct use compiles, misspelled events and wrong listeners do not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-dtls-types-'));
  const file = path.join(dir, 'snippet.ts');
  fs.writeFileSync(
    file,
    `import * as dtls from ${JSON.stringify(path.join(root, 'lib', 'dtls'))};
const server: dtls.DTLSServer = dtls.createServer({ srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_80'], maxHalfOpen: 10 }, (s) => s.send('x'));
server.on('clientError', (err, rinfo) => console.log(err.code, rinfo.port));
server.on('secureConnection', (s) => s.on('message', (m: Buffer, rinfo) => console.log(m.length, rinfo.address)));
const c: dtls.DTLSSocket = dtls.connect({ port: 1, mtu: 1400, pskCallback: (hint) => ({ identity: hint ?? 'x', psk: Buffer.alloc(16) }) });
c.on('secureConnect', () => c.getSrtpKeyingMaterial().clientKey.length);
// @ts-expect-error a misspelled event name
c.on('secureConect', () => {});
// @ts-expect-error a listener of the wrong type
c.on('message', (m: number) => m);
// @ts-expect-error a misspelled server event
server.on('secureConection', () => {});
// @ts-expect-error an option of the wrong type
dtls.connect({ port: 1, mtu: '1400' });
`,
  );
  let output = '';
  try {
    execFileSync(process.execPath, [tscBin, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--target', 'ES2022', '--moduleResolution', 'node', file], { stdio: 'pipe' });
  } catch (err) {
    output = String((err as { stdout?: Buffer }).stdout ?? err);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(output).toBe('');
}, 60000);
