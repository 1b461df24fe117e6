// Re-authentication, re-handshake and key update against real peers (gnutls-cli, gnutls-serv,
// Node's tls) and between our own client and server.
import * as net from 'net';
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { closeServer, fixture, fixturePath, gnutlsServ, listen, once, readAll, spawnPeer } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem'), ca };
const clientCert = { key: fixture('client.key'), cert: fixture('client.pem') };

/** gnutls-cli against 127.0.0.1:port; stdin stays open until the caller ends it. */
function gnutlsCli(port: number, version: '1.2' | '1.3', extra: string[]) {
  return spawnPeer('gnutls-cli', [
    '-p', String(port), '127.0.0.1', '--x509cafile', fixturePath('ca.pem'), '--sni-hostname', 'localhost',
    '--priority', `NORMAL:-VERS-ALL:+VERS-TLS${version}`, ...extra,
  ]);
}

describe('server reauth()', () => {
  test('TLS 1.3: gnutls-cli --post-handshake-auth answers; data before it is pre-auth and in order', async () => {
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const cli = gnutlsCli(port, '1.3', ['--post-handshake-auth', '--x509certfile', fixturePath('client.pem'), '--x509keyfile', fixturePath('client.key')]);
    const s = await secured;
    expect(s.postHandshakeAuthEnabled).toBe(true);
    expect(s.authorized).toBe(false);
    const seen: Array<[string, boolean]> = [];
    s.on('data', (d: Buffer) => seen.push([d.toString(), s.reauthPending]));
    cli.proc.stdin!.write('before\n');
    await new Promise((r) => setTimeout(r, 200));
    const cert = await s.reauth({ require: true, timeout: 5000 });
    expect(s.reauthPending).toBe(false);
    expect('subject' in cert && cert.subject.CN).toBe('client.node-gnutls');
    expect(s.authorized).toBe(true);
    expect(seen).toEqual([['before\n', false]]);
    s.write('after reauth\n');
    await cli.waitFor(/Re-auth was performed/);
    cli.proc.stdin!.end();
    await cli.waitFor(/after reauth/);
    s.destroy();
    await closeServer(server);
  });

  test('TLS 1.3: a client without post-handshake auth gets ERR_TLS_PHA_UNSUPPORTED, connection stays up', async () => {
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const cli = gnutlsCli(port, '1.3', []);
    const s = await secured;
    await expect(s.reauth()).rejects.toMatchObject({ code: 'ERR_TLS_PHA_UNSUPPORTED' });
    s.write('still here\n');
    cli.proc.stdin!.end();
    await cli.waitFor(/still here/);
    s.destroy();
    await closeServer(server);
  });

  test('TLS 1.3: gnutls-cli without a certificate: require rejects, request resolves with {}', async () => {
    for (const require of [false, true]) {
      const server = gtls.createServer(serverOpts);
      const port = await listen(server);
      const secured = once<gtls.TLSSocket>(server, 'secureConnection');
      const cli = gnutlsCli(port, '1.3', ['--post-handshake-auth']);
      const s = await secured;
      if (require) {
        const err = await s.reauth({ require: true, timeout: 5000 }).catch((e: gtls.TLSError) => e);
        expect(err).toBeInstanceOf(gtls.TLSError);
        // Node's code for a missing client certificate, as in a handshake; GnuTLS's name kept.
        expect((err as gtls.TLSError).code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
        expect((err as gtls.TLSError).gnutlsName).toMatch(/^GNUTLS_E_(CERTIFICATE_REQUIRED|NO_CERTIFICATE_FOUND)$/);
      } else {
        await expect(s.reauth({ timeout: 5000 })).resolves.toEqual({});
        expect(s.authorized).toBe(false);
        s.destroy();
      }
      cli.proc.stdin!.end();
      await cli.kill();
      await closeServer(server);
    }
  });

  test('TLS 1.2: reauth() re-handshakes with gnutls-cli and gets its certificate', async () => {
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const cli = gnutlsCli(port, '1.2', ['--x509certfile', fixturePath('client.pem'), '--x509keyfile', fixturePath('client.key')]);
    const s = await secured;
    expect(s.getProtocol()).toBe('TLSv1.2');
    expect(s.safeRenegotiation).toBe(true);
    const cert = await s.reauth({ require: true, timeout: 5000 });
    expect('subject' in cert && cert.subject.CN).toBe('client.node-gnutls');
    await cli.waitFor(/Rehandshake was performed/);
    cli.proc.stdin!.end();
    s.destroy();
    await closeServer(server);
  });
});

describe('our client answering servers', () => {
  test('TLS 1.3: gnutls-serv **REAUTH**: auto-answer with the configured certificate', async () => {
    const serv = await gnutlsServ([
      '--echo', '--x509certfile', 'server-chain.pem', '--x509keyfile', 'server.key', '--x509cafile', 'ca.pem',
      '--disable-client-cert', '--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.3',
    ]);
    const c = gtls.connect({ port: serv.port, host: '127.0.0.1', servername: 'localhost', ca, ...clientCert });
    await once(c, 'secureConnect');
    expect(c.postHandshakeAuthEnabled).toBe(true);
    const answered = once(c, 'reauth');
    c.write('**REAUTH**\n');
    await answered;
    await serv.waitFor(/Sending re-auth request/);
    // gnutls-serv switched to REQUIRE for this request; it prints `reauth: <error>` on failure.
    c.write('after\n');
    let echoed = '';
    c.on('data', (d: Buffer) => (echoed += d.toString()));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => echoed.includes('after') && (clearInterval(t), resolve()), 20);
    });
    expect(serv.out() + serv.err()).not.toMatch(/reauth:/);
    c.end();
    await serv.kill();
  });

  test('TLS 1.2: gnutls-serv **REHANDSHAKE** with its echo interleaved: re-handshake completes', async () => {
    // gnutls-serv sends its HelloRequest and then application data before the new handshake;
    // GnuTLS would restart a client re-handshake that meets it (gnutls-cli 3.7.9 fails here).
    const serv = await gnutlsServ([
      '--echo', '--x509certfile', 'server-chain.pem', '--x509keyfile', 'server.key', '--x509cafile', 'ca.pem',
      '--require-client-cert', '--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2',
    ]);
    const c = gtls.connect({ port: serv.port, host: '127.0.0.1', servername: 'localhost', ca, ...clientCert });
    await once(c, 'secureConnect');
    let received = '';
    c.on('data', (d: Buffer) => (received += d.toString()));
    const renegotiated = once(c, 'renegotiated');
    c.write('**REHANDSHAKE**\n');
    await renegotiated;
    c.write('after\n');
    await new Promise<void>((resolve) => {
      const t = setInterval(() => received.includes('after') && (clearInterval(t), resolve()), 20);
    });
    expect(received).toContain('Successfully executed command');
    await serv.waitFor(/Received hello message/);
    expect(serv.out() + serv.err()).not.toMatch(/Error in rehandshake/);
    c.end();
    await serv.kill();
  });

  test('TLS 1.3: reauthRequest event: decline() answers with no certificate', async () => {
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca, ...clientCert });
    c.on('reauthRequest', (req: gtls.ReauthRequest) => req.decline());
    const s = await secured;
    await expect(s.reauth({ timeout: 5000 })).resolves.toEqual({});
    const s2p = once<gtls.TLSSocket>(server, 'secureConnection');
    const c2 = gtls.connect({ port, servername: 'localhost', ca, ...clientCert });
    c2.on('reauthRequest', (req: gtls.ReauthRequest) => setTimeout(() => req.accept(), 10));
    const s2 = await s2p;
    const cert = await s2.reauth({ require: true, timeout: 5000 });
    expect('subject' in cert && cert.subject.CN).toBe('client.node-gnutls');
    c.destroy();
    c2.destroy();
    await closeServer(server);
  });

  test('TLS 1.2: Node server renegotiate() against our client', async () => {
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
      s.renegotiate({}, (err) => s.end(err ? `error ${err.message}` : 'renegotiated'));
    });
    const port = await listen(server);
    const c = gtls.connect({ port, servername: 'localhost', ca });
    const renegotiated = once(c, 'renegotiated');
    expect((await readAll(c)).toString()).toBe('renegotiated');
    await renegotiated;
    await closeServer(server);
  });

  test('TLS 1.2: our client renegotiate() against Node server, and a refusal from our server', async () => {
    const nodeServer = nodeTls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, () => {});
    const port = await listen(nodeServer);
    const c = gtls.connect({ port, servername: 'localhost', ca });
    await once(c, 'secureConnect');
    await new Promise<void>((resolve, reject) => c.renegotiate({}, (err) => (err ? reject(err) : resolve())));
    c.destroy();
    await closeServer(nodeServer);

    const ours = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2', renegotiation: 'refuse' }, () => {});
    const port2 = await listen(ours);
    const c2 = gtls.connect({ port: port2, servername: 'localhost', ca });
    await once(c2, 'secureConnect');
    await expect(c2.rehandshake()).rejects.toMatchObject({ code: 'ERR_TLS_RENEGOTIATION_REFUSED', alert: 'no_renegotiation' });
    c2.destroy();
    await closeServer(ours);
  });
});

