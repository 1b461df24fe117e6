// The node-gnutls command-line tool (bin/node-gnutls.js → dist/cli), run as a user runs it, against
// real peers on loopback: gnutls-cli / gnutls-serv (GnuTLS 3.7.9), openssl s_client, curl, and the
// tool against itself. Every check reads what the processes printed.
//
// Peer behaviour this file relies on (observed on this machine):
// - gnutls-serv --echo treats a received record as an in-band command only when the record starts
//   with it ("**REAUTH**", "**REHANDSHAKE**"), and then answers "Successfully executed command"
//   instead of echoing. Our client sends each stdin chunk as one record, so the tests write a
//   command only after the previous line came back.
// - gnutls-serv requests a client certificate in the handshake unless started with
//   --disable-client-cert; with it, **REAUTH** requires one (GNUTLS_CERT_REQUIRE) and a failed
//   gnutls_reauth() is printed as "reauth: <error>" on its stderr.
// - gnutls-cli's and gnutls-serv's stdout is block-buffered when it is a pipe: assertions on it
//   wait until the process has exited (gnutls-serv flushes on SIGTERM).
// - gnutls-cli 3.7.9 fails a TLS 1.2 re-handshake when the server sends application data in the
//   middle of it (gnutls-serv --echo does, echoing right after its HelloRequest). Our server holds
//   its writes from the HelloRequest until the re-handshake completes, so the **REHANDSHAKE** flow
//   against our CLI server is shown with openssl s_client -tls1_2 and with our own CLI client, and
//   additionally with gnutls-cli, which completes it ("*** Rehandshake was performed.").
// - After end of stdin our client has sent close_notify and can no longer answer a re-auth
//   request, so stdin stays open until the reported result has been seen.
import { spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as path from 'path';
import {
  Peer,
  VERSIONS,
  Version,
  ensureDist,
  fixture,
  fixturePath,
  freePort,
  gnutlsPriority,
  gnutlsServ,
  onCleanup,
  spawnPeer,
} from './helpers';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'node-gnutls.js');
const WAIT = 10000;
const SERVER_CREDS = ['--cert', 'server-chain.pem', '--key', 'server.key'];
const CLIENT_CREDS = ['--cert', 'client.pem', '--key', 'client.key'];
const GNUTLS_CLIENT_CERT = ['--x509certfile', 'client.pem', '--x509keyfile', 'client.key'];
const SERV_CREDS = ['--x509keyfile', 'server.key', '--x509certfile', 'server-chain.pem'];
const CLIENT_SUBJECT = 'O=node-gnutls, CN=client.node-gnutls';
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Letters and digits only: 'AES-256-GCM' and 'TLS_AES_256_GCM_SHA384' become comparable. */
const squash = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '').toUpperCase();

beforeAll(() => ensureDist('cli/main.js', 'cli'), 120000);

function track<P extends Peer>(peer: P): P {
  onCleanup(() => peer.kill());
  return peer;
}

/** The CLI as a child process (cwd test/fixtures, so fixture names are paths). */
function cli(args: string[]): Peer {
  return track(spawnPeer(process.execPath, [BIN, ...args]));
}

/** The CLI run to completion (for --help and usage errors). */
function cliSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: fixturePath('.'), encoding: 'utf8', input: '', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `node-gnutls serve` on a free port; resolves once it printed that it listens. */
async function cliServe(args: string[]): Promise<Peer & { port: number }> {
  const port = await freePort();
  const peer = cli(['serve', '--port', String(port), ...SERVER_CREDS, ...args]);
  await peer.waitFor(args.includes('--json') ? /"event":"listening"/ : /^listening on /m, WAIT);
  return Object.assign(peer, { port });
}

/** `node-gnutls connect` to 127.0.0.1:port, verifying the server as localhost with the test CA. */
function cliConnect(port: number, args: string[] = []): Peer {
  return cli(['connect', `127.0.0.1:${port}`, '--ca', 'ca.pem', '--servername', 'localhost', ...args]);
}

/** gnutls-cli to 127.0.0.1:port, verifying our server; stdin stays open until the test ends it. */
function gnutlsCli(port: number, version: Version, extra: string[] = []): Peer {
  return track(
    spawnPeer('gnutls-cli', [
      '-p', String(port), '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost',
      '--priority', gnutlsPriority(version), ...extra, '127.0.0.1',
    ]),
  );
}

