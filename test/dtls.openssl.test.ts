// DTLS against OpenSSL 3.0: our client ↔ openssl s_server -dtls, openssl s_client -dtls ↔ our
// server. Certificates, mutual authentication, PSK, ALPN, SRTP profile and keying material equal
// on both ends (-use_srtp, -keymatexport), data both ways.
import { randomBytes } from 'crypto';
import { connect, createServer, DTLSSocket, TLSError } from '../lib/dtls';
import { fixture, once } from './helpers';
import { SRTP, bindServer, hexAfter, messages, opensslServerDtls, trackedDtls, udpPeer } from './helpers/dtls';

/** OpenSSL's name of the profile GnuTLS calls SRTP_AES128_CM_HMAC_SHA1_80. */
const OPENSSL_SRTP = 'SRTP_AES128_CM_SHA1_80';
const SERVER_CERT = ['-cert', 'server.pem', '-cert_chain', 'int.pem', '-key', 'server.key'];
const KEYMAT = ['-keymatexport', 'EXTRACTOR-dtls_srtp', '-keymatexportlen', '60'];
const PSK = randomBytes(32);
const PSK_PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK';

function client(port: number, extra: Partial<Parameters<typeof connect>[0]> = {}): DTLSSocket {
  return trackedDtls(connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem'), ...extra }));
}

describe('our client ↔ openssl s_server -dtls', () => {
  test('certificates, ALPN, SRTP profile and keying material equal, data both ways', async () => {
    const serv = await opensslServerDtls([...SERVER_CERT, '-alpn', 'coap', '-use_srtp', OPENSSL_SRTP, ...KEYMAT]);
    const c = client(serv.port, { ALPNProtocols: ['coap'], srtpProfiles: [SRTP] });
    const got = messages(c);
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(c.getProtocol()).toBe('DTLSv1.2');
    expect(c.alpnProtocol).toBe('coap');
    expect(c.srtpProfile).toBe(SRTP);
    await serv.waitFor(/Keying material: [0-9A-F]+/);
    expect(hexAfter(serv.out(), /Keying material:/)).toBe(c.getSrtpKeyingMaterial().material.toString('hex'));
    expect(serv.out()).toContain(`SRTP Extension negotiated, profile=${OPENSSL_SRTP}`);
    c.send('to-openssl');
    await serv.waitFor(/to-openssl/);
    serv.proc.stdin!.write('from-openssl\n');
    await got.waitFor('from-openssl');
  });

  test("ciphers (OpenSSL's names, as for TLS) picks the suite both ends report", async () => {
    const serv = await opensslServerDtls([...SERVER_CERT]);
    const c = client(serv.port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    await once(c, 'secureConnect');
    expect(c.getCipher()).toMatchObject({ name: 'ECDHE-ECDSA-AES128-GCM-SHA256', standardName: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', version: 'DTLSv1.2' });
    c.send('cipher-check');
    await serv.waitFor(/cipher-check/);
    expect(serv.out()).toMatch(/CIPHER is ECDHE-ECDSA-AES128-GCM-SHA256/);
  });

  test('exportKeyingMaterial equals s_server -keymatexport; tls-exporter is the RFC 9266 binding (empty context)', async () => {
    const serv = await opensslServerDtls([...SERVER_CERT, '-keymatexport', 'EXPORTER-Channel-Binding', '-keymatexportlen', '32']);
    const c = client(serv.port);
    await once(c, 'secureConnect');
    await serv.waitFor(/Keying material: [0-9A-F]+/);
    // OpenSSL's -keymatexport uses no context; RFC 9266's tls-exporter an empty one: they differ.
    const noContext = c.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding');
    expect(hexAfter(serv.out(), /Keying material:/)).toBe(noContext.toString('hex'));
    const binding = c.getChannelBinding('tls-exporter')!;
    expect(binding).toHaveLength(32);
    expect(binding.equals(noContext)).toBe(false);
    expect(c.getChannelBinding('tls-unique')).toHaveLength(12); // the Finished verify_data (DTLS 1.2)
  });

  test('mutual authentication: s_server -Verify accepts our certificate and refuses none', async () => {
    const serv = await opensslServerDtls([...SERVER_CERT, '-Verify', '2', '-CAfile', 'ca.pem', '-verify_return_error']);
    const c = client(serv.port, { key: fixture('client.key'), cert: fixture('client.pem') });
    await once(c, 'secureConnect');
    c.send('with-cert');
    await serv.waitFor(/with-cert/);
    expect(serv.out()).toMatch(/subject=.*client\.node-gnutls/);
    c.close();
    // Without a certificate OpenSSL ends the handshake with an alert: a typed error.
    const anon = client(serv.port);
    const err = await once<TLSError>(anon, 'error').catch((e: TLSError) => e);
    expect(err.alert).toBeDefined();
    expect(err.gnutlsCode).toBeDefined();
  });

  test('PSK: s_server -psk, our callback gets its hint', async () => {
    const serv = await opensslServerDtls(['-nocert', '-psk', PSK.toString('hex'), '-psk_identity', 'alice', '-psk_hint', 'ossl-hint']);
    const hints: Array<string | null> = [];
    const c = client(serv.port, {
      priority: PSK_PRIORITY,
      pskCallback: (hint) => {
        hints.push(hint);
        return { identity: 'alice', psk: PSK };
      },
    });
    await once(c, 'secureConnect');
    expect(hints).toEqual(['ossl-hint']);
    expect(c.getCipher()?.standardName).toMatch(/PSK/);
    c.send('psk-to-openssl');
    await serv.waitFor(/psk-to-openssl/);
  });
});

describe('openssl s_client -dtls ↔ our server', () => {
  test('cookie exchange, verified certificate, ALPN, SRTP keying material equal, echo', async () => {
    const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ALPNProtocols: ['coap'], srtpProfiles: [SRTP] }, (s) =>
      s.on('message', (m) => s.send(Buffer.concat([Buffer.from('echo:'), m]))),
    );
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    const cli = udpPeer('openssl', [
      's_client', '-dtls', '-connect', `127.0.0.1:${port}`, '-CAfile', 'ca.pem', '-verify_return_error', '-verify_hostname', 'localhost',
      '-servername', 'localhost', '-alpn', 'coap', '-use_srtp', OPENSSL_SRTP, ...KEYMAT,
    ]);
    const s = await conn;
    expect(server.stats.cookiesSent).toBe(1);
    expect(s.alpnProtocol).toBe('coap');
    expect(s.srtpProfile).toBe(SRTP);
    await cli.waitFor(/Keying material: [0-9A-F]+/);
    expect(cli.out()).toMatch(/Verify return code: 0 \(ok\)/);
    expect(hexAfter(cli.out(), /Keying material:/)).toBe(s.getSrtpKeyingMaterial().material.toString('hex'));
    cli.proc.stdin!.write('from-s_client\n');
    await cli.waitFor(/echo:from-s_client/);
  });

  test('mutual authentication: our server verifies s_client’s certificate', async () => {
    const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ca: fixture('ca.pem'), requestCert: true });
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    udpPeer('openssl', ['s_client', '-dtls', '-connect', `127.0.0.1:${port}`, '-CAfile', 'ca.pem', '-cert', 'client.pem', '-key', 'client.key']);
    const s = await conn;
    expect(s.authorized).toBe(true);
    expect(s.getPeerCertificate().subject.CN).toBe('client.node-gnutls');
    // A certificate from another CA: refused (clientError), s_client sees our alert.
    const refused = once<TLSError>(server, 'clientError');
    const other = udpPeer('openssl', ['s_client', '-dtls', '-connect', `127.0.0.1:${port}`, '-CAfile', 'ca.pem', '-cert', 'other-leaf.pem', '-key', 'other-leaf.key']);
    const err = await refused;
    expect(typeof err.code).toBe('string');
    await other.waitFor(/alert/i);
  });

  test('PSK: s_client -psk, our callback sees the identity', async () => {
    const identities: string[] = [];
    const server = createServer({
      priority: PSK_PRIORITY,
      pskIdentityHint: 'our-hint',
      pskCallback: (_s, id) => {
        identities.push(id);
        return PSK;
      },
    });
    server.on('secureConnection', (s) => s.on('message', (m) => s.send(m)));
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    const cli = udpPeer('openssl', ['s_client', '-dtls', '-connect', `127.0.0.1:${port}`, '-psk', PSK.toString('hex'), '-psk_identity', 'bob']);
    const s = await conn;
    expect(identities).toEqual(['bob']);
    expect(s.getCipher()?.standardName).toMatch(/PSK/);
    cli.proc.stdin!.write('psk-line\n');
    await cli.waitFor(/psk-line/);
  });
});
