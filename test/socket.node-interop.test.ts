// Our TLSSocket/Server against Node's own tls (OpenSSL), both roles, TLS 1.2 and 1.3.
import * as nodeTls from 'tls';
import * as gtls from '../lib';
import { VERSIONS, closeServer, fixture, listen, once, readAll, sha256 } from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const clientOpts = { key: fixture('client.key'), cert: fixture('client.pem') };

describe.each(VERSIONS)('%s', (version) => {
  test('our client ↔ Node server: handshake, identity, echo, close_notify', async () => {
    const server = nodeTls.createServer({ ...serverOpts, minVersion: version, maxVersion: version }, (s) => s.pipe(s));
    const port = await listen(server);
    const c = gtls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(c.authorizationError).toBeNull();
    expect(c.getProtocol()).toBe(version);
    expect(c.encrypted).toBe(true);
    const cipher = c.getCipher()!;
    expect(cipher.version).toMatch(/^TLSv1\.[23]$/);
    expect(cipher.name).toMatch(/AES|CHACHA/);
    const peer = c.getPeerCertificate(true);
    expect(peer.subject.CN).toBe('localhost');
    expect(peer.subjectaltname).toContain('DNS:localhost');
    expect(peer.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Buffer.isBuffer(peer.raw)).toBe(true);
    expect(peer.issuerCertificate.subject.CN).toBe('node-gnutls Intermediate CA');
    expect(peer.issuerCertificate.issuerCertificate.subject.CN).toBe('node-gnutls Test CA');
    expect(c.remotePort).toBe(port);
    expect(c.remoteAddress).toBe('127.0.0.1');
    c.end('ping over ' + version);
    const echoed = await readAll(c);
    expect(echoed.toString()).toBe('ping over ' + version);
    await closeServer(server);
  });

  test('Node client ↔ our server: handshake, cipher names agree, echo', async () => {
    const server = gtls.createServer({ ...serverOpts, minVersion: version, maxVersion: version }, (s) => s.pipe(s));
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    await once(c, 'secureConnect');
    const s = await secured;
    expect(c.authorized).toBe(true);
    expect(c.getProtocol()).toBe(version);
    expect(s.getProtocol()).toBe(version);
    expect(s.getCipher()!.standardName).toBe(c.getCipher().standardName);
    expect(s.getCipher()!.name).toBe(c.getCipher().name);
    expect(s.servername).toBe('localhost');
    expect(s.authorized).toBe(false); // no client certificate requested
    c.end('hello from node');
    expect((await readAll(c)).toString()).toBe('hello from node');
    await closeServer(server);
  });

  test('mutual TLS both ways: client certificate verified and visible', async () => {
    const server = gtls.createServer(
      { ...serverOpts, ca, requestCert: true, rejectUnauthorized: true, minVersion: version, maxVersion: version },
      (s) => s.end(s.getPeerCertificate().subject.CN),
    );
    const port = await listen(server);
    const secured = once<gtls.TLSSocket>(server, 'secureConnection');
    const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...clientOpts });
    expect((await readAll(c)).toString()).toBe('client.node-gnutls');
    const s = await secured;
    expect(s.authorized).toBe(true);
    await closeServer(server);

    const nodeServer = nodeTls.createServer(
      { ...serverOpts, ca, requestCert: true, rejectUnauthorized: true, maxVersion: version },
      (sock) => sock.end(`${sock.authorized}:${sock.getPeerCertificate().subject.CN}`),
    );
    const port2 = await listen(nodeServer);
    const ours = gtls.connect({ port: port2, host: '127.0.0.1', servername: 'localhost', ca, ...clientOpts });
    expect((await readAll(ours)).toString()).toBe('true:client.node-gnutls');
    await closeServer(nodeServer);
  });

  test('server requiring a client certificate rejects a client without one', async () => {
    const server = gtls.createServer({
      ...serverOpts,
      ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: version,
      maxVersion: version,
    });
    server.on('secureConnection', (s) => s.end('should not happen'));
    const port = await listen(server);
    const clientError = once<gtls.TLSError>(server, 'tlsClientError');
    const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    c.on('data', () => {});
    const err = await once<Error & { code?: string }>(c, 'error');
    expect(err.code).toMatch(/ERR_SSL|ECONNRESET/);
    const serverErr = await clientError;
    expect(serverErr).toBeInstanceOf(gtls.TLSError);
    expect(serverErr.code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    expect(serverErr.gnutlsName).toMatch(/^GNUTLS_E_/);
    await closeServer(server);
  });

  test('requestCert without rejectUnauthorized: authorized=false and Node-style reason', async () => {
    const server = gtls.createServer({
      ...serverOpts,
      ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
    });
    server.on('secureConnection', (s) => s.end(`${s.authorized}:${s.authorizationError}`));
    const port = await listen(server);
    const c = nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    expect((await readAll(c)).toString()).toBe('false:UNABLE_TO_GET_ISSUER_CERT');
    await closeServer(server);
  });

  test('ALPN: server preference wins, alpnProtocol on both sides', async () => {
    const server = gtls.createServer({ ...serverOpts, ALPNProtocols: ['h2', 'http/1.1'], maxVersion: version });
    server.on('secureConnection', (s) => s.end(String(s.alpnProtocol)));
    const port = await listen(server);
    const c = nodeTls.connect({ port, servername: 'localhost', ca, ALPNProtocols: ['http/1.1', 'h2'] });
    await once(c, 'secureConnect');
    expect(c.alpnProtocol).toBe('h2');
    expect((await readAll(c)).toString()).toBe('h2');
    await closeServer(server);

    const nodeServer = nodeTls.createServer({ ...serverOpts, ALPNProtocols: ['x-proto', 'http/1.1'], maxVersion: version }, (s) =>
      s.end(),
    );
    const port2 = await listen(nodeServer);
    const ours = gtls.connect({ port: port2, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
    await once(ours, 'secureConnect');
    expect(ours.alpnProtocol).toBe('http/1.1');
    ours.destroy();
    const ours2 = gtls.connect({ port: port2, servername: 'localhost', ca });
    await once(ours2, 'secureConnect');
    expect(ours2.alpnProtocol).toBe(false);
    ours2.destroy();
    await closeServer(nodeServer);
  });

  test('SNI: SNICallback (async) and addContext pick the certificate', async () => {
    const a = gtls.createSecureContext({ key: fixture('a.example.key'), cert: fixture('a.example.pem') });
    const server = gtls.createServer({
      ...serverOpts,
      maxVersion: version,
      SNICallback: (name, cb) => setTimeout(() => cb(null, name === 'a.example.com' ? a : undefined), 5),
    });
    server.addContext('*.example.com', { key: fixture('b.example.key'), cert: fixture('b.example.pem') });
    server.on('secureConnection', (s) => s.end(String(s.servername)));
    const port = await listen(server);
    for (const [name, cn] of [
      ['a.example.com', 'a.example.com'],
      ['localhost', 'localhost'],
    ]) {
      const c = nodeTls.connect({ port, host: '127.0.0.1', servername: name, ca });
      await once(c, 'secureConnect');
      expect(c.getPeerCertificate().subject.CN).toBe(cn);
      expect((await readAll(c)).toString()).toBe(name);
    }
    await closeServer(server);

    const byContext = gtls.createServer({ ...serverOpts, maxVersion: version });
    byContext.addContext('*.example.com', { key: fixture('b.example.key'), cert: fixture('b.example.pem') });
    byContext.on('secureConnection', (s) => s.end());
    const port2 = await listen(byContext);
    const c2 = nodeTls.connect({ port: port2, servername: 'b.example.com', ca });
    await once(c2, 'secureConnect');
    expect(c2.getPeerCertificate().subject.CN).toBe('b.example.com');
    c2.destroy();
    await closeServer(byContext);
  });

  test('session resumption with tickets: our client against our server and Node server', async () => {
    for (const makeServer of [
      () => gtls.createServer({ ...serverOpts, maxVersion: version }, (s) => s.end('x')),
      () => nodeTls.createServer({ ...serverOpts, maxVersion: version }, (s) => s.end('x')),
    ]) {
      const server = makeServer();
      const port = await listen(server);
      const first = gtls.connect({ port, servername: 'localhost', ca });
      const session = await once<Buffer>(first, 'session');
      expect(first.isSessionReused()).toBe(false);
      await readAll(first);
      const second = gtls.connect({ port, servername: 'localhost', ca, session });
      await once(second, 'secureConnect');
      expect(second.isSessionReused()).toBe(true);
      expect(second.getProtocol()).toBe(version);
      await readAll(second);
      await closeServer(server);
    }
  });

  test('Node client resumes a session on our server', async () => {
    const server = gtls.createServer({ ...serverOpts, maxVersion: version }, (s) => s.end('x'));
    const port = await listen(server);
    const first = nodeTls.connect({ port, servername: 'localhost', ca });
    const session = await once<Buffer>(first, 'session');
    await readAll(first);
    const second = nodeTls.connect({ port, servername: 'localhost', ca, session });
    await once(second, 'secureConnect');
    expect(second.isSessionReused()).toBe(true);
    await readAll(second);
    await closeServer(server);
  });

  test('keylog lines (NSS format) are the ones Node logs for the same connection', async () => {
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: version }, (sock) => sock.end());
    const theirs: string[] = [];
    server.on('keylog', (line: Buffer) => theirs.push(line.toString()));
    const port = await listen(server);
    const ours: string[] = [];
    const c = gtls.connect({ port, servername: 'localhost', ca });
    c.on('keylog', (line: Buffer) => ours.push(line.toString()));
    await readAll(c);
    await closeServer(server);
    expect(ours.length).toBeGreaterThan(0);
    for (const line of ours) expect(line).toMatch(/^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+\n$/);
    expect([...ours].sort()).toEqual([...theirs].sort());
  });

  test('exportKeyingMaterial and Finished messages agree with Node', async () => {
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: version }, () => {});
    const port = await listen(server);
    const theirs = once<nodeTls.TLSSocket>(server, 'secureConnection');
    const c = gtls.connect({ port, servername: 'localhost', ca });
    await once(c, 'secureConnect');
    const s = await theirs;
    const ctx = Buffer.from('context');
    expect(c.exportKeyingMaterial(32, 'EXPORTER-test', ctx)).toEqual(s.exportKeyingMaterial(32, 'EXPORTER-test', ctx));
    // Node's typings demand a context, but its runtime (like RFC 5705) allows none.
    const nodeNoContext = s.exportKeyingMaterial as (length: number, label: string) => Buffer;
    expect(c.exportKeyingMaterial(16, 'EXPORTER-other')).toEqual(nodeNoContext.call(s, 16, 'EXPORTER-other'));
    expect(c.getFinished()).toEqual(s.getPeerFinished());
    expect(c.getPeerFinished()).toEqual(s.getFinished());
    c.destroy();
    await closeServer(server);
  });
});