/** gnutls-serv --echo limited to one version. */
async function gnutlsEcho(version: Version, extra: string[] = []): Promise<Peer & { port: number }> {
  return track(await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', gnutlsPriority(version), ...extra]));
}

/** Resolves once the peer's stdout and stderr have been read to their end. */
function drained(peer: Peer): Promise<void> {
  const streams = [peer.proc.stdout, peer.proc.stderr].filter((s) => s && !s.readableEnded && !s.destroyed);
  return Promise.all(streams.map((s) => new Promise<void>((resolve) => s!.once('close', () => resolve())))).then(() => undefined);
}

/** Waits (bounded) for a peer to exit by itself, then for all it printed; resolves with its status. */
async function exitOf(peer: Peer, ms = WAIT): Promise<number | null> {
  const done = drained(peer);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    peer.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms\nstdout:\n${peer.out()}\nstderr:\n${peer.err()}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  await done;
  return code;
}

/** Stops a long-running peer (SIGTERM) and waits for everything it printed. */
async function stop(peer: Peer): Promise<void> {
  const done = drained(peer);
  await peer.kill();
  await done;
}

/** Lines of JSON output, parsed (throws on a line that is not JSON). */
function jsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, any>;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(l)}\nin:\n${text}`);
      }
    });
}

// ---- serve ↔ gnutls-cli ----------------------------------------------------------------------------

describe.each(VERSIONS)('node-gnutls serve ↔ gnutls-cli, %s', (version) => {
  test('a line typed into gnutls-cli comes back; both sides report the same session', async () => {
    const srv = await cliServe([]);
    const gc = gnutlsCli(srv.port, version);
    const line = `typed into gnutls-cli over ${version}`;
    gc.proc.stdin!.end(`${line}\n`);
    expect(await exitOf(gc)).toBe(0);
    await srv.waitFor(/^\[1\] closed/m, WAIT);
    const out = gc.out() + gc.err();
    expect(out).toMatch(/^- Status: The certificate is trusted\.\s*$/m);
    expect(out).toContain(`\n${line}\n`);
    const m = new RegExp(`^\\[1\\] secure: ${esc(version)}, (\\S+), ALPN none, SNI localhost`, 'm').exec(srv.out());
    expect(m).not.toBeNull();
    const gnutlsCipher = /^- Description: .*-\(([A-Z0-9-]+)\)$/m.exec(out)![1];
    expect(squash(m![1])).toContain(squash(gnutlsCipher));
    expect(srv.out()).toMatch(/^\[1\] connection from 127\.0\.0\.1:\d+$/m);
    expect(srv.out()).toMatch(/^\[1\] client certificate: none$/m);
  });
});

describe('node-gnutls serve: in-band commands', () => {
  test('TLS 1.3 **REAUTH** with gnutls-cli --post-handshake-auth: the client is authenticated after the handshake', async () => {
    const srv = await cliServe(['--ca', 'ca.pem']);
    const gc = gnutlsCli(srv.port, 'TLSv1.3', ['--post-handshake-auth', ...GNUTLS_CLIENT_CERT]);
    await srv.waitFor(/^\[1\] client certificate: none$/m, WAIT); // nothing asked for in the handshake
    gc.proc.stdin!.write('**REAUTH**\n');
    await srv.waitFor(/^\[1\] REAUTH .*$/m, WAIT);
    expect(srv.out()).toMatch(new RegExp(`^\\[1\\] REAUTH ok \\(post-handshake auth\\): client ${esc(CLIENT_SUBJECT)} \\(authorized\\)$`, 'm'));
    gc.proc.stdin!.end('after reauth\n');
    expect(await exitOf(gc)).toBe(0);
    expect(gc.out()).toMatch(/^- Successfully sent 1 certificate\(s\) to server\.$/m);
    expect(gc.out()).toMatch(/^\*\*\* Re-auth was performed\.$/m);
    expect(gc.out()).toMatch(/^\*\*REAUTH\*\*\nafter reauth$/m); // the command line, then the next line, echoed
  });

  test.each(VERSIONS)('%s **REAUTH** without client-certificate flags or --ca: as gnutls-serv, the untrusted certificate is reported and the connection kept', async (version) => {
    const srv = await cliServe([]);
    const gc = gnutlsCli(srv.port, version, version === 'TLSv1.3' ? ['--post-handshake-auth', ...GNUTLS_CLIENT_CERT] : GNUTLS_CLIENT_CERT);
    await srv.waitFor(/^\[1\] client certificate: none$/m, WAIT);
    gc.proc.stdin!.write('**REAUTH**\n');
    await srv.waitFor(/^\[1\] REAUTH .*$/m, WAIT);
    const how = version === 'TLSv1.3' ? 'post-handshake auth' : 're-handshake';
    expect(srv.out()).toMatch(new RegExp(`^\\[1\\] REAUTH ok \\(${how}\\): client ${esc(CLIENT_SUBJECT)} \\(not authorized: UNABLE_TO_VERIFY_LEAF_SIGNATURE\\)$`, 'm'));
    gc.proc.stdin!.end('still connected\n');
    expect(await exitOf(gc)).toBe(0);
    expect(gc.out()).toMatch(/^still connected$/m);
  });

  test('TLS 1.3 **REAUTH** with a gnutls-cli that did not offer post-handshake auth: ERR_TLS_PHA_UNSUPPORTED, connection stays up', async () => {
    const srv = await cliServe(['--ca', 'ca.pem']);
    const gc = gnutlsCli(srv.port, 'TLSv1.3', GNUTLS_CLIENT_CERT);
    await srv.waitFor(/^\[1\] secure: /m, WAIT);
    expect(srv.out()).toMatch(/post-handshake auth not offered/);
    gc.proc.stdin!.write('**REAUTH**\n');
    await srv.waitFor(/^\[1\] REAUTH .*$/m, WAIT);
    expect(srv.out()).toMatch(/^\[1\] REAUTH failed: .*\(code=ERR_TLS_PHA_UNSUPPORTED, gnutlsName=-\)$/m);
    gc.proc.stdin!.end('still here\n');
    expect(await exitOf(gc)).toBe(0);
    expect(gc.out()).toMatch(/^\*\*REAUTH\*\*\nstill here$/m);
  });

  test('TLS 1.2 **REHANDSHAKE** with openssl s_client -tls1_2: a full re-handshake, the chain is verified again', async () => {
    const srv = await cliServe([]);
    const sc = track(
      spawnPeer('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-tls1_2', '-CAfile', 'ca.pem', '-servername', 'localhost', '-verify_return_error']),
    );
    await sc.waitFor(/Verify return code: 0 \(ok\)/, WAIT);
    const leafVerified = (): number => (sc.err().match(/depth=0 O = node-gnutls, CN = localhost/g) ?? []).length;
    expect(leafVerified()).toBe(1);
    sc.proc.stdin!.write('**REHANDSHAKE**\n');
    await sc.waitFor(/^\*\*REHANDSHAKE\*\*$/m, WAIT);
    expect(srv.out()).toMatch(/^\[1\] REHANDSHAKE ok \(re-handshake, ECDHE-ECDSA-[A-Z0-9-]+\)$/m);
    expect(leafVerified()).toBe(2);
    sc.proc.stdin!.write('after\n');
    await sc.waitFor(/^after$/m, WAIT);
    expect(sc.out() + sc.err()).not.toMatch(/alert|error/i);
  });

  test('TLS 1.2 **REHANDSHAKE** then **REAUTH** with our CLI client: both sides report each re-handshake', async () => {
    const srv = await cliServe(['--ca', 'ca.pem', '--max-version', 'TLSv1.2']);
    const c = cliConnect(srv.port, CLIENT_CREDS);
    await c.waitFor(/^- Verification: ok$/m, WAIT);
    c.proc.stdin!.write('**REHANDSHAKE**\n');
    await c.waitFor(/^\*\*REHANDSHAKE\*\*$/m, WAIT);
    expect(c.err()).toMatch(/^\* Re-handshake requested by the server \(TLS 1\.2 HelloRequest, safe renegotiation on\): accepting$/m);
    expect(c.err()).toMatch(/^\* Re-handshake \(server-requested\) completed: TLSv1\.2, ECDHE-ECDSA-[A-Z0-9-]+, server O=node-gnutls, CN=localhost$/m);
    expect(c.err()).not.toMatch(/, sent O=/); // not asked for a certificate
    expect(srv.out()).toMatch(/^\[1\] REHANDSHAKE ok \(re-handshake, ECDHE-ECDSA-[A-Z0-9-]+\)$/m);
    expect(srv.out()).toMatch(/^\[1\] client certificate: none$/m);
    // TLS 1.2 re-authentication: a re-handshake in which the server asks for the certificate.
    c.proc.stdin!.write('**REAUTH**\n');
    await c.waitFor(/^\*\*REAUTH\*\*$/m, WAIT);
    expect(srv.out()).toMatch(new RegExp(`^\\[1\\] REAUTH ok \\(re-handshake\\): client ${esc(CLIENT_SUBJECT)} \\(authorized\\)$`, 'm'));
    expect(c.err()).toMatch(new RegExp(`^\\* Re-handshake \\(server-requested\\) completed: .*, sent ${esc(CLIENT_SUBJECT)}$`, 'm'));
    expect((c.err().match(/^\* Re-handshake \(server-requested\) completed/gm) ?? []).length).toBe(2);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    expect(c.err()).not.toMatch(/^error/m);
  });

  test('TLS 1.2 **REHANDSHAKE** with gnutls-cli: "*** Rehandshake was performed." (our echo waits for the re-handshake)', async () => {
    const srv = await cliServe([]);
    const gc = gnutlsCli(srv.port, 'TLSv1.2');
    await srv.waitFor(/^\[1\] secure: TLSv1\.2/m, WAIT);
    gc.proc.stdin!.write('**REHANDSHAKE**\n');
    await srv.waitFor(/^\[1\] REHANDSHAKE .*$/m, WAIT);
    expect(srv.out()).toMatch(/^\[1\] REHANDSHAKE ok \(re-handshake, /m);
    gc.proc.stdin!.end('after\n');
    expect(await exitOf(gc)).toBe(0);
    expect(gc.out()).toMatch(/^\*\*\* Received rehandshake request$/m);
    expect(gc.out()).toMatch(/^\*\*\* Rehandshake was performed\.$/m);
    expect(gc.out()).toMatch(/^\*\*REHANDSHAKE\*\*\nafter$/m);
    expect(gc.err()).not.toMatch(/Fatal error|has failed/);
  });

  test.each(VERSIONS)('**KEYUPDATE** with gnutls-cli, %s', async (version) => {
    const srv = await cliServe([]);
    const gc = gnutlsCli(srv.port, version);
    await srv.waitFor(/^\[1\] secure: /m, WAIT);
    gc.proc.stdin!.write('**KEYUPDATE**\n');
    await srv.waitFor(/^\[1\] KEYUPDATE .*$/m, WAIT);
    if (version === 'TLSv1.3') expect(srv.out()).toMatch(/^\[1\] KEYUPDATE ok \(our sending keys updated\)$/m);
    else expect(srv.out()).toMatch(/^\[1\] KEYUPDATE failed: .*\(code=ERR_TLS_KEY_UPDATE_UNSUPPORTED, gnutlsName=-\)$/m);
    // gnutls-cli decrypts what we send afterwards (with the new keys under TLS 1.3).
    gc.proc.stdin!.end('after\n');
    expect(await exitOf(gc)).toBe(0);
    expect(gc.out()).toMatch(/^\*\*KEYUPDATE\*\*\nafter$/m);
  });

  test('--require-client-cert: gnutls-cli without a certificate fails, the server reports the handshake error', async () => {
    const srv = await cliServe(['--ca', 'ca.pem', '--require-client-cert']);
    const gc = gnutlsCli(srv.port, 'TLSv1.2');
    gc.proc.stdin!.end();
    expect(await exitOf(gc)).not.toBe(0);
    await srv.waitFor(/^\[1\] handshake failed: .*$/m, WAIT);
    expect(srv.out()).toMatch(/^\[1\] handshake failed: .*\(code=ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE, gnutlsName=GNUTLS_E_NO_CERTIFICATE_FOUND\)$/m);
  });
});

// ---- connect ↔ gnutls-serv -------------------------------------------------------------------------

describe.each(VERSIONS)('node-gnutls connect ↔ gnutls-serv --echo, %s', (version) => {
  test('session details on stderr, stdin echoed to stdout, same session as gnutls-serv reports', async () => {
    const srv = await gnutlsEcho(version);
    const c = cliConnect(srv.port);
    await c.waitFor(/^- Client certificate sent: .*$/m, WAIT);
    c.proc.stdin!.write(`over ${version}\n`);
    await c.waitFor(new RegExp(`^over ${esc(version)}$`, 'm'), WAIT);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    await stop(srv);
    const err = c.err();
    expect(err).toMatch(new RegExp(`^- Protocol: ${esc(version)}$`, 'm'));
    expect(err).toMatch(/^- Verification: ok$/m);
    expect(err).toMatch(/^- Server name \(SNI\): localhost$/m);
    // The chain: the two certificates gnutls-serv sent, then the trusted root.
    const fp = (name: string): string => new X509Certificate(fixture(name)).fingerprint256;
    // The count is what gnutls-serv sent ("- Got a certificate list of N" on a GnuTLS client).
    expect(err).toMatch(/^- Peer certificate chain \(2 sent, completed by a trust anchor\):$/m);
    expect(err).toMatch(new RegExp(`^  \\[0\\] subject: O=node-gnutls, CN=localhost\\n      issuer:  O=node-gnutls, CN=node-gnutls Intermediate CA$`, 'm'));
    expect(err).toMatch(new RegExp(`^  \\[1\\] subject: O=node-gnutls, CN=node-gnutls Intermediate CA$`, 'm'));
    expect(err).toMatch(new RegExp(`^  \\[2\\] subject: O=node-gnutls, CN=node-gnutls Test CA \\(trust anchor, not sent by the peer\\)$`, 'm'));
    for (const f of ['server.pem', 'int.pem', 'ca.pem']) expect(err).toContain(`\n      sha256:  ${fp(f)}\n`);
    expect(err).toMatch(/^\* Connection closed$/m);
    expect(srv.out()).toMatch(new RegExp(`^- Version: ${esc(version.replace('TLSv', 'TLS'))}$`, 'm'));
    const gnutlsCipher = /^- Cipher: (\S+)$/m.exec(srv.out())![1];
    const ours = /^- Cipher: (\S+) /m.exec(err)![1];
    expect(squash(ours)).toContain(squash(gnutlsCipher));
    expect(srv.err()).toMatch(new RegExp(`received cmd: over ${esc(version)}`));
  });
});

describe('node-gnutls connect: re-authentication and re-handshake with gnutls-serv', () => {
  test('TLS 1.3 **REAUTH** (gnutls-serv --disable-client-cert): our client answers with its certificate, gnutls-serv succeeds', async () => {
    const srv = await gnutlsEcho('TLSv1.3', ['--disable-client-cert', '--x509cafile', 'ca.pem']);
    const c = cliConnect(srv.port, ['--post-handshake-auth', ...CLIENT_CREDS]);
    await c.waitFor(/^- Client certificate sent: none$/m, WAIT);
    expect(c.err()).toMatch(/^- Post-handshake auth offered: yes$/m);
    c.proc.stdin!.write('before\n');
    await c.waitFor(/^before$/m, WAIT);
    c.proc.stdin!.write('**REAUTH**\n');
    // gnutls-serv answers an in-band command it executed with this line instead of an echo.
    await c.waitFor(/^Successfully executed command$/m, WAIT);
    expect(c.err()).toMatch(/^\* Re-authentication requested by the server \(TLS 1\.3 post-handshake auth\): answering with our certificate$/m);
    expect(c.err()).toMatch(new RegExp(`^\\* Re-authentication answered: sent ${esc(CLIENT_SUBJECT)}$`, 'm'));
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    await stop(srv);
    expect(srv.err()).toMatch(/^\*\*\* Sending re-auth request$/m);
    expect(srv.err()).not.toMatch(/^reauth:/m);
  });

  test('TLS 1.3 **REAUTH** without --cert: our client declines, gnutls-serv reports "reauth:" and closes with certificate_required', async () => {
    const srv = await gnutlsEcho('TLSv1.3', ['--disable-client-cert']);
    const c = cliConnect(srv.port, ['--post-handshake-auth']);
    await c.waitFor(/^- Client certificate sent: none$/m, WAIT);
    c.proc.stdin!.write('**REAUTH**\n');
    await c.waitFor(/^\* Re-authentication answered without a certificate$/m, WAIT);
    expect(c.err()).toMatch(/no --cert given, answering without a certificate$/m);
    await srv.waitFor(/^reauth: Certificate is required\.$/m, WAIT); // stderr is unbuffered
    // gnutls-serv ends the connection with a certificate_required alert (waited for: ending our
    // input first would close the connection before the alert arrives).
    await c.waitFor(/^error: /m, WAIT);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(1);
    expect(c.err()).toMatch(/^error: .*\(code=ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, gnutlsName=GNUTLS_E_FATAL_ALERT_RECEIVED, alert=certificate_required\)$/m);
    expect(c.out()).not.toMatch(/Successfully executed command/);
  });

  test('TLS 1.2 **REHANDSHAKE**: our client accepts the HelloRequest and reports the re-handshake', async () => {
    const srv = await gnutlsEcho('TLSv1.2');
    const c = cliConnect(srv.port);
    await c.waitFor(/^- Safe renegotiation: yes$/m, WAIT);
    c.proc.stdin!.write('before\n');
    await c.waitFor(/^before$/m, WAIT);
    c.proc.stdin!.write('**REHANDSHAKE**\n');
    await c.waitFor(/^\* Re-handshake \(server-requested\) completed: .*$/m, WAIT);
    expect(c.err()).toMatch(/^\* Re-handshake requested by the server \(TLS 1\.2 HelloRequest, safe renegotiation on\): accepting$/m);
    expect(c.err()).toMatch(/^\* Re-handshake \(server-requested\) completed: TLSv1\.2, ECDHE-ECDSA-[A-Z0-9-]+, server O=node-gnutls, CN=localhost$/m);
    await c.waitFor(/^Successfully executed command$/m, WAIT);
    c.proc.stdin!.write('after\n');
    await c.waitFor(/^after$/m, WAIT);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    await stop(srv);
    expect(srv.err()).toMatch(/^\*\*\* Sending rehandshake request$/m);
    expect(srv.err()).toMatch(/^\*\*\* Received hello message$/m);
    expect(c.err()).not.toMatch(/^error/m);
  });

  test('TLS 1.2 --rehandshake: a client-initiated re-handshake right after connecting', async () => {
    const srv = await gnutlsEcho('TLSv1.2');
    const c = cliConnect(srv.port, ['--rehandshake']);
    await c.waitFor(/^\* Re-handshake \(client-initiated\) .*$/m, WAIT);
    expect(c.err()).toMatch(/^\* Re-handshake \(client-initiated\) completed: TLSv1\.2, ECDHE-ECDSA-[A-Z0-9-]+$/m);
    c.proc.stdin!.write('after\n');
    await c.waitFor(/^after$/m, WAIT);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    await stop(srv);
    expect(srv.err()).toMatch(/^\*\*\* Received hello message$/m);
  });
});

// ---- verification failures -------------------------------------------------------------------------

describe('node-gnutls connect: verification failures exit non-zero with the error code', () => {
  test('an untrusted server (wrong --ca): UNABLE_TO_GET_ISSUER_CERT_LOCALLY, exit 1; gnutls-serv never sees our Finished', async () => {
    const srv = await gnutlsEcho('TLSv1.3');
    const c = cli(['connect', `127.0.0.1:${srv.port}`, '--ca', 'other-ca.pem']);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(1);
    expect(c.err()).toMatch(
      new RegExp(`^error: connection to 127\\.0\\.0\\.1:${srv.port} failed: .*\\(code=UNABLE_TO_GET_ISSUER_CERT_LOCALLY, gnutlsName=-\\)$`, 'm'),
    );
    expect(c.err()).not.toMatch(/^- Connected/m);
    // As with Node's client: the connection closes before our Finished, with no alert, so
    // gnutls-serv's handshake never completes.
    await srv.waitFor(/Error in handshake/, WAIT);
    expect(srv.out() + srv.err()).not.toMatch(/fatal alert has been received/);
  });

  test('a hostname mismatch: ERR_TLS_CERT_ALTNAME_INVALID, exit 1; with --insecure the failure is reported and the session runs', async () => {
    const srv = await gnutlsEcho('TLSv1.2');
    const bad = cliConnect(srv.port, ['--servername', 'wrong.example']);
    bad.proc.stdin!.end();
    expect(await exitOf(bad)).toBe(1);
    expect(bad.err()).toMatch(/\(code=ERR_TLS_CERT_ALTNAME_INVALID, gnutlsName=-\)$/m);
    const insecure = cliConnect(srv.port, ['--servername', 'wrong.example', '--insecure']);
    await insecure.waitFor(/^- Verification: .*$/m, WAIT);
    expect(insecure.err()).toMatch(/^- Verification: FAILED: ERR_TLS_CERT_ALTNAME_INVALID \(ignored: --insecure\)$/m);
    insecure.proc.stdin!.write('anyway\n');
    await insecure.waitFor(/^anyway$/m, WAIT);
    insecure.proc.stdin!.end();
    expect(await exitOf(insecure)).toBe(0);
  });

  test('a server that requires a client certificate (gnutls-serv --require-client-cert): the alert is reported, exit 1', async () => {
    const srv = await gnutlsEcho('TLSv1.2', ['--require-client-cert', '--x509cafile', 'ca.pem']);
    const c = cliConnect(srv.port);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(1);
    expect(c.err()).toMatch(/\(code=ERR_SSL_[A-Z0-9_]+, gnutlsName=GNUTLS_E_FATAL_ALERT_RECEIVED, alert=[a-z_]+\)$/m);
  });
});

// ---- JSON output, HTTP mode -------------------------------------------------------------------------

describe('--json and --http', () => {
  test('serve --json ↔ connect --json (TLS 1.3, ALPN, **REAUTH**): every line parses; both report the same session', async () => {
    const srv = await cliServe(['--json', '--ca', 'ca.pem', '--alpn', 'h2,http/1.1']);
    const c = cliConnect(srv.port, ['--json', '--alpn', 'http/1.1', '--post-handshake-auth', ...CLIENT_CREDS]);
    await c.waitFor(/"event":"connected"/, WAIT);
    c.proc.stdin!.write('**REAUTH**\n');
    await c.waitFor(/^\*\*REAUTH\*\*$/m, WAIT);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(0);
    await srv.waitFor(/"event":"close"/, WAIT);
    await stop(srv);

    const server = jsonLines(srv.out());
    expect(server.map((e) => e.event)).toEqual(['listening', 'connection', 'secure', 'reauth', 'close', 'shutdown']);
    const [listening, connection, secure, reauth] = server;
    expect(listening).toMatchObject({ port: srv.port, mode: 'echo', alpn: ['h2', 'http/1.1'] });
    expect(connection).toMatchObject({ id: 1, remoteAddress: '127.0.0.1' });
    expect(secure).toMatchObject({ id: 1, protocol: 'TLSv1.3', alpn: 'http/1.1', servername: 'localhost', postHandshakeAuth: true, peerCertificate: null });
    expect(reauth).toMatchObject({ id: 1, ok: true, protocol: 'TLSv1.3', authorized: true, peerCertificate: { subject: CLIENT_SUBJECT } });
    expect(reauth.peerCertificate.fingerprint256).toBe(new X509Certificate(fixture('client.pem')).fingerprint256);

    const client = jsonLines(c.err());
    expect(client.map((e) => e.event)).toEqual(['connected', 'reauth-request', 'reauth', 'close']);
    const connected = client[0];
    expect(connected).toMatchObject({ protocol: 'TLSv1.3', alpn: 'http/1.1', authorized: true, authorizationError: null, clientCertificate: null });
    expect(connected.cipher).toBe(secure.cipher);
    expect(connected.peerCertificates.map((x: { fingerprint256: string }) => x.fingerprint256)).toEqual(
      ['server.pem', 'int.pem', 'ca.pem'].map((f) => new X509Certificate(fixture(f)).fingerprint256),
    );
    expect(client[2]).toMatchObject({ ok: true, certificate: CLIENT_SUBJECT });
    expect(client[3]).toMatchObject({ ok: true });
  });

  test('connect --json: a verification failure is one JSON error event with code and gnutlsName', async () => {
    const srv = await gnutlsEcho('TLSv1.3');
    const c = cli(['connect', `localhost:${srv.port}`, '--json', '--ca', 'other-ca.pem']);
    c.proc.stdin!.end();
    expect(await exitOf(c)).toBe(1);
    const events = jsonLines(c.err());
    expect(events.map((e) => e.event)).toEqual(['error', 'close']);
    expect(events[0]).toMatchObject({ stage: 'handshake', error: { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', gnutlsName: null } });
    expect(events[1]).toEqual({ event: 'close', ok: false });
  });

  test('serve --http --request-client-cert: curl gets a description of its session', async () => {
    const srv = await cliServe(['--http', '--request-client-cert', '--ca', 'ca.pem']);
    const curl = track(
      spawnPeer('curl', ['-sS', '--cacert', 'ca.pem', '--cert', 'client.pem', '--key', 'client.key', '--tlsv1.2', '--tls-max', '1.2', `https://localhost:${srv.port}/status`]),
    );
    expect(await exitOf(curl)).toBe(0);
    const body = curl.out();
    expect(body).toMatch(/^protocol: TLSv1\.2$/m);
    expect(body).toMatch(/^alpn: http\/1\.1$/m);
    expect(body).toMatch(/^servername: localhost$/m);
    expect(body).toMatch(new RegExp(`^client certificate: ${esc(CLIENT_SUBJECT)} \\(authorized\\)$`, 'm'));
    await srv.waitFor(/^\[1\] GET \/status$/m, WAIT);
    const cipher = /^\[1\] secure: TLSv1\.2, (\S+),/m.exec(srv.out())![1];
    expect(body).toContain(`cipher: ${cipher} (`);
  });
});

