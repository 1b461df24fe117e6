// The CLI's options for PSK, raw public keys and the channel bindings it reports, against
// gnutls-cli / gnutls-serv.
import { execFileSync } from 'child_process';
import { createHash, createPublicKey } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Peer, ensureDist, freePort, gnutlsPriority, gnutlsServ, makeOcspResponse, onCleanup, spawnPeer } from './helpers';

const BIN = path.join(__dirname, '..', 'bin', 'node-gnutls.js');
const KEY_HEX = '8f1e2d3c4b5a69788796a5b4c3d2e1f0';
let dir: string;

beforeAll(() => {
  ensureDist(path.join('cli', 'main.js'), 'lib/cli');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-cli-'));
  fs.writeFileSync(path.join(dir, 'psk.passwd'), `alice:${KEY_HEX}\n`);
  for (const who of ['server', 'client']) {
    execFileSync('certtool', ['--generate-privkey', '--key-type', 'ecdsa', '--outfile', path.join(dir, `${who}.key`)], { stdio: 'pipe' });
    execFileSync('certtool', ['--load-privkey', path.join(dir, `${who}.key`), '--pubkey-info', '--outfile', path.join(dir, `${who}.pub`)], { stdio: 'pipe' });
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = (name: string): string => path.join(dir, name);
/** certtool writes a text description before the PEM block: keep the block. */
const pemOf = (f: string): string => /-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/.exec(fs.readFileSync(f, 'latin1'))![0];
const pinOf = (keyFile: string): string =>
  `sha256/${createHash('sha256').update(createPublicKey(pemOf(keyFile)).export({ type: 'spki', format: 'der' })).digest('base64')}`;

function track<P extends Peer>(peer: P): P {
  onCleanup(() => peer.kill());
  return peer;
}

async function exited(peer: Peer): Promise<number | null> {
  const code = await peer.exited;
  await new Promise((r) => setTimeout(r, 50)); // let the last output arrive
  return code;
}

test('serve --pskpasswd: gnutls-cli with a PSK (no certificates at all) connects and is named', async () => {
  const port = await freePort();
  const server = track(spawnPeer(process.execPath, [BIN, 'serve', '--port', String(port), '--pskpasswd', file('psk.passwd')]));
  await server.waitFor(/^listening on /m);
  const client = track(
    spawnPeer('gnutls-cli', ['-p', String(port), '--pskusername', 'alice', '--pskkey', KEY_HEX, '--priority', 'NORMAL:+ECDHE-PSK:+PSK', '127.0.0.1']),
  );
  await server.waitFor(/PSK identity: alice/);
  expect(client.out() + client.err()).not.toMatch(/Error/);
  client.proc.stdin?.end();
  expect(await exited(client)).toBe(0);
  expect(client.out()).toContain("PSK authentication. Connected as 'alice'");
  expect(server.out()).toMatch(/Key exchange: ECDHE-PSK/);
});

test('connect --pskusername/--pskkey against gnutls-serv --pskpasswd (TLS 1.2, identity hint)', async () => {
  const srv = track(
    await gnutlsServ(['--echo', '--pskpasswd', file('psk.passwd'), '--pskhint', 'cli-hint', '--priority', `${gnutlsPriority('TLSv1.2')}:+ECDHE-PSK:+PSK`]),
  );
  const client = track(spawnPeer(process.execPath, [BIN, 'connect', `127.0.0.1:${srv.port}`, '--pskusername', 'alice', '--pskkey', KEY_HEX]));
  await client.waitFor(/Key exchange: ECDHE-PSK/);
  client.proc.stdin?.write('psk line\n');
  await client.waitFor(/psk line/);
  client.proc.stdin?.end();
  expect(await exited(client)).toBe(0);
  expect(client.err()).toContain('- Protocol: TLSv1.2');
});

test('connect --rawpkkeyfile --pin against gnutls-serv with raw public keys: pin shown, and required', async () => {
  const srv = track(
    await gnutlsServ([
      '--echo', '--rawpkkeyfile', file('server.key'), '--rawpkfile', file('server.pub'),
      '--priority', 'NORMAL:+CTYPE-ALL', '--require-client-cert',
    ]),
  );
  const serverPin = pinOf(file('server.key'));
  const ok = track(
    spawnPeer(process.execPath, [BIN, 'connect', `127.0.0.1:${srv.port}`, '--rawpkkeyfile', file('client.key'), '--rawpkfile', file('client.pub'), '--pin', serverPin]),
  );
  await ok.waitFor(/Peer raw public key: /);
  expect(ok.err()).toContain(`Peer raw public key: ${serverPin}`);
  expect(ok.err()).toContain('Verification: ok');
  ok.proc.stdin?.end();
  expect(await exited(ok)).toBe(0);

  const wrong = track(
    spawnPeer(process.execPath, [BIN, 'connect', `127.0.0.1:${srv.port}`, '--rawpkkeyfile', file('client.key'), '--pin', pinOf(file('client.key'))]),
  );
  wrong.proc.stdin?.end();
  expect(await exited(wrong)).toBe(1);
  expect(wrong.err()).toContain('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
});

test('connect reports the channel bindings gnutls-serv computes for the same connection', async () => {
  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    const srv = track(await gnutlsServ(['--echo', '--x509keyfile', 'server.key', '--x509certfile', 'server-chain.pem', '--disable-client-cert', '--priority', gnutlsPriority(v)]));
    const client = track(spawnPeer(process.execPath, [BIN, 'connect', `127.0.0.1:${srv.port}`, '--ca', 'ca.pem', '--servername', 'localhost', '--json']));
    await client.waitFor(/"event":"connected"/);
    client.proc.stdin?.end();
    expect(await exited(client)).toBe(0);
    await srv.kill();
    await new Promise((r) => setTimeout(r, 50));
    const connected = client
      .err()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; channelBindings?: Record<string, string | null> })
      .find((e) => e.event === 'connected');
    const cb = connected!.channelBindings!;
    for (const [name, value] of Object.entries(cb)) {
      const printed = new RegExp(`'${name}': (\\S+)`).exec(srv.out())?.[1];
      expect(printed).toBeDefined();
      expect(value ?? 'not').toBe(printed);
    }
    if (v === 'TLSv1.3') expect(cb['tls-unique']).toBeNull();
  }
});

test('serve --ocsp-response staples for gnutls-cli; connect --save-ocsp saves what gnutls-serv staples', async () => {
  const response = makeOcspResponse(dir, 'good', 'V');
  const port = await freePort();
  const server = track(
    spawnPeer(process.execPath, [BIN, 'serve', '--port', String(port), '--cert', 'server-chain.pem', '--key', 'server.key', '--ocsp-response', response]),
  );
  await server.waitFor(/^listening on /m);
  const saved = file('from-cli-server.der');
  const cli = track(
    spawnPeer('gnutls-cli', ['-p', String(port), '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost', '--save-ocsp', saved, '127.0.0.1']),
  );
  cli.proc.stdin?.end();
  expect(await exited(cli)).toBe(0);
  expect(fs.readFileSync(saved).equals(fs.readFileSync(response))).toBe(true);

  const srv = track(await gnutlsServ(['--echo', '--x509keyfile', 'server.key', '--x509certfile', 'server-chain.pem', '--disable-client-cert', '--ocsp-response', response]));
  const ours = file('from-gnutls-serv.der');
  const client = track(
    spawnPeer(process.execPath, [BIN, 'connect', `127.0.0.1:${srv.port}`, '--ca', 'ca.pem', '--servername', 'localhost', '--save-ocsp', ours]),
  );
  await client.waitFor(/OCSP response stapled/);
  client.proc.stdin?.end();
  expect(await exited(client)).toBe(0);
  expect(fs.readFileSync(ours).equals(fs.readFileSync(response))).toBe(true);
});

test('serve with no certificate makes a throw-away one for localhost; connect --insecure reaches it', async () => {
  const port = await freePort();
  const server = track(spawnPeer(process.execPath, [BIN, 'serve', '--port', String(port)]));
  const line = await server.waitFor(/throw-away self-signed certificate for localhost, SHA-256 ([0-9A-F:]+)(?=\r?\n)/);
  const fingerprint = /SHA-256 ([0-9A-F:]+)/.exec(line)![1];
  await server.waitFor(/^listening on /m);
  const strict = track(spawnPeer(process.execPath, [BIN, 'connect', `localhost:${port}`]));
  strict.proc.stdin?.end();
  expect(await exited(strict)).toBe(1); // self-signed: not trusted by default
  const insecure = track(spawnPeer(process.execPath, [BIN, 'connect', `localhost:${port}`, '--insecure', '--json']));
  await insecure.waitFor(/"event":"connected"/);
  insecure.proc.stdin?.end();
  expect(await exited(insecure)).toBe(0);
  expect(insecure.err()).toContain(fingerprint);
});