describe('verification failures (our client against Node servers)', () => {
  const cases: Array<[string, object, string, object]> = [
    ['self-signed', { key: fixture('self-signed.key'), cert: fixture('self-signed.pem') }, 'DEPTH_ZERO_SELF_SIGNED_CERT', {}],
    ['chain with untrusted root', { key: fixture('other-leaf.key'), cert: fixture('other-leaf-chain.pem') }, 'SELF_SIGNED_CERT_IN_CHAIN', {}],
    ['unknown issuer', { key: fixture('other-leaf.key'), cert: fixture('other-leaf.pem') }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', {}],
    ['expired', { key: fixture('expired.key'), cert: fixture('expired.pem') }, 'CERT_HAS_EXPIRED', {}],
    ['not yet valid', { key: fixture('notyet.key'), cert: fixture('notyet.pem') }, 'CERT_NOT_YET_VALID', {}],
    ['wrong host', { key: fixture('wronghost.key'), cert: fixture('wronghost.pem') }, 'ERR_TLS_CERT_ALTNAME_INVALID', {}],
    ['revoked (CRL)', { key: fixture('revoked.key'), cert: fixture('revoked.pem') }, 'CERT_REVOKED', { crl: fixture('ca.crl') }],
  ];

  test.each(cases)('%s', async (_name, opts, code, extra) => {
    const server = nodeTls.createServer(opts, (s) => s.end('data'));
    const port = await listen(server);
    // Node's own verdict for the same server, as the reference.
    const node = nodeTls.connect({ port, servername: 'localhost', ca, ...extra });
    const nodeErr = await once<Error & { code: string }>(node, 'error');
    expect(nodeErr.code).toBe(code);

    const c = gtls.connect({ port, servername: 'localhost', ca, ...extra });
    const err = await once<gtls.TLSError>(c, 'error');
    // A wrong host is checkServerIdentity's own error (Node's), the others ours.
    if (code !== 'ERR_TLS_CERT_ALTNAME_INVALID') expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe(code);

    const lax = gtls.connect({ port, servername: 'localhost', ca, rejectUnauthorized: false, ...extra });
    await once(lax, 'secureConnect');
    expect(lax.authorized).toBe(false);
    expect(lax.authorizationError).toBe(code);
    expect((await readAll(lax)).toString()).toBe('data');
    await closeServer(server);
  });

  test('custom checkServerIdentity is consulted', async () => {
    const server = nodeTls.createServer(serverOpts, (s) => s.end());
    const port = await listen(server);
    const seen: string[] = [];
    const c = gtls.connect({
      port,
      servername: 'localhost',
      ca,
      checkServerIdentity: (host, cert) => {
        seen.push(`${host}/${cert.subject.CN}`);
        return Object.assign(new Error('pinned key mismatch'), { code: 'ERR_PINNED' });
      },
    });
    const err = await once<Error & { code: string }>(c, 'error');
    expect(err.code).toBe('ERR_PINNED');
    expect(seen).toEqual(['localhost/localhost']);
    await closeServer(server);
  });
});

describe('options', () => {
  test('pfx + passphrase, ciphers mapping and priority strings', async () => {
    const server = gtls.createServer({ pfx: fixture('server.pfx'), passphrase: 'secret', maxVersion: 'TLSv1.2' }, (s) =>
      s.end(),
    );
    const port = await listen(server);
    const c = gtls.connect({ port, servername: 'localhost', ca, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    await once(c, 'secureConnect');
    expect(c.getCipher()!.name).toBe('ECDHE-ECDSA-AES256-GCM-SHA384');
    c.destroy();
    const p = gtls.connect({ port, servername: 'localhost', ca, priority: 'NORMAL:-CIPHER-ALL:+CHACHA20-POLY1305' });
    await once(p, 'secureConnect');
    expect(p.getCipher()!.name).toBe('ECDHE-ECDSA-CHACHA20-POLY1305');
    expect(p.getCipher()!.standardName).toBe('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
    p.destroy();
    await closeServer(server);
  });

  test('bad options throw typed errors', () => {
    expect(() => gtls.createSecureContext({ priority: 'NORMAL:+BOGUS' })).toThrow(
      expect.objectContaining({ code: 'GNUTLS_E_INVALID_REQUEST', errorOffset: 7 }),
    );
    expect(() => gtls.createSecureContext({ ciphers: 'NOPE-NOPE' })).toThrow(
      expect.objectContaining({ code: 'ERR_SSL_NO_CIPHER_MATCH' }),
    );
    expect(() => gtls.createSecureContext({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' })).toThrow(
      expect.objectContaining({ code: 'ERR_TLS_PROTOCOL_VERSION_CONFLICT' }),
    );
    expect(() => gtls.createSecureContext({ key: fixture('server.key'), cert: fixture('client.pem') })).toThrow(
      expect.objectContaining({ code: 'GNUTLS_E_CERTIFICATE_KEY_MISMATCH' }),
    );
    expect(() => gtls.createSecureContext({ pfx: fixture('server.pfx'), passphrase: 'wrong' })).toThrow(gtls.TLSError);
  });

  test('version mismatch fails the handshake with a typed error on both sides', async () => {
    const server = gtls.createServer({ ...serverOpts, minVersion: 'TLSv1.3' });
    const port = await listen(server);
    const serverErr = once<gtls.TLSError>(server, 'tlsClientError');
    const c = gtls.connect({ port, servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
    const err = await once<gtls.TLSError>(c, 'error');
    expect(err).toBeInstanceOf(gtls.TLSError);
    expect(err.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(err.gnutlsName).toBe('GNUTLS_E_FATAL_ALERT_RECEIVED');
    expect((await serverErr).code).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
    expect((await serverErr).gnutlsName).toMatch(/^GNUTLS_E_/);
    await closeServer(server);
  });
});