// ---- usage -------------------------------------------------------------------------------------------

describe('usage', () => {
  test.each([
    [[], 'Usage: node-gnutls <command>'],
    [['--help'], 'Usage: node-gnutls <command>'],
    [['serve', '--help'], 'Usage: node-gnutls serve [--port P] [--cert FILE --key FILE]'],
    [['connect', '--help'], 'Usage: node-gnutls connect HOST:PORT'],
    [['connect', '-h'], 'Usage: node-gnutls connect HOST:PORT'],
  ])('node-gnutls %j prints its usage, exit 0', (args, first) => {
    const r = cliSync(args as string[]);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(first)).toBe(true);
    expect(r.stderr).toBe('');
  });

  test.each([
    [['serve', '--port', '1', '--bogus'], "node-gnutls serve: unknown option '--bogus'"],
    [['connect', '127.0.0.1:1', '--nope'], "node-gnutls connect: unknown option '--nope'"],
    [['connect'], 'node-gnutls connect: HOST:PORT is required'],
    [['connect', 'no-port'], "node-gnutls connect: expected HOST:PORT (or [IPv6]:PORT), got 'no-port'"],
    [['serve', '--cert', 'server.pem'], 'node-gnutls serve: --cert and --key go together'],
    [['serve', ...SERVER_CREDS, '--port', '1', '--min-version', 'TLSv9'], 'node-gnutls serve: --min-version must be one of'],
    [['serve', ...SERVER_CREDS, '--port', '1', '--http', '--alpn', 'h2'], 'node-gnutls serve: --http speaks HTTP/1.1 only'],
    [['frobnicate'], "node-gnutls: unknown command 'frobnicate'"],
  ])('node-gnutls %j is a usage error, exit 2', (args, message) => {
    const r = cliSync(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stderr).toMatch(/Run 'node-gnutls( serve| connect)? --help' for usage\.\n$/);
    expect(r.stdout).toBe('');
  });

  test('connection refused: exit 1 with the code', () => {
    // A port that was free a moment ago; nothing listens on it.
    return freePort().then((port) => {
      const r = cliSync(['connect', `127.0.0.1:${port}`]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: connection to 127\\.0\\.0\\.1:${port} failed: .*\\(code=ECONNREFUSED, gnutlsName=-\\)$`, 'm'));
    });
  });
});
