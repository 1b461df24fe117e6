// PKCS#11: a server whose private key never leaves a SoftHSM token (initialised by this test),
// reached by a real gnutls-cli; typed errors for a wrong PIN, a missing object, a missing module.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VERSIONS, fixturePath, gnutlsPriority, spawnPeer } from './helpers';

const WORKER = path.join(__dirname, 'workers', 'pkcs11-peer.js');
const PIN = '4321';
const LABEL = 'node-gnutls-test';
const KEY_URL = `pkcs11:token=${LABEL};object=server-key;type=private`;
const CERT_URL = `pkcs11:token=${LABEL};object=server-cert;type=cert`;
const haveSoftHsm = spawnSync('softhsm2-util', ['--version']).status === 0;

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  if (!haveSoftHsm) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-p11-'));
  fs.mkdirSync(path.join(dir, 'tokens'));
  fs.writeFileSync(
    path.join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  env = { ...process.env, SOFTHSM2_CONF: path.join(dir, 'softhsm2.conf'), GNUTLS_PIN: PIN };
  const run = (cmd: string, args: string[]): void => {
    execFileSync(cmd, args, { env, stdio: 'pipe' });
  };
  run('softhsm2-util', ['--init-token', '--free', '--label', LABEL, '--pin', PIN, '--so-pin', '98765']);
  // p11tool finds SoftHSM through p11-kit's module configuration, as the library does.
  run('p11tool', ['--login', '--write', '--load-privkey', fixturePath('server.key'), '--label', 'server-key', `pkcs11:token=${LABEL}`]);
  run('p11tool', ['--login', '--write', '--load-certificate', fixturePath('server.pem'), '--label', 'server-cert', `pkcs11:token=${LABEL}`]);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Result {
  ok?: boolean;
  code?: string;
  gnutlsName?: string;
  message?: string;
  event?: string;
  port?: number;
}

/** The worker's JSON lines so far. */
function events(peer: { out: () => string }): Result[] {
  return peer
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Result);
}

/** Starts a serving worker and returns it with its port. */
async function serve(opts: object): Promise<{ server: ReturnType<typeof spawnPeer>; port: number }> {
  const server = spawnPeer(process.execPath, [WORKER, 'serve', JSON.stringify(opts)], { env });
  await server.waitFor(/"listening"/);
  const port = events(server).find((e) => e.event === 'listening')?.port;
  if (!port) throw new Error(`no port: ${server.out()} ${server.err()}`);
  return { server, port };
}

/** Runs the worker once (context / provider modes) and returns its JSON answer. */
function once(mode: string, opts: object): Result {
  const r = spawnSync(process.execPath, [WORKER, mode, JSON.stringify(opts)], { env, timeout: 20000 });
  const line = r.stdout.toString().trim().split('\n').pop() ?? '';
  if (!line) throw new Error(`worker said nothing: ${r.stderr.toString()}`);
  return JSON.parse(line) as Result;
}

const d = haveSoftHsm ? describe : describe.skip;

d('PKCS#11 keys (SoftHSM)', () => {
  test.each(VERSIONS)('%s: gnutls-cli completes a verified handshake with a server whose key is in the token', async (v) => {
    const { server, port } = await serve({ keyUrl: KEY_URL, pin: PIN, certFile: fixturePath('server-chain.pem') });
    const cli = spawnPeer(
      'gnutls-cli',
      ['--port', String(port), '127.0.0.1', '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost', '--priority', gnutlsPriority(v)],
      { env: process.env },
    );
    cli.proc.stdin?.end();
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toContain('The certificate is trusted');
    expect(cli.out()).toContain('signed by the token');
    expect(cli.out()).toContain(`(TLS${v.slice(4)}-X.509)`);
    await server.waitFor(/secureConnection/);
    expect(events(server).find((e) => e.event === 'secureConnection')).toMatchObject({ protocol: v });
    await server.kill();
  });

  test('the certificate may be a PKCS#11 URL as well', async () => {
    const { server, port } = await serve({ keyUrl: KEY_URL, pin: PIN, certUrl: CERT_URL });
    // The token holds only the leaf: gnutls-cli trusts the intermediate directly.
    const cli = spawnPeer('gnutls-cli', ['--port', String(port), '127.0.0.1', '--x509cafile', 'int.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost']);
    cli.proc.stdin?.end();
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toContain('signed by the token');
    await server.kill();
  });

  test('a wrong PIN is a typed error when the context is made, not at the first handshake', () => {
    const r = once('context', { keyUrl: KEY_URL, pin: '0000', certFile: fixturePath('server-chain.pem') });
    expect(r).toMatchObject({ ok: false, code: 'GNUTLS_E_PKCS11_PIN_ERROR' });
    expect(r.message).toContain(KEY_URL);
  });

  test('no PIN for a private key: the same typed error (the PIN is never asked for interactively)', () => {
    const r = once('context', { keyUrl: KEY_URL, certFile: fixturePath('server-chain.pem') });
    expect(r).toMatchObject({ ok: false, code: 'GNUTLS_E_PKCS11_PIN_ERROR' });
  });

  test('a missing object or token: typed errors naming the URL', () => {
    const missing = `pkcs11:token=${LABEL};object=no-such-key;type=private`;
    const r1 = once('context', { keyUrl: missing, pin: PIN, certFile: fixturePath('server-chain.pem') });
    expect(r1.ok).toBe(false);
    expect(r1.code).toMatch(/^GNUTLS_E_/);
    expect(r1.message).toContain(missing);
    const r2 = once('context', { keyUrl: 'pkcs11:token=no-such-token;object=server-key', pin: PIN, certFile: fixturePath('server-chain.pem') });
    expect(r2).toMatchObject({ ok: false, code: 'GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE' });
  });

  test('a missing PKCS#11 module: typed error from addPkcs11Provider', () => {
    const r = once('provider', { module: path.join(dir, 'no-such-module.so') });
    expect(r).toMatchObject({ ok: false, code: 'GNUTLS_E_PKCS11_LOAD_ERROR' });
  });

  test('the right PIN loads the context', () => {
    expect(once('context', { keyUrl: KEY_URL, pin: PIN, certFile: fixturePath('server-chain.pem') })).toEqual({ ok: true });
  });
});