describe('between our server and client', () => {
  test('TLS 1.2: rehandshake() and reauth(); a client refuse() rejects with ERR_TLS_RENEGOTIATION_REFUSED', async () => {
    const server = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' });
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca, ...clientCert });
    const s = await secured;
    await s.rehandshake({ timeout: 5000 });
    const cert = await s.reauth({ require: true, timeout: 5000 });
    expect('subject' in cert && cert.subject.CN).toBe('client.node-gnutls');
    c.on('rehandshakeRequest', (req: gtls.RehandshakeRequest) => {
      expect(req.safeRenegotiation).toBe(true);
      req.refuse();
    });
    await expect(s.rehandshake({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_TLS_RENEGOTIATION_REFUSED' });
    s.write('connection survives');
    const got = await once<Buffer>(c, 'data');
    expect(got.toString()).toBe('connection survives');
    c.destroy();
    await closeServer(server);
  });

  test('TLS 1.3: keyUpdate() and rehandshake() (key update asking the peer); peer sees keyUpdate', async () => {
    const server = gtls.createServer(serverOpts, (s) => s.pipe(s));
    const port = await listen(server);
    const c = gtls.connect({ port, servername: 'localhost', ca });
    await once(c, 'secureConnect');
    await c.keyUpdate({ requestPeer: true });
    c.write('x');
    await once(c, 'data');
    await c.rehandshake();
    c.write('y');
    expect((await once<Buffer>(c, 'data')).toString()).toBe('y');
    c.destroy();
    await closeServer(server);
  });

  test('TLS 1.3: a client certificate rejected after the handshake surfaces as an error with the alert', async () => {
    const server = gtls.createServer({ ...serverOpts, requestCert: true });
    const port = await listen(server);
    const serverErr = once<gtls.TLSError>(server, 'tlsClientError');
    const c = gtls.connect({ port, servername: 'localhost', ca });
    await once(c, 'secureConnect'); // TLS 1.3: the client is done before the server decided
    const err = await once<gtls.TLSError>(c, 'error'); // no read or write needed
    expect(err.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect(err.alert).toBe('certificate_required');
    expect((await serverErr).code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    expect((await serverErr).gnutlsName).toBe('GNUTLS_E_CERTIFICATE_REQUIRED');
    await closeServer(server);
  });

  test('TLS 1.3 reauth(): an untrusted certificate (openssl s_client -enable_pha) rejects and closes', async () => {
    // A GnuTLS client sends only a certificate whose issuer the server named; OpenSSL sends it anyway.
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const cli = spawnPeer('openssl', [
      's_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-enable_pha', '-servername', 'localhost',
      '-CAfile', 'ca.pem', '-cert', 'other-leaf.pem', '-key', 'other-leaf.key',
    ]);
    const s = await secured;
    await expect(s.reauth({ timeout: 5000 })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(s.authorized).toBe(false);
    expect(s.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(s.destroyed).toBe(true);
    await cli.kill();
    await closeServer(server);
  });

  test('timeouts: an unanswered reauth() and an ignored HelloRequest reject with their codes', async () => {
    const server13 = gtls.createServer(serverOpts);
    const port13 = await listen(server13);
    const s13p = once<gtls.TLSSocket>(server13, 'secureConnection');
    const c13 = gtls.connect({ port: port13, servername: 'localhost', ca, ...clientCert });
    c13.on('reauthRequest', () => {}); // never answered
    c13.on('error', () => {});
    const s13 = await s13p;
    await expect(s13.reauth({ timeout: 300 })).rejects.toMatchObject({ code: 'ERR_TLS_REAUTH_TIMEOUT' });
    c13.destroy();
    await closeServer(server13);

    const server12 = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' });
    const port12 = await listen(server12);
    const s12p = once<gtls.TLSSocket>(server12, 'secureConnection');
    const c12 = gtls.connect({ port: port12, servername: 'localhost', ca });
    c12.on('rehandshakeRequest', () => {}); // ignored
    const s12 = await s12p;
    await once(c12, 'secureConnect');
    await expect(s12.rehandshake({ timeout: 300 })).rejects.toMatchObject({ code: 'ERR_TLS_RENEGOTIATION_TIMEOUT' });
    expect(s12.destroyed).toBe(false); // an ignored HelloRequest leaves the connection usable
    s12.write('still usable');
    expect((await once<Buffer>(c12, 'data')).toString()).toBe('still usable');
    c12.destroy();
    await closeServer(server12);
  });

  test('autoReauth: false declines a re-auth request that has no listener', async () => {
    const server = gtls.createServer(serverOpts);
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca, ...clientCert, autoReauth: false });
    const s = await secured;
    expect(s.postHandshakeAuthEnabled).toBe(true);
    await expect(s.reauth({ timeout: 5000 })).resolves.toEqual({});
    c.destroy();
    await closeServer(server);
  });

  test('key update under TLS 1.2 is a typed error; reauth() on a client is a typed error', async () => {
    const server = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, () => {});
    const port = await listen(server);
    const c = gtls.connect({ port, servername: 'localhost', ca });
    await once(c, 'secureConnect');
    await expect(c.keyUpdate()).rejects.toMatchObject({ code: 'ERR_TLS_KEY_UPDATE_UNSUPPORTED' });
    await expect(c.reauth()).rejects.toMatchObject({ code: 'ERR_TLS_INVALID_STATE' });
    c.destroy();
    await closeServer(server);
  });

  test('queued operations run in order; destroy() rejects pending ones', async () => {
    const server = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' });
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca, ...clientCert });
    const s = await secured;
    const order: string[] = [];
    await Promise.all([
      s.rehandshake().then(() => order.push('first')),
      s.reauth().then(() => order.push('second')),
      s.rehandshake().then(() => order.push('third')),
    ]);
    expect(order).toEqual(['first', 'second', 'third']);
    c.on('rehandshakeRequest', () => {}); // never answered
    const pending = s.rehandshake();
    const queued = s.reauth();
    s.destroy();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    await expect(queued).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    c.destroy();
    await closeServer(server);
  });

  test('client-initiated renegotiation: accept policy, rate limit, disableRenegotiation()', async () => {
    const server = gtls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2', renegotiation: 'accept' });
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca });
    const s = await secured;
    await once(c, 'secureConnect');
    const serverErr = once<gtls.TLSError>(s, 'error');
    for (let i = 0; i < 3; i++) await c.rehandshake({ timeout: 5000 });
    c.rehandshake().catch(() => {});
    expect((await serverErr).code).toBe('ERR_TLS_SESSION_ATTACK');
    c.destroy();

    const secured2 = once<gtls.TLSSocket>(server, 'secureConnection');
    const c2 = gtls.connect({ port, servername: 'localhost', ca });
    const s2 = await secured2;
    await once(c2, 'secureConnect');
    s2.disableRenegotiation();
    const err2 = once<gtls.TLSError>(s2, 'error');
    c2.rehandshake().catch(() => {});
    expect((await err2).code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
    c2.destroy();
    await closeServer(server);
  });
});

