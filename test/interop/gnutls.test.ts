// Our TLSSocket/Server against GnuTLS's own command-line tools (`gnutls-serv` / `gnutls-cli`,
// GnuTLS 3.7.x), both roles, TLS 1.2 and TLS 1.3. Every check reads what the tool itself printed.
import * as nodeTls from 'tls';
import { connect, createServer, Server, TLSError, TLSSocket } from '../../lib';
import {
  VERSIONS,
  Peer,
  Version,
  closeServer,
  fixture,
  gnutlsClient,
  gnutlsPriority,
  gnutlsServ,
  listen,
  once,
  peerExit,
  spawnPeer,
  stopPeer,
} from '../helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientOpts = { key: fixture('client.key'), cert: fixture('client.pem') };
// gnutls-serv loads the whole chain from --x509certfile (paths relative to test/fixtures).
const SERV_CREDS = ['--x509keyfile', 'server.key', '--x509certfile', 'server-chain.pem'];

/** Everything a socket has received so far, and a way to wait for a pattern in it. */
function collector(sock: TLSSocket): { text: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  let text = '';
  const waiters: Array<() => void> = [];
  sock.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.slice()) w();
  });
  const waitFor = (re: RegExp, ms = 10000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(text);
        if (!m) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(m[0]);
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`timed out waiting for ${re}; received so far: ${JSON.stringify(text)}`));
      }, ms);
      waiters.push(check);
      check();
    });
  return { text: () => text, waitFor };
}


/** The first capture group of `re` in the peer's output (stdout + stderr). */
function grab(peer: Peer, re: RegExp): string | undefined {
  return re.exec(peer.out() + peer.err())?.[1];
}

/** Resolves with the server's next secureConnection socket. */
function nextSecure(server: Server): Promise<TLSSocket> {
  return once<TLSSocket>(server, 'secureConnection');
}

/**
 * Errors of the server's established sockets. As with Node's tls, a server socket without an
 * 'error' listener turns a transport error (EPIPE, ECONNRESET) into an uncaught exception.
 */
function socketErrors(server: Server): Error[] {
  const errors: Error[] = [];
  server.on('secureConnection', (s: TLSSocket) => s.on('error', (e: Error) => errors.push(e)));
  return errors;
}

/** 'TLS1.3' (GnuTLS's spelling) → 'TLSv1.3' (Node's). */
const nodeVersion = (gnutls: string | undefined): string | undefined => gnutls?.replace(/^TLS/, 'TLSv');
/** Letters and digits only: 'AES-256-GCM' and 'TLS_AES_256_GCM_SHA384' become comparable. */
const squash = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '').toUpperCase();

