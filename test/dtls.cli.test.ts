// `node-gnutls serve --udp` and `connect --udp` (DTLS) run as a user runs them, against
// gnutls-cli --udp and gnutls-serv --udp --echo.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { ensureDist, fixturePath, peerExit, spawnPeer } from './helpers';
import { gnutlsServUdp, udpPeer } from './helpers/dtls';

const BIN = path.join(__dirname, '..', 'bin', 'node-gnutls.js');
const CREDS = ['--cert', 'server-chain.pem', '--key', 'server.key'];

beforeAll(() => ensureDist('cli/main.js', 'cli'), 120000);

test('serve --udp ↔ gnutls-cli --udp: each datagram echoed, the session reported', async () => {
  const srv = udpPeer(process.execPath, [BIN, 'serve', '--udp', '--port', '0', ...CREDS]);
  const line = await srv.waitFor(/listening on 127\.0\.0\.1:\d+\/udp/);
  const port = Number(/:(\d+)\//.exec(line)![1]);
  const cli = udpPeer('gnutls-cli', ['--udp', '--x509cafile', 'ca.pem', '--verify-hostname', 'localhost', '-p', String(port), '127.0.0.1']);
  await cli.waitFor(/Handshake was completed/);
  cli.proc.stdin!.write('over-dtls\n');
  await cli.waitFor(/over-dtls/);
  await srv.waitFor(/\[1\] secure: 127\.0\.0\.1:\d+ DTLSv1\.2/);
  cli.proc.stdin!.end();
  await srv.waitFor(/\[1\] closed/);
});

test('connect --udp → gnutls-serv --udp --echo: stdin lines out as datagrams, the echo on stdout, exit 0', async () => {
  const serv = await gnutlsServUdp(['--echo', '--x509certfile', 'server-chain.pem', '--x509keyfile', 'server.key']);
  const c = spawnPeer(process.execPath, [BIN, 'connect', '--udp', `127.0.0.1:${serv.port}`, '--ca', 'ca.pem', '--servername', 'localhost']);
  await c.waitFor(/- Protocol: DTLSv1\.2/);
  c.proc.stdin!.write('line-one\n');
  await c.waitFor(/line-one/);
  c.proc.stdin!.end();
  expect(await peerExit(c)).toBe(0);
  expect(c.err()).toMatch(/- Verification: ok/);
});

test('--udp refuses what DTLS does not do, by name (exit 2)', () => {
  const r = spawnSync(process.execPath, [BIN, 'serve', '--udp', '--http', ...CREDS], { cwd: fixturePath('.'), encoding: 'utf8', timeout: 20000 });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--http is not supported with --udp/);
  const c = spawnSync(process.execPath, [BIN, 'connect', '--udp', '127.0.0.1:1', '--rehandshake'], { cwd: fixturePath('.'), encoding: 'utf8', timeout: 20000 });
  expect(c.status).toBe(2);
  expect(c.stderr).toMatch(/--rehandshake is not supported with --udp/);
});
