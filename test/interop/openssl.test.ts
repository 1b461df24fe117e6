// Our TLSSocket/Server against OpenSSL's command-line tools (`openssl s_server` / `s_client`,
// OpenSSL 3.0), both roles, TLS 1.2 and TLS 1.3. Every check reads what the tool itself printed.
//
// Tool behaviour this file relies on (observed with OpenSSL 3.0):
// - s_server's `-cert` loads only the first certificate of a file; the intermediate goes in `-cert_chain`.
// - opensslServer() probes the port with a bare TCP connect, which s_server counts as a connection,
//   so `-naccept 1` would make it exit before our client arrives: the servers here are killed instead.
// - Application data received is written straight to stdout (unbuffered); s_client's and s_server's
//   handshake summaries are flushed when printed; but s_client's "Post-Handshake New Session Ticket
//   arrived" block goes to a block-buffered stdout and only shows up when s_client exits.
// - s_server answers a client whose ALPN list has nothing in common with `-alpn` with a fatal
//   no_application_protocol alert.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ConnectionOptions,
  Server,
  TLSError,
  TLSSocket,
  TlsOptions,
  connect,
  createSecureContext,
  createServer,
} from '../../lib';
import { VERSIONS, Peer, fixture, onCleanup, once, opensslServer, serveTracked, spawnPeer, tracked } from '../helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientOpts = { key: fixture('client.key'), cert: fixture('client.pem') };
const SERVER_CREDS = ['-key', 'server.key', '-cert', 'server.pem', '-cert_chain', 'int.pem'];
const WAIT = 8000;

// ---- cleanup: every peer and server a test starts is stopped after it, pass or fail ------------


/** `openssl s_server` on 127.0.0.1 (cwd test/fixtures), killed after the test. */
async function sServer(args: string[]): Promise<Peer & { port: number }> {
  const srv = await opensslServer(args);
  onCleanup(() => srv.kill());
  return srv;
}