describe('TLS 1.2 re-handshake: application data in the same read as the ClientHello', () => {
  // The peer is a bare GnuTLS client session driven by hand, so that its renegotiation ClientHello
  // and the application data it writes right after (GnuTLS allows that) leave in one TCP write.
  test('the server handshakes the held ClientHello first; rehandshake() resolves and the data arrives', async () => {
    const { binding } = await import('../lib/native');
    const E_REHANDSHAKE = -37;
    let got = '';
    let result: Promise<void> | undefined;
    const secured = new Promise<void>((resolve) => {
      const server = gtls.createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), maxVersion: 'TLSv1.2' }, (s) => {
        s.on('data', (d) => (got += d));
        s.on('error', () => undefined); // the test's end resets the connection
        result = s.rehandshake({ timeout: 5000 });
        resolve();
      });
      cleanup.push(() => closeServer(server));
      void listen(server).then((port) => {
        const ctx = gtls.createSecureContext({ ca: fixture('ca.pem'), maxVersion: 'TLSv1.2' });
        const cs = new binding.Session(ctx.context, false, 0);
        cs.setServerName('localhost');
        const sock = net.connect(port, '127.0.0.1');
        cleanup.push(() => {
          sock.destroy();
          cs.close();
        });
        const flush = (): void => {
          const o = cs.output();
          if (o) sock.write(o);
        };
        let established = false;
        let renegotiating = false;
        const step = (): void => {
          for (let i = 0; i < 100; i++) {
            if (!established || renegotiating) {
              const r = cs.handshake();
              flush();
              if (r !== 0) return;
              if (renegotiating) return;
              established = true;
            }
            const r = cs.recv(65536);
            if (typeof r !== 'number') continue;
            if (r !== E_REHANDSHAKE) return;
            renegotiating = true;
            cs.handshake(); // the ClientHello ...
            cs.send(Buffer.from('written right after the ClientHello')); // ... and data: one write
            flush();
          }
        };
        sock.on('connect', step);
        sock.on('data', (d: Buffer) => {
          cs.feed(d);
          step();
        });
        sock.on('error', () => undefined);
      });
    });
    await secured;
    await result;
    expect(got).toBe('written right after the ClientHello');
  });
});

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f(); // the client first, then the server
});