describe.each(VERSIONS)('%s', (version) => {
  const prio = gnutlsPriority(version);
  const escVersion = version.replace('.', '\\.');

  // ---- our client ↔ gnutls-serv ------------------------------------------------------------------

  test('our client ↔ gnutls-serv --echo: handshake, identity, echo; gnutls-serv reports the same session', async () => {
    const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', prio]);
    try {
      // No version limit on our side: the version is whatever gnutls-serv allowed.
      const c = connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
      const rx = collector(c);
      await once(c, 'secureConnect');
      expect(c.authorized).toBe(true);
      expect(c.authorizationError).toBeNull();
      expect(c.getProtocol()).toBe(version);
      expect(c.getPeerCertificate().subject.CN).toBe('localhost');
      const ourCipher = c.getCipher().name; // null once closed, as Node's
      const line = `echo me over ${version}\n`;
      c.write(line);
      expect(await rx.waitFor(new RegExp(`echo me over ${escVersion}\\n`))).toBe(line);
      c.end();
      await once(c, 'close');
      await stopPeer(srv);
      expect(srv.out()).toMatch(/^\* Accepted connection from IPv4 127\.0\.0\.1/m);
      expect(nodeVersion(grab(srv, /^- Version: (\S+)$/m))).toBe(version);
      expect(grab(srv, /^- Given server name\[1\]: (\S+)$/m)).toBe('localhost');
      // The cipher gnutls-serv negotiated is the one we report.
      const cipher = grab(srv, /^- Cipher: (\S+)$/m)!;
      expect(cipher).toMatch(/AES|CHACHA/);
      expect(squash(ourCipher)).toContain(squash(cipher));
      expect(srv.err()).toMatch(new RegExp(`received cmd: echo me over ${escVersion}`));
    } finally {
      await srv.kill();
    }
  });

  test('our client ↔ gnutls-serv --require-client-cert --verify-client-cert: our certificate is received and trusted', async () => {
    const srv = await gnutlsServ([
      '--echo',
      ...SERV_CREDS,
      '--priority',
      prio,
      '--require-client-cert',
      '--verify-client-cert',
      '--x509cafile',
      'ca.pem',
    ]);
    try {
      const c = connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca, ...clientOpts });
      const rx = collector(c);
      await once(c, 'secureConnect');
      expect(c.authorized).toBe(true);
      expect(c.getProtocol()).toBe(version);
      expect(c.getCertificate()).toMatchObject({ subject: { CN: 'client.node-gnutls' } });
      c.write('mtls ping\n');
      expect(await rx.waitFor(/mtls ping\n/)).toBe('mtls ping\n');
      c.end();
      await once(c, 'close');
      await stopPeer(srv);
      const out = srv.out();
      // The lone leaf in `cert` goes with its issuer from `ca`, as OpenSSL completes it for Node.
      expect(out).toMatch(/^- Got a certificate list of 2 certificates\.$/m);
      expect(out).toMatch(/^\tSubject: CN=client\.node-gnutls,O=node-gnutls$/m);
      expect(out).toMatch(/^- Status: The certificate is trusted\.\s*$/m);
      expect(nodeVersion(grab(srv, /^- Version: (\S+)$/m))).toBe(version);
      // The only handshake error gnutls-serv logs is the one of waitForPort's bare TCP probe.
      const errors = srv.err().match(/Error in handshake: .*/g) ?? [];
      expect(errors.filter((e) => !/non-properly terminated/.test(e))).toEqual([]);
    } finally {
      await srv.kill();
    }
  });

  test('gnutls-serv --require-client-cert rejects our client without a certificate: typed TLSError with the alert', async () => {
    const srv = await gnutlsServ([
      '--echo',
      ...SERV_CREDS,
      '--priority',
      prio,
      '--require-client-cert',
      '--x509cafile',
      'ca.pem',
    ]);
    try {
      const c = connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
      let secured = false;
      c.on('secureConnect', () => (secured = true));
      c.on('data', () => {});
      // Under TLS 1.3 the client's handshake is over before the server looks at its (empty)
      // Certificate message, so the failure arrives after secureConnect.
      const err = await once<TLSError>(c, 'error');
      expect(secured).toBe(version === 'TLSv1.3');
      expect(err).toBeInstanceOf(TLSError);
      expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
      expect(err.gnutlsCode).toBeLessThan(0);
      if (version === 'TLSv1.3') {
        expect(err.alertCode).toBe(116);
        expect(err.alert).toBe('certificate_required');
        await srv.waitFor(/Error in handshake: Certificate is required\./);
      } else {
        // GnuTLS answers a TLS 1.2 empty client Certificate with decode_error (50).
        expect(err.alertCode).toBe(50);
        expect(err.alert).toBe('decode_error');
        await srv.waitFor(/Error in handshake: No certificate was found\./);
      }
    } finally {
      await srv.kill();
    }
  });

  test('ALPN: our client ↔ gnutls-serv --alpn', async () => {
    const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', prio, '--alpn', 'x-other', '--alpn', 'http/1.1']);
    try {
      const c = connect({
        port: srv.port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      await once(c, 'secureConnect');
      expect(c.alpnProtocol).toBe('http/1.1');
      expect(c.getProtocol()).toBe(version);
      const rx = collector(c);
      c.write('alpn ping\n');
      await rx.waitFor(/alpn ping\n/);
      c.end();
      await once(c, 'close');

      // No ALPN offered: none negotiated.
      const plain = connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
      await once(plain, 'secureConnect');
      expect(plain.alpnProtocol).toBe(false);
      plain.resume();
      plain.end();
      await once(plain, 'close');

      await stopPeer(srv);
      const protocols = [...srv.out().matchAll(/^- Application protocol: (\S+)$/gm)].map((m) => m[1]);
      expect(protocols).toEqual(['http/1.1']);
    } finally {
      await srv.kill();
    }
  });

  // ---- gnutls-cli ↔ our server -------------------------------------------------------------------

  test('gnutls-cli ↔ our server: verified handshake, stdin line echoed back, same session on both sides', async () => {
    // No version limit on our side: the version is whatever gnutls-cli's priority allowed.
    const server = createServer(serverOpts, (s) => s.pipe(s));
    const errors = socketErrors(server);
    const port = await listen(server);
    const secured = nextSecure(server);
    const cli = gnutlsClient(port, version);
    try {
      const line = `typed into gnutls-cli over ${version}`;
      cli.proc.stdin!.end(`${line}\n`);
      const s = await secured;
      expect(s.getProtocol()).toBe(version);
      const ourCipher = s.getCipher().name; // null once closed, as Node's
      expect(s.servername).toBe('localhost');
      expect(s.authorized).toBe(false); // no client certificate requested
      // gnutls-cli ends with close_notify after stdin's EOF, reads our echo and leaves.
      expect(await peerExit(cli)).toBe(0);
      const out = cli.out() + cli.err();
      expect(out).toMatch(/^- Status: The certificate is trusted\.\s*$/m);
      expect(out).toMatch(/^- Handshake was completed$/m);
      expect(out).toMatch(/^ - subject `CN=localhost,O=node-gnutls', issuer `CN=node-gnutls Intermediate CA,O=node-gnutls'/m);
      expect(out).toContain(`\n${line}\n`);
      const desc = grab(cli, /^- Description: \((TLS1\.[23])-X\.509\)-.*-\(([A-Z0-9-]+)\)$/m);
      expect(nodeVersion(desc)).toBe(version);
      const cipher = /^- Description: .*-\(([A-Z0-9-]+)\)$/m.exec(out)![1];
      expect(squash(ourCipher)).toContain(squash(cipher));
      if (version === 'TLSv1.3') expect(ourCipher).toMatch(/^TLS_/);
      else expect(ourCipher).toMatch(/^ECDHE-ECDSA-/);
      expect(errors).toEqual([]);
    } finally {
      await cli.kill();
      await closeServer(server);
    }
  });

  test('mutual TLS: gnutls-cli --x509certfile is verified by our server; CN visible', async () => {
    const server = createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: true }, (s) => {
      s.write(`hello ${s.getPeerCertificate().subject.CN}\n`);
      s.pipe(s);
    });
    const errors = socketErrors(server);
    const port = await listen(server);
    const secured = nextSecure(server);
    const cli = gnutlsClient(port, version, ['--x509certfile', 'client.pem', '--x509keyfile', 'client.key']);
    try {
      cli.proc.stdin!.end('mtls line\n');
      const s = await secured;
      expect(s.authorized).toBe(true);
      expect(s.authorizationError).toBeNull();
      expect(s.getPeerCertificate().subject.CN).toBe('client.node-gnutls');
      expect(s.getProtocol()).toBe(version);
      expect(await peerExit(cli)).toBe(0);
      const out = cli.out() + cli.err();
      // gnutls-cli 3.7.9 prints this line only under TLS 1.3 (with gnutls-serv as well).
      if (version === 'TLSv1.3') expect(out).toMatch(/^- Server has requested a certificate\.$/m);
      expect(out).toMatch(/^- Successfully sent 1 certificate\(s\) to server\.$/m);
      expect(out).toContain('\nhello client.node-gnutls\n');
      expect(out).toContain('\nmtls line\n');
      expect(errors).toEqual([]);
    } finally {
      await cli.kill();
      await closeServer(server);
    }
  });

  test('gnutls-cli without a certificate against requestCert + rejectUnauthorized: tlsClientError, gnutls-cli fails', async () => {
    const server = createServer({ ...serverOpts, ca, requestCert: true, rejectUnauthorized: true });
    let secureConnections = 0;
    server.on('secureConnection', (s) => {
      secureConnections++;
      s.end('should not happen\n');
    });
    const port = await listen(server);
    const clientError = once<TLSError>(server, 'tlsClientError');
    const cli = gnutlsClient(port, version);
    try {
      const err = await clientError;
      expect(err).toBeInstanceOf(TLSError);
      expect(err.code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
      expect(err.gnutlsCode).toBeLessThan(0);
      cli.proc.stdin!.end('never echoed\n');
      expect(await peerExit(cli)).not.toBe(0);
      const out = cli.out() + cli.err();
      expect(out).toMatch(/^- Successfully sent 0 certificate\(s\) to server\.$/m);
      const alert = Number(grab(cli, /\*\*\* Received alert \[(\d+)\]/));
      if (version === 'TLSv1.3') {
        expect(err.gnutlsName).toBe('GNUTLS_E_CERTIFICATE_REQUIRED');
        expect(alert).toBe(116);
        expect(out).toMatch(/\*\*\* Received alert \[116\]: Certificate is required/);
      } else {
        // handshake_failure, as OpenSSL's server sends (gnutls-serv sends decode_error).
        expect(err.gnutlsName).toBe('GNUTLS_E_NO_CERTIFICATE_FOUND');
        expect(alert).toBe(40);
        expect(out).toMatch(/\*\*\* Received alert \[40\]: Handshake failed/);
      }
      expect(out).not.toContain('never echoed');
      expect(out).not.toContain('should not happen');
      expect(secureConnections).toBe(0);
    } finally {
      await cli.kill();
      await closeServer(server);
    }
  });

  test('gnutls-cli refuses our server presenting a certificate it does not trust', async () => {
    const server = createServer({ key: fixture('self-signed.key'), cert: fixture('self-signed.pem') }, (s) => s.pipe(s));
    let secureConnections = 0;
    server.on('secureConnection', () => secureConnections++);
    const clientError = once<TLSError>(server, 'tlsClientError');
    const port = await listen(server);
    const cli = gnutlsClient(port, version);
    try {
      cli.proc.stdin!.end('never sent\n');
      // gnutls-cli aborts its handshake with a bad_certificate alert, which our server reports.
      const err = await clientError;
      expect(err).toBeInstanceOf(TLSError);
      expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
      expect(err.alertCode).toBe(42);
      expect(err.alert).toBe('bad_certificate');
      const code = await peerExit(cli);
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      const out = cli.out() + cli.err();
      expect(out).toMatch(/^ - subject `CN=localhost', issuer `CN=localhost'/m);
      expect(out).toMatch(/^- Status: The certificate is NOT trusted\. The certificate issuer is unknown\.\s*$/m);
      expect(out).toMatch(/\*\*\* PKI verification of server certificate failed/);
      expect(out).not.toMatch(/^- Handshake was completed$/m);
      expect(out).not.toContain('never sent');
      expect(secureConnections).toBe(0);
    } finally {
      await cli.kill();
      await closeServer(server);
    }
  });

  test('ALPN: gnutls-cli --alpn h2 against our server preferring http/1.1, h2', async () => {
    const server = createServer({ ...serverOpts, ALPNProtocols: ['http/1.1', 'h2'] }, (s) => {
      s.write(`alpn=${String(s.alpnProtocol)}\n`);
      s.pipe(s);
    });
    const errors = socketErrors(server);
    const port = await listen(server);
    try {
      const secured = nextSecure(server);
      const cli = gnutlsClient(port, version, ['--alpn', 'h2']);
      cli.proc.stdin!.end();
      const s = await secured;
      expect(s.alpnProtocol).toBe('h2');
      expect(s.getProtocol()).toBe(version);
      expect(await peerExit(cli)).toBe(0);
      expect(grab(cli, /^- Application protocol: (\S+)$/m)).toBe('h2');
      expect(cli.out()).toContain('\nalpn=h2\n');

      // Both offered: our (server) preference wins.
      const secured2 = nextSecure(server);
      const cli2 = gnutlsClient(port, version, ['--alpn', 'h2', '--alpn', 'http/1.1']);
      cli2.proc.stdin!.end();
      expect((await secured2).alpnProtocol).toBe('http/1.1');
      expect(await peerExit(cli2)).toBe(0);
      expect(grab(cli2, /^- Application protocol: (\S+)$/m)).toBe('http/1.1');
      expect(cli2.out()).toContain('\nalpn=http/1.1\n');
      expect(errors).toEqual([]);
    } finally {
      await closeServer(server);
    }
  });

  test('session resumption: gnutls-cli --resume against our server', async () => {
    const server = createServer(serverOpts, (s) => {
      s.write(`resumed=${s.isSessionReused()}\n`);
      s.pipe(s);
    });
    const sockets: TLSSocket[] = [];
    // Read while connected: after close they answer null, as Node's.
    const seen: Array<[boolean, string | null]> = [];
    server.on('secureConnection', (s) => {
      sockets.push(s);
      seen.push([s.isSessionReused(), s.getProtocol()]);
    });
    // gnutls-cli drops the first connection as soon as it has a session to resume, so our
    // greeting may meet a closed TCP connection there (EPIPE / ECONNRESET), never on the second.
    const errors: Array<[number, Error]> = [];
    server.on('secureConnection', (s: TLSSocket) => {
      const i = sockets.indexOf(s);
      s.on('error', (e: Error) => errors.push([i, e]));
    });
    const port = await listen(server);
    const cli = gnutlsClient(port, version, ['--resume']);
    try {
      cli.proc.stdin!.end('after resumption\n');
      expect(await peerExit(cli)).toBe(0);
      const out = cli.out() + cli.err();
      expect(out).toMatch(/^- Connecting again- trying to resume previous session$/m);
      expect(out).toMatch(/^- Resume Handshake was completed$/m);
      expect(out).toMatch(/^\*\*\* This is a resumed session$/m);
      expect(out).not.toMatch(/This is NOT a resumed session/);
      expect(out).toContain('\nafter resumption\n');
      expect(seen).toEqual([
        [false, version],
        [true, version],
      ]);
      // The second connection's line came from our resumed socket.
      expect(out).toMatch(/resumed=true/);
      const descs = [...out.matchAll(/^- Description: \((TLS1\.[23])-/gm)].map((m) => nodeVersion(m[1]));
      expect(descs).toEqual([version, version]);
      for (const [i, e] of errors) {
        expect(i).toBe(0);
        expect((e as Error & { code?: string }).code).toMatch(/^(EPIPE|ECONNRESET)$/);
      }
    } finally {
      await cli.kill();
      await closeServer(server);
    }
  });
});

// A readable side ended by the peer (close_notify, then FIN) must emit 'end' and then 'close' even
// when nobody reads: Node's net/tls sockets call read(0) after push(null) for exactly this. A server
// that answers with s.end(...) and never reads is the common case. TLS 1.3 only, to keep it short.
describe("stream ends like Node's tls when the socket is never read (TLS 1.3)", () => {
  const version: Version = 'TLSv1.3';
  const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  /** Server side: `serve` answers with end() and never reads; gnutls-cli closes politely. */
  async function serverEvents(make: (l: (s: TLSSocket) => void) => Server): Promise<{ events: string[]; destroyed: boolean; out: string }> {
    const server = make((s) => s.end('bye\n'));
    const port = await listen(server);
    const secured = nextSecure(server);
    const cli = gnutlsClient(port, version);
    const events: string[] = [];
    let sock: TLSSocket | undefined;
    try {
      sock = await secured;
      sock.on('end', () => events.push('end'));
      sock.on('close', () => events.push('close'));
      sock.on('error', (e: Error) => events.push(`error ${(e as Error & { code?: string }).code}`));
      cli.proc.stdin!.end();
      await peerExit(cli);
      await closeServer(server); // resolves once the TCP connection is closed
      await settle(200);
      return { events, destroyed: sock.destroyed, out: cli.out() };
    } finally {
      sock?.destroy();
      await cli.kill();
    }
  }

  test("reference: Node's tls server socket emits 'end' and 'close'", async () => {
    const r = await serverEvents((l) => nodeTls.createServer(serverOpts, l as never) as unknown as Server);
    expect(r.out).toContain('\nbye\n');
    expect(r.events).toEqual(['end', 'close']);
    expect(r.destroyed).toBe(true);
  });

  // A socket nobody reads still emits 'end' and 'close' once the peer has closed.
  test("our server socket emits 'end' and 'close' after gnutls-cli's close_notify and FIN", async () => {
    const r = await serverEvents((l) => createServer(serverOpts, l));
    expect(r.out).toContain('\nbye\n');
    expect(r.events).toEqual(['end', 'close']);
    expect(r.destroyed).toBe(true);
  });

  /** Client side: end() right after secureConnect, never read; gnutls-serv answers close_notify and closes. */
  async function clientEvents(make: typeof connect): Promise<{ events: string[]; destroyed: boolean }> {
    const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', gnutlsPriority(version)]);
    const c = make({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca });
    try {
      const events: string[] = [];
      c.on('end', () => events.push('end'));
      c.on('close', () => events.push('close'));
      c.on('error', (e: Error) => events.push(`error ${(e as Error & { code?: string }).code}`));
      await once(c, 'secureConnect');
      c.end();
      await settle(500);
      return { events, destroyed: c.destroyed };
    } finally {
      c.destroy();
      await srv.kill();
    }
  }

  test("reference: Node's tls client emits 'end' and 'close'", async () => {
    const r = await clientEvents(nodeTls.connect as unknown as typeof connect);
    expect(r.events).toEqual(['end', 'close']);
    expect(r.destroyed).toBe(true);
  });

  test("our client that ends without reading emits 'end' and 'close' once gnutls-serv has closed", async () => {
    const r = await clientEvents(connect);
    expect(r.events).toEqual(['end', 'close']);
    expect(r.destroyed).toBe(true);
  });
});