/** `openssl s_client` against 127.0.0.1:port (cwd test/fixtures), killed after the test. */
function sClient(port: number, args: string[]): Peer {
  const cli = spawnPeer('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args]);
  onCleanup(() => cli.kill());
  return cli;
}

/** Our server on 127.0.0.1; after the test its connections are destroyed and it is closed. */
async function serve(
  options: TlsOptions,
  onSecure?: (s: TLSSocket) => void,
): Promise<{ server: Server; port: number; next: () => Promise<TLSSocket> }> {
  const server = createServer(options, onSecure);
  // Killing s_client at the end of a test may reset the connection (it can die with unread
  // data, e.g. a TLS 1.3 ticket): like Node's tls, an unhandled socket 'error' would be thrown.
  server.on('secureConnection', (s: TLSSocket) => s.on('error', () => {}));
  const { port, next } = await serveTracked<TLSSocket>(server, WAIT);
  return { server, port, next };
}

/** Our client; destroyed after the test. */
function client(options: ConnectionOptions): TLSSocket {
  return tracked(connect(options));
}

// ---- small helpers --------------------------------------------------------------------------

/** Everything a socket has received so far, and a way to wait for a pattern in it. */
function collector(sock: TLSSocket): { text: () => string; waitFor: (re: RegExp) => Promise<string> } {
  let text = '';
  const waiters = new Set<() => void>();
  sock.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) w();
  });
  const waitFor = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(text);
        if (!m) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(m[0]);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${re}; received so far: ${JSON.stringify(text)}`));
      }, WAIT);
      waiters.add(check);
      check();
    });
  return { text: () => text, waitFor };
}

/** The first capture group of `re` in what the peer printed (stdout + stderr). */
function grab(peer: Peer, re: RegExp): string | undefined {
  return re.exec(peer.out() + peer.err())?.[1];
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function waitForFile(file: string): Promise<string> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (/-----END SSL SESSION PARAMETERS-----/.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`${file} was not written`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(VERSIONS)('%s', (version) => {
  const vflag = version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3';
  const verifyingClient = ['-CAfile', 'ca.pem', '-servername', 'localhost', '-verify_return_error', vflag];

  // ---- our client ↔ openssl s_server ---------------------------------------------------------

  test('our client ↔ s_server: handshake, cipher as s_server reports it, data both ways, exporter', async () => {
    const label = 'EXPORTER-node-gnutls';
    const srv = await sServer([...SERVER_CREDS, vflag, '-keymatexport', label, '-keymatexportlen', '32']);
    // No version limits on our side: the version is the one s_server allows.
    const c = client({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
    const rx = collector(c);
    await once(c, 'secureConnect', WAIT);
    expect(c.authorized).toBe(true);
    expect(c.authorizationError).toBeNull();
    expect(c.getProtocol()).toBe(version);
    expect(c.getPeerCertificate().subject.CN).toBe('localhost');

    expect(await srv.waitFor(/CIPHER is \S+/, WAIT)).toBe(`CIPHER is ${c.getCipher()!.name}`);
    expect(c.getCipher()!.name).toMatch(version === 'TLSv1.3' ? /^TLS_AES_|^TLS_CHACHA20_/ : /^ECDHE-ECDSA-/);

    await srv.waitFor(/Keying material: [0-9A-F]{64}/, WAIT);
    expect(grab(srv, /Keying material: ([0-9A-F]+)/)).toBe(c.exportKeyingMaterial(32, label).toString('hex').toUpperCase());

    // us → s_server: it prints what it received on stdout.
    c.write(`hello from gnutls over ${version}\n`);
    await srv.waitFor(new RegExp(`^hello from gnutls over ${esc(version)}$`, 'm'), WAIT);
    // s_server → us: a line typed on its stdin.
    srv.proc.stdin!.write('hello from openssl s_server\n');
    await rx.waitFor(/hello from openssl s_server\n/);
    expect(rx.text()).toBe('hello from openssl s_server\n');

    // Our close_notify: s_server says DONE, shuts its side down, and our stream ends.
    const ended = once(c, 'end', WAIT);
    c.end();
    await ended;
    await srv.waitFor(/^DONE$/m, WAIT);
  });

  test('our client ↔ s_server: ALPN (server preference, mismatch alert) and SNI (-servername/-cert2)', async () => {
    const srv = await sServer([
      ...SERVER_CREDS,
      vflag,
      '-alpn',
      'h2,http/1.1',
      '-servername',
      'a.example.com',
      '-cert2',
      'a.example.pem',
      '-key2',
      'a.example.key',
    ]);
    const base = { port: srv.port, host: '127.0.0.1', ca };

    const c = client({ ...base, servername: 'localhost', ALPNProtocols: ['http/1.1', 'h2'] });
    await once(c, 'secureConnect', WAIT);
    expect(c.alpnProtocol).toBe('h2');
    expect(c.getProtocol()).toBe(version);
    expect(c.getPeerCertificate().subject.CN).toBe('localhost');
    await srv.waitFor(/ALPN protocols selected: \S+/, WAIT);
    expect(grab(srv, /ALPN protocols advertised by the client: (.*)/)).toBe('http/1.1, h2');
    expect(grab(srv, /ALPN protocols selected: (\S+)/)).toBe('h2');
    c.destroy();

    // Nothing in common: s_server refuses with a fatal no_application_protocol alert (120).
    const none = client({ ...base, servername: 'localhost', ALPNProtocols: ['x-other'] });
    const noneErr = await once<TLSError>(none, 'error', WAIT);
    expect(noneErr).toBeInstanceOf(TLSError);
    expect(noneErr.code).toBe('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    expect(noneErr.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect(noneErr.alertCode).toBe(120);
    expect(noneErr.alert).toMatch(/NO_APPLICATION_PROTOCOL/i);
    await srv.waitFor(/no application protocol/i, WAIT);

    // No ALPN offered: none negotiated.
    const plain = client({ ...base, servername: 'localhost' });
    await once(plain, 'secureConnect', WAIT);
    expect(plain.alpnProtocol).toBe(false);
    plain.destroy();

    // SNI: s_server switches to its second certificate for a.example.com.
    const a = client({ ...base, servername: 'a.example.com' });
    await once(a, 'secureConnect', WAIT);
    expect(a.authorized).toBe(true);
    expect(a.servername).toBe('a.example.com');
    expect(a.getPeerCertificate().subject.CN).toBe('a.example.com');
    await srv.waitFor(/Switching server context/, WAIT);
  });

  test('mutual TLS against s_server -Verify 1: our certificate is accepted and shown', async () => {
    const srv = await sServer([...SERVER_CREDS, vflag, '-Verify', '1', '-CAfile', 'ca.pem', '-verify_return_error']);
    const c = client({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca, ...clientOpts });
    const rx = collector(c);
    await once(c, 'secureConnect', WAIT);
    expect(c.authorized).toBe(true);
    expect(c.getProtocol()).toBe(version);
    expect(c.getCertificate()).toMatchObject({ subject: { CN: 'client.node-gnutls' } });
    c.write('mtls ping\n');
    await srv.waitFor(/^mtls ping$/m, WAIT);
    expect(srv.out()).toMatch(/^Client certificate\n-----BEGIN CERTIFICATE-----/m);
    expect(srv.out()).toMatch(/^subject=O = node-gnutls, CN = client\.node-gnutls$/m);
    expect(srv.out()).toMatch(/^issuer=O = node-gnutls, CN = node-gnutls Test CA$/m);
    expect(srv.err()).toMatch(/depth=0 O = node-gnutls, CN = client\.node-gnutls\nverify return:1/);
    srv.proc.stdin!.write('mtls pong\n');
    expect(await rx.waitFor(/mtls pong\n/)).toBe('mtls pong\n');
  });

  test('s_server -Verify 1 rejects our client without a certificate: typed TLSError with the alert', async () => {
    const srv = await sServer([...SERVER_CREDS, vflag, '-Verify', '1', '-CAfile', 'ca.pem', '-verify_return_error']);
    const c = client({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
    let secured = false;
    c.on('secureConnect', () => (secured = true));
    c.on('data', () => {});
    const err = await once<TLSError>(c, 'error', WAIT);
    // Under TLS 1.3 our handshake is over before the server reads our (empty) Certificate, so
    // the alert arrives after secureConnect; under TLS 1.2 it ends the handshake.
    expect(secured).toBe(version === 'TLSv1.3');
    expect(err).toBeInstanceOf(TLSError);
    expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect(err.code).toMatch(/^ERR_SSL_/);
    expect(err.gnutlsCode).toBe(-12);
    if (version === 'TLSv1.3') {
      expect(err.alertCode).toBe(116);
      expect(err.alert).toMatch(/CERTIFICATE_REQUIRED/i);
    } else {
      expect(err.alertCode).toBe(40);
      expect(err.alert).toMatch(/HANDSHAKE_FAILURE/i);
    }
    await srv.waitFor(/peer did not return a certificate/, WAIT);
    expect(srv.out()).not.toMatch(/^Client certificate$/m);
  });

  // ---- openssl s_client ↔ our server ---------------------------------------------------------

  test('s_client ↔ our server: verified handshake, stdin reaches us, our reply reaches its stdout', async () => {
    const { port, next } = await serve({ ...serverOpts, minVersion: version, maxVersion: version }, (s) => {
      s.on('data', (d: Buffer) => s.write(`reply to [${d.toString().trim()}] over ${s.getProtocol()}\n`));
    });
    const secured = next();
    const cli = sClient(port, verifyingClient);
    const s = await secured;
    expect(s.servername).toBe('localhost');
    expect(s.getProtocol()).toBe(version);
    expect(s.authorized).toBe(false); // no client certificate asked for

    await cli.waitFor(/Verify return code: .*/, WAIT);
    expect(grab(cli, /Verify return code: (.*)/)).toBe('0 (ok)');
    expect(grab(cli, /^New, (TLSv1\.[23]), Cipher is/m)).toBe(version);
    expect(grab(cli, /^New, TLSv1\.[23], Cipher is (\S+)/m)).toBe(s.getCipher()!.name);
    expect(cli.out()).toMatch(/^subject=O = node-gnutls, CN = localhost$/m);
    expect(cli.out()).toMatch(/^ 1 s:O = node-gnutls, CN = node-gnutls Intermediate CA$/m);

    const got = collector(s);
    cli.proc.stdin!.write('typed into s_client\n');
    expect(await got.waitFor(/typed into s_client\n/)).toBe('typed into s_client\n');
    await cli.waitFor(/reply to \[typed into s_client\] over \S+\n/, WAIT);
    expect(cli.out()).toContain(`\nreply to [typed into s_client] over ${version}\n`);

    // stdin EOF: s_client sends close_notify and leaves; our stream ends.
    const ended = once(s, 'end', WAIT);
    cli.proc.stdin!.end();
    await ended;
    expect(await cli.exited).toBe(0);
    expect(cli.err()).toMatch(/^DONE$/m); // s_client prints DONE on stderr
  });

  test('mutual TLS: s_client -cert is verified by our server; CN visible on both sides', async () => {
    const { port, next } = await serve(
      { ...serverOpts, ca, requestCert: true, rejectUnauthorized: true, maxVersion: version },
      (s) => s.write(`hello ${s.getPeerCertificate().subject.CN}\n`),
    );
    const secured = next();
    const cli = sClient(port, [...verifyingClient, '-cert', 'client.pem', '-key', 'client.key']);
    const s = await secured;
    expect(s.authorized).toBe(true);
    expect(s.authorizationError).toBeNull();
    expect(s.getPeerCertificate().subject.CN).toBe('client.node-gnutls');
    expect(s.getProtocol()).toBe(version);
    await cli.waitFor(/hello client\.node-gnutls\n/, WAIT);
    expect(grab(cli, /Verify return code: (.*)/)).toBe('0 (ok)');
    // Our CertificateRequest names the CA given in `ca`.
    expect(cli.out()).toMatch(/^Acceptable client certificate CA names\nO = node-gnutls, CN = node-gnutls Test CA$/m);
  });

  test('s_client without a certificate vs requestCert + rejectUnauthorized: tlsClientError, s_client sees the alert', async () => {
    const { server, port } = await serve({
      ...serverOpts,
      ca,
      requestCert: true,
      rejectUnauthorized: true,
      maxVersion: version,
    });
    let secureConnections = 0;
    server.on('secureConnection', () => secureConnections++);
    const clientError = once<TLSError>(server, 'tlsClientError', WAIT);
    const cli = sClient(port, verifyingClient);
    const err = await clientError;
    expect(err).toBeInstanceOf(TLSError);
    expect(err.code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    expect(err.gnutlsCode).toBeLessThan(0);
    expect(err.alert).toBeUndefined(); // we sent the alert, we did not receive one
    await cli.waitFor(/SSL alert number \d+/, WAIT);
    const alert = Number(grab(cli, /SSL alert number (\d+)/));
    if (version === 'TLSv1.3') {
      expect(err.gnutlsName).toBe('GNUTLS_E_CERTIFICATE_REQUIRED');
      expect(alert).toBe(116);
      expect(cli.err()).toMatch(/tlsv13 alert certificate required/);
    } else {
      // As OpenSSL's server, handshake_failure (gnutls-serv --require-client-cert sends decode_error).
      expect(err.gnutlsName).toBe('GNUTLS_E_NO_CERTIFICATE_FOUND');
      expect(alert).toBe(40);
      expect(cli.err()).toMatch(/sslv3 alert handshake failure/);
    }
    expect(secureConnections).toBe(0);
  });

  test('ALPN with s_client -alpn: our server preference wins; no offer means no ALPN', async () => {
    const { port, next } = await serve({ ...serverOpts, ALPNProtocols: ['h2', 'http/1.1'], maxVersion: version }, (s) =>
      s.write(`alpn=${String(s.alpnProtocol)}\n`),
    );
    for (const [offer, expected] of [
      ['http/1.1,h2', 'h2'],
      ['http/1.1', 'http/1.1'],
      [null, false],
    ] as Array<[string | null, string | false]>) {
      const secured = next();
      const cli = sClient(port, offer ? [...verifyingClient, '-alpn', offer] : verifyingClient);
      expect((await secured).alpnProtocol).toBe(expected);
      await cli.waitFor(/alpn=\S+\n/, WAIT);
      if (expected) expect(grab(cli, /^ALPN protocol: (\S+)$/m)).toBe(expected);
      else expect(cli.out()).toMatch(/^No ALPN negotiated$/m);
      await cli.kill();
    }
  });

  // Like Node's tls server (v20) and `openssl s_server -alpn`: a ClientHello whose ALPN list has
  // nothing in common with ALPNProtocols gets a fatal no_application_protocol alert.
  test('ALPN with no overlap: our server refuses like Node (no_application_protocol alert)', async () => {
    const { server, port } = await serve({ ...serverOpts, ALPNProtocols: ['h2', 'http/1.1'], maxVersion: version }, (s) =>
      s.write(`alpn=${String(s.alpnProtocol)}\n`),
    );
    const outcome = new Promise<string>((resolve) => {
      server.once('secureConnection', (s: TLSSocket) => resolve(`secureConnection alpn=${String(s.alpnProtocol)}`));
      server.once('tlsClientError', (e: TLSError) => resolve(`tlsClientError ${e.code}`));
    });
    const cli = sClient(port, [...verifyingClient, '-alpn', 'x-other']);
    expect(await outcome).toMatch(/^tlsClientError /);
    await cli.waitFor(/SSL alert number \d+/, WAIT);
    expect(grab(cli, /SSL alert number (\d+)/)).toBe('120');
  });

  test('SNI with s_client -servername: SNICallback and addContext pick the certificate', async () => {
    const a = createSecureContext({ key: fixture('a.example.key'), cert: fixture('a.example.pem') });
    const names: string[] = [];
    const bySni = await serve(
      {
        ...serverOpts,
        maxVersion: version,
        SNICallback: (name, cb) => {
          names.push(name);
          setTimeout(() => cb(null, name === 'a.example.com' ? a : undefined), 5);
        },
      },
      (s) => s.write(`sni=${String(s.servername)}\n`),
    );
    for (const [name, subject] of [
      ['a.example.com', 'subject=CN = a.example.com'],
      ['localhost', 'subject=O = node-gnutls, CN = localhost'],
    ]) {
      const cli = sClient(bySni.port, ['-CAfile', 'ca.pem', '-servername', name, '-verify_return_error', vflag]);
      await cli.waitFor(new RegExp(`sni=${esc(name)}\n`), WAIT);
      expect(cli.out()).toContain(`\n${subject}\n`);
      expect(grab(cli, /Verify return code: (.*)/)).toBe('0 (ok)');
      await cli.kill();
    }
    expect(names).toEqual(['a.example.com', 'localhost']);

    const byContext = await serve({ ...serverOpts, maxVersion: version }, (s) => s.write(`sni=${String(s.servername)}\n`));
    byContext.server.addContext('a.example.com', { key: fixture('a.example.key'), cert: fixture('a.example.pem') });
    const cli = sClient(byContext.port, ['-CAfile', 'ca.pem', '-servername', 'a.example.com', '-verify_return_error', vflag]);
    await cli.waitFor(/sni=a\.example\.com\n/, WAIT);
    expect(cli.out()).toMatch(/^subject=CN = a\.example\.com$/m);
    expect(grab(cli, /Verify return code: (.*)/)).toBe('0 (ok)');
  });

  test('session resumption: s_client -sess_out then -sess_in against our server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gnutls-openssl-'));
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sess = path.join(dir, 'session.pem');
    const { port, next } = await serve({ ...serverOpts, maxVersion: version }, (s) => s.write(`resumed=${s.isSessionReused()}\n`));

    const secured = next();
    const first = sClient(port, [...verifyingClient, '-sess_out', sess]);
    expect((await secured).isSessionReused()).toBe(false);
    await first.waitFor(/resumed=false\n/, WAIT);
    // s_client writes -sess_out when a session arrives: in TLS 1.3 that is our NewSessionTicket,
    // which comes after the handshake, before our data. Keep stdin open until the file is there.
    await waitForFile(sess);
    first.proc.stdin!.end();
    expect(await first.exited).toBe(0);
    expect(first.out()).toMatch(new RegExp(`^New, ${esc(version)}, Cipher is`, 'm'));
    if (version === 'TLSv1.3') {
      // Printed only now: this block goes through s_client's buffered stdout.
      expect(first.out()).toMatch(/Post-Handshake New Session Ticket arrived:/);
    }

    const secured2 = next();
    const second = sClient(port, [...verifyingClient, '-sess_in', sess]);
    const s2 = await secured2;
    expect(s2.isSessionReused()).toBe(true);
    expect(s2.getProtocol()).toBe(version);
    await second.waitFor(/resumed=true\n/, WAIT);
    expect(second.out()).toMatch(new RegExp(`^Reused, ${esc(version)}, Cipher is`, 'm'));
  });

  test('exportKeyingMaterial matches s_client -keymatexport for the same connection', async () => {
    const { port, next } = await serve({ ...serverOpts, maxVersion: version });
    const secured = next();
    const label = 'EXPORTER-openssl-interop';
    const cli = sClient(port, [...verifyingClient, '-keymatexport', label, '-keymatexportlen', '32']);
    const s = await secured;
    await cli.waitFor(/Keying material: [0-9A-F]+/, WAIT);
    expect(grab(cli, /Label: '(.*)'/)).toBe(label);
    expect(grab(cli, /Length: (\d+) bytes/)).toBe('32');
    const theirs = grab(cli, /Keying material: ([0-9A-F]+)/)!;
    expect(theirs).toHaveLength(64);
    expect(s.getProtocol()).toBe(version);
    expect(s.exportKeyingMaterial(32, label).toString('hex').toUpperCase()).toBe(theirs);
    // A different label gives different material: the comparison above is not vacuous.
    expect(s.exportKeyingMaterial(32, 'EXPORTER-other').toString('hex').toUpperCase()).not.toBe(theirs);
  });
});
