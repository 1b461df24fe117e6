// DTLS against GnuTLS's own tools: our client ↔ gnutls-serv --udp --echo, gnutls-cli --udp ↔ our
// server. Certificates, mutual authentication, PSK, ALPN, SRTP (profile and keying material
// equal on both ends), the cookie exchange, and messages that do not fit the MTU.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { connect, createServer, DTLSSocket, TLSError } from '../lib/dtls';
import { fixture, onCleanup, once, peerExit, tmpDir, within } from './helpers';
import { SRTP, bindServer, gnutlsServUdp, hexAfter, messages, trackedDtls, udpPeer } from './helpers/dtls';

const CERT = ['--x509certfile', 'server-chain.pem', '--x509keyfile', 'server.key'];
const CLI_BASE = ['--udp', '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost'];
const PSK = randomBytes(32);
const DTLS_PSK_PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK';

let dir: string;
let passwd: string;
beforeAll(() => {
  dir = tmpDir('node-gnutls-dtls-');
  passwd = path.join(dir, 'psk.passwd');
  fs.writeFileSync(passwd, `alice:${PSK.toString('hex')}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function client(port: number, extra: Parameters<typeof connect>[0] extends infer O ? Partial<O> : never = {}): DTLSSocket {
  return trackedDtls(connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem'), ...extra }));
}

describe('our client ↔ gnutls-serv --udp --echo', () => {
  test('certificates: DTLSv1.2, verified, messages echoed one record per datagram', async () => {
    const serv = await gnutlsServUdp(['--echo', ...CERT]);
    const c = client(serv.port);
    const got = messages(c);
    await once(c, 'secureConnect');
    expect(c.getProtocol()).toBe('DTLSv1.2');
    expect(c.authorized).toBe(true);
    expect(c.getCipher()?.version).toBe('DTLSv1.2');
    expect(c.getPeerCertificate().subject.CN).toBe('localhost');
    for (const m of ['one', 'two', 'three']) c.send(m);
    await got.waitFor('three');
    // Each send() came back as one message: the boundaries held.
    expect(got.all.map((b) => b.toString())).toEqual(['one', 'two', 'three']);
    expect(serv.out()).toMatch(/Sending hello verify request/); // gnutls-serv asked us for a cookie
  });

  test('an untrusted server is refused with a typed error; rejectUnauthorized: false reports it', async () => {
    const serv = await gnutlsServUdp(['--echo', ...CERT]);
    const bad = trackedDtls(connect({ host: '127.0.0.1', port: serv.port, servername: 'localhost', ca: fixture('other-ca.pem') }));
    const err = await once<TLSError>(bad, 'error').catch((e: TLSError) => e);
    expect(err.code).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    const lax = client(serv.port, { ca: fixture('other-ca.pem'), rejectUnauthorized: false });
    await once(lax, 'secureConnect');
    expect(lax.authorized).toBe(false);
    expect(lax.authorizationError).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  });

  test('mutual authentication: gnutls-serv requires and verifies our certificate', async () => {
    const serv = await gnutlsServUdp(['--echo', ...CERT, '--require-client-cert', '--verify-client-cert', '--x509cafile', 'ca.pem']);
    const c = client(serv.port, { key: fixture('client.key'), cert: fixture('client.pem') });
    const got = messages(c);
    await once(c, 'secureConnect');
    c.send('mutual');
    await got.waitFor('mutual');
    expect(c.getCertificate()?.subject.CN).toBe('client.node-gnutls');
    // (A client without a certificate is not tried here: gnutls-serv 3.7.9 --udp sends no alert
    // when it fails that handshake, then spins on its socket. Our server refuses one below.)
  });

  test('PSK: our callback gets the hint, the PSK key exchange is used', async () => {
    const serv = await gnutlsServUdp(['--echo', '--pskpasswd', passwd, '--pskhint', 'dtls-hint', '--priority', DTLS_PSK_PRIORITY]);
    const hints: Array<string | null> = [];
    const c = client(serv.port, {
      pskCallback: (hint) => {
        hints.push(hint);
        return { identity: 'alice', psk: PSK };
      },
      priority: DTLS_PSK_PRIORITY,
    });
    const got = messages(c);
    await once(c, 'secureConnect');
    expect(hints).toEqual(['dtls-hint']);
    expect(c.authorized).toBe(true);
    expect(c.getCipher()?.standardName).toMatch(/PSK/);
    c.send('psk');
    await got.waitFor('psk');
  });

  test('ALPN and SRTP: the protocol and the profile gnutls-serv chose', async () => {
    const serv = await gnutlsServUdp(['--echo', ...CERT, '--alpn', 'coap', '--srtp-profiles', SRTP]);
    const c = client(serv.port, { ALPNProtocols: ['h2', 'coap'], srtpProfiles: ['SRTP_NULL_HMAC_SHA1_80', SRTP] });
    await once(c, 'secureConnect');
    expect(c.alpnProtocol).toBe('coap');
    expect(c.srtpProfile).toBe(SRTP);
    const keys = c.getSrtpKeyingMaterial();
    expect(keys.material.length).toBe(2 * (16 + 14));
    expect(Buffer.concat([keys.clientKey, keys.serverKey, keys.clientSalt, keys.serverSalt])).toEqual(keys.material);
    expect(keys.material).toEqual(c.exportKeyingMaterial(60, 'EXTRACTOR-dtls_srtp'));
    await within(serv.waitFor(new RegExp(`DTLS profile set to ${SRTP}`)), 5000, 'gnutls-serv SRTP line');
  });

  test('MTU: the largest message goes through; one byte more is refused with a typed error, nothing sent', async () => {
    const serv = await gnutlsServUdp(['--echo', ...CERT, '--mtu', '600']);
    const c = client(serv.port, { mtu: 600 });
    const got = messages(c);
    await once(c, 'secureConnect');
    const max = c.maxMessageSize;
    expect(max).toBeGreaterThan(500);
    expect(max).toBeLessThan(600);
    const err = await new Promise<Error | null>((resolve) => c.send(Buffer.alloc(max + 1, 0x61), resolve));
    expect((err as TLSError).code).toBe('ERR_DTLS_MESSAGE_TOO_LARGE');
    const big = Buffer.alloc(max, 0x62).toString();
    c.send(big);
    await got.waitFor(big);
    expect(got.text()).toBe(big); // (gnutls-serv echoes in pieces of its own buffer size)
  });
});

test('IPv6: our client ↔ gnutls-serv on ::1, our client ↔ our server bound to ::1 (udp6)', async () => {
  const serv = await gnutlsServUdp(['--echo', ...CERT]);
  // gnutls-serv binds IPv6 after IPv4; a datagram before that would meet ICMP port unreachable.
  await serv.waitFor(/listening on IPv6 [^\n]*done/);
  const c = client(serv.port, { host: '::1' });
  const got = messages(c);
  await once(c, 'secureConnect');
  expect(c.remoteFamily).toBe('IPv6');
  c.send('six');
  await got.waitFor('six');
  const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => s.on('message', (m) => s.send(m)));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.bind(0, '::1', () => resolve()));
  expect(server.address().family).toBe('IPv6');
  const d = client(server.address().port, { host: '::1' });
  const back = messages(d);
  await once(d, 'secureConnect');
  d.send('over-udp6');
  await back.waitFor('over-udp6');
});

test('DTLS 1.0 where the priority allows it (gnutls-serv DTLS 1.0 only); by default only 1.2 is offered', async () => {
  const serv = await gnutlsServUdp(['--echo', ...CERT, '--priority', 'NORMAL:-VERS-ALL:+VERS-DTLS1.0']);
  const c = client(serv.port, { priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:+VERS-DTLS1.0' });
  await once(c, 'secureConnect');
  expect(c.getProtocol()).toBe('DTLSv1');
  expect(c.getCipher()?.version).toBe('DTLSv1');
  // Our server limited to DTLS 1.0 refuses our default client: its protocol_version alert comes
  // in a DTLS 1.0 record, which the client reports as GnuTLS does (a typed error).
  const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.0' });
  server.on('clientError', () => {});
  const port = await bindServer(server);
  const err = await once<TLSError>(client(port), 'error').catch((e: TLSError) => e);
  expect(err.gnutlsName).toBe('GNUTLS_E_UNSUPPORTED_VERSION_PACKET');
});

describe('gnutls-cli --udp ↔ our server', () => {
  test('certificates, cookie exchange first, echo, close_notify ends the association', async () => {
    const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem') }, (s) => {
      s.on('message', (m) => s.send(m));
    });
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    const cli = udpPeer('gnutls-cli', [...CLI_BASE, '-p', String(port), '127.0.0.1']);
    const s = await conn;
    expect(server.stats.cookiesSent).toBe(1); // the first ClientHello was answered with a HelloVerifyRequest
    expect(s.getProtocol()).toBe('DTLSv1.2');
    expect(s.servername).toBe('localhost');
    cli.proc.stdin!.write('ping-from-gnutls-cli\n');
    await cli.waitFor(/ping-from-gnutls-cli/); // (gnutls-cli prints what it receives, not what it sends)
    const ended = once(s, 'end');
    cli.proc.stdin!.end();
    await ended;
    await peerExit(cli);
    expect(server.stats.established).toBe(0);
  });

  test('mutual authentication: our server requires and verifies gnutls-cli’s certificate', async () => {
    const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ca: fixture('ca.pem'), requestCert: true });
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    udpPeer('gnutls-cli', [...CLI_BASE, '--x509certfile', 'client.pem', '--x509keyfile', 'client.key', '-p', String(port), '127.0.0.1']);
    const s = await conn;
    expect(s.authorized).toBe(true);
    expect(s.getPeerCertificate().subject.CN).toBe('client.node-gnutls');
    // A client without a certificate gets no association: clientError, gnutls-cli fails.
    const refused = once<TLSError>(server, 'clientError');
    const anon = udpPeer('gnutls-cli', [...CLI_BASE, '-p', String(port), '127.0.0.1']);
    const err = await refused;
    expect(typeof err.code).toBe('string');
    expect(await peerExit(anon)).not.toBe(0);
  });

  test('PSK: our callback sees the identity; a wrong key is refused', async () => {
    const identities: string[] = [];
    const server = createServer({
      pskIdentityHint: 'our-hint',
      priority: DTLS_PSK_PRIORITY,
      handshakeTimeout: 1500,
      pskCallback: (_sock, identity) => {
        identities.push(identity);
        return identity === 'alice' ? PSK : null;
      },
    });
    server.on('secureConnection', (s) => s.on('message', (m) => s.send(m)));
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    const cli = udpPeer('gnutls-cli', ['--udp', '--pskusername', 'alice', '--pskkey', PSK.toString('hex'), '--priority', DTLS_PSK_PRIORITY, '-p', String(port), '127.0.0.1']);
    const s = await conn;
    expect(identities).toEqual(['alice']);
    expect(s.getCipher()?.standardName).toMatch(/PSK/);
    cli.proc.stdin!.write('psk-echo\n');
    await cli.waitFor(/psk-echo/);
    // A wrong key shows as a Finished that does not decrypt, which DTLS discards silently
    // (RFC 6347 4.1.2.7): the handshake never completes and times out.
    const refused = once<TLSError>(server, 'clientError');
    udpPeer('gnutls-cli', ['--udp', '--pskusername', 'alice', '--pskkey', randomBytes(32).toString('hex'), '--priority', DTLS_PSK_PRIORITY, '-p', String(port), '127.0.0.1']);
    expect((await refused).code).toBe('ERR_DTLS_HANDSHAKE_TIMEOUT');
    expect(server.stats.halfOpen).toBe(0);
  });

  test('ALPN, SRTP profile and keying material equal on both ends', async () => {
    const server = createServer({ key: fixture('server.key'), cert: fixture('server-chain.pem'), ALPNProtocols: ['coap'], srtpProfiles: [SRTP] });
    const port = await bindServer(server);
    const conn = once<DTLSSocket>(server, 'secureConnection');
    const cli = udpPeer('gnutls-cli', [
      ...CLI_BASE, '--alpn', 'coap', '--srtp-profiles', SRTP, '--keymatexport', 'EXTRACTOR-dtls_srtp', '--keymatexportsize', '60',
      '-p', String(port), '127.0.0.1',
    ]);
    const s = await conn;
    expect(s.alpnProtocol).toBe('coap');
    expect(s.srtpProfile).toBe(SRTP);
    await cli.waitFor(/Key material: [0-9A-F]+/i);
    expect(hexAfter(cli.out(), /Key material:/)).toBe(s.getSrtpKeyingMaterial().material.toString('hex'));
    expect(cli.out()).toMatch(new RegExp(`SRTP Profile: ${SRTP}`, 'i'));
  });
});
