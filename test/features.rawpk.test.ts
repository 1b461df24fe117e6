// Raw public keys (RFC 7250): `rawPublicKey`, `pinnedPublicKeys`, `getPeerPublicKey()` and
// `publicKeyPin()` against gnutls-serv/gnutls-cli (--rawpkkeyfile/--rawpkfile) and between our own
// client and server, TLS 1.2 and TLS 1.3. Keys are made by certtool in a temporary directory.
import * as fs from 'fs';
import * as path from 'path';
import { createHash, createPublicKey } from 'crypto';
import { connect, createServer, publicKeyPin, Server, TLSError, TLSSocket } from '../lib';
import {
  VERSIONS,
  Version,
  gnutlsPriority,
  gnutlsServ,
  once,
  peerExit,
  runTool,
  serveTracked,
  spawnPeer,
  stopPeer,
  tmpDir,
  tracked,
  within,
} from './helpers';

const RAW = 'Raw Public Key';

interface KeyPair {
  /** Private key file (certtool's output: a text dump, then the PEM). */
  keyFile: string;
  /** SubjectPublicKeyInfo file from `certtool --pubkey-info`. */
  pubFile: string;
  key: Buffer;
  /** SPKI DER, computed by Node's crypto from the private key. */
  spki: Buffer;
  /** 'sha256/' + base64(SHA-256(SPKI)), computed by Node's crypto. */
  pin: string;
  /** The pin certtool printed for the same key ('pin-sha256:...'). */
  certtoolPin: string;
}

let dir: string;
let server: KeyPair;
let client: KeyPair;
let stranger: KeyPair;

function makeKey(name: string): KeyPair {
  const keyFile = path.join(dir, `${name}.key`);
  const pubFile = path.join(dir, `${name}.pub`);
  runTool('certtool', ['--generate-privkey', '--key-type', 'ecdsa', '--outfile', keyFile]);
  const info = runTool('certtool', ['--load-privkey', keyFile, '--pubkey-info', '--outfile', pubFile]);
  const printed = `${info}\n${fs.readFileSync(pubFile, 'utf8')}`;
  const certtoolPin = /pin-sha256:(\S+)/.exec(printed)?.[1];
  if (!certtoolPin) throw new Error(`certtool printed no pin:\n${printed}`);
  const key = fs.readFileSync(keyFile);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const pin = `sha256/${createHash('sha256').update(spki).digest('base64')}`;
  return { keyFile, pubFile, key, spki, pin, certtoolPin: `sha256/${certtoolPin}` };
}

beforeAll(() => {
  dir = tmpDir('node-gnutls-rawpk-');
  server = makeKey('server');
  client = makeKey('client');
  stranger = makeKey('stranger');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The SPKI (DER) of every PEM public key a peer printed. */
function printedKeys(text: string): Buffer[] {
  return (text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []).map((pem) =>
    createPublicKey(pem).export({ type: 'spki', format: 'der' }),
  );
}

function rawServ(version: Version): ReturnType<typeof gnutlsServ> {
  return gnutlsServ([
    '--rawpkkeyfile',
    server.keyFile,
    '--rawpkfile',
    server.pubFile,
    '--priority',
    `${gnutlsPriority(version)}:+CTYPE-ALL`,
    '--require-client-cert',
    '--echo',
  ]);
}

function rawCli(port: number, version: Version, who: KeyPair) {
  return spawnPeer('gnutls-cli', [
    '-p',
    String(port),
    '--priority',
    `${gnutlsPriority(version)}:-CTYPE-ALL:+CTYPE-RAWPK`,
    '--no-ca-verification',
    '--rawpkkeyfile',
    who.keyFile,
    '--rawpkfile',
    who.pubFile,
    '127.0.0.1',
  ]);
}

async function rawServer(
  version: Version | undefined,
  pinned: string[],
): Promise<{ srv: Server; port: number; next: () => Promise<TLSSocket> }> {
  const srv = createServer(
    {
      rawPublicKey: { key: server.key },
      pinnedPublicKeys: pinned,
      requestCert: true,
      ...(version ? { minVersion: version, maxVersion: version } : {}),
    },
    (s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(d));
    },
  );
  const { port, next } = await serveTracked<TLSSocket>(srv);
  return { srv, port, next };
}

/**
 * How our server reported a rejected client: 'tlsClientError' (what a handshake failure should
 * be), or an 'error' on the server-side socket, which application code cannot reach (it never
 * got 'secureConnection'); the server's 'keylog' event hands out that socket so the error is
 * observed here instead of becoming an uncaught exception.
 */
function rejection(srv: Server): Promise<{ via: 'tlsClientError' | 'socket error'; err: Error }> {
  return within(
    new Promise((resolve) => {
      srv.once('tlsClientError', (err) => resolve({ via: 'tlsClientError', err }));
      const seen = new WeakSet<TLSSocket>();
      srv.on('keylog', (_line, s) => {
        if (seen.has(s)) return;
        seen.add(s);
        s.on('error', (err) => resolve({ via: 'socket error', err }));
      });
    }),
    15000,
    "the server's rejection",
  );
}

test('certtool and Node compute the same pins; publicKeyPin() agrees', () => {
  for (const k of [server, client, stranger]) {
    expect(k.pin).toBe(k.certtoolPin);
    expect(publicKeyPin(k.spki)).toBe(k.pin);
  }
  expect(new Set([server.pin, client.pin, stranger.pin]).size).toBe(3);
});

describe.each(VERSIONS)('%s', (version) => {
  test('our client ↔ gnutls-serv --rawpkkeyfile/--rawpkfile --require-client-cert: pinned, authorized, echo', async () => {
    const srv = await rawServ(version);
    try {
      const c = tracked(
        connect({ port: srv.port, host: '127.0.0.1', rawPublicKey: { key: client.key }, pinnedPublicKeys: [server.pin] }),
      );
      let text = '';
      c.on('data', (d: Buffer) => (text += d.toString()));
      await once(c, 'secureConnect');
      expect(c.getProtocol()).toBe(version);
      expect(c.authorized).toBe(true);
      expect(c.authorizationError).toBeNull();
      const peer = c.getPeerPublicKey()!;
      expect(peer.certificateType).toBe(RAW);
      expect(peer.spki.equals(server.spki)).toBe(true);
      expect(peer.pin).toBe(server.pin);
      expect(c.getNegotiatedParameters()!.certificateType).toEqual({ own: RAW, peer: RAW });
      c.write('raw keys both ways\n');
      await within(
        new Promise<void>((resolve) => c.on('data', () => text.includes('raw keys both ways\n') && resolve())),
        10000,
        'the echo',
      );
      c.end();
      await once(c, 'close');
      await stopPeer(srv);
      const out = srv.out() + srv.err();
      expect(out).toContain(`Certificate type: ${RAW}`);
      // gnutls-serv printed the key our client presented.
      expect(printedKeys(out).some((k) => k.equals(client.spki))).toBe(true);
    } finally {
      await srv.kill();
    }
  });

  test('our client: a server key that is not pinned fails with ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED', async () => {
    const srv = await rawServ(version);
    try {
      const c = tracked(
        connect({ port: srv.port, host: '127.0.0.1', rawPublicKey: { key: client.key }, pinnedPublicKeys: [stranger.pin] }),
      );
      let secured = false;
      c.on('secureConnect', () => (secured = true));
      const err = await within(once<Error>(c, 'error'), 15000, 'the client error');
      expect(err).toBeInstanceOf(TLSError);
      expect((err as TLSError).code).toBe('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
      expect(err.message).toContain(server.pin);
      expect(secured).toBe(false);

      // rejectUnauthorized: false lets the connection through, reporting the failure.
      const c2 = tracked(
        connect({
          port: srv.port,
          host: '127.0.0.1',
          rawPublicKey: { key: client.key },
          pinnedPublicKeys: [stranger.pin],
          rejectUnauthorized: false,
        }),
      );
      await once(c2, 'secureConnect');
      expect(c2.authorized).toBe(false);
      expect(c2.authorizationError).toBe('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
      expect(c2.getPeerPublicKey()!.pin).toBe(server.pin);
    } finally {
      await srv.kill();
    }
  });

  test("gnutls-cli --rawpkkeyfile/--rawpkfile ↔ our server with requestCert: the server sees the client's pin", async () => {
    const { port, next } = await rawServer(undefined, [client.pin]);
    const secure = next();
    const cli = rawCli(port, version, client);
    try {
      const s = await secure;
      expect(s.getProtocol()).toBe(version);
      expect(s.authorized).toBe(true);
      const peer = s.getPeerPublicKey()!;
      expect(peer.certificateType).toBe(RAW);
      expect(peer.pin).toBe(client.pin);
      expect(peer.spki.equals(client.spki)).toBe(true);
      expect(s.getNegotiatedParameters()!.certificateType).toEqual({ own: RAW, peer: RAW });
      cli.proc.stdin!.write('hello raw server\n');
      await cli.waitFor(/hello raw server\n/);
      cli.proc.stdin!.end();
      expect(await peerExit(cli)).toBe(0);
      const out = cli.out() + cli.err();
      expect(out).toContain(`Certificate type: ${RAW}`);
    } finally {
      await cli.kill();
    }
  });

  test('gnutls-cli with a key that is not pinned ↔ our server: rejected (tlsClientError, bad_certificate)', async () => {
    const { srv, port } = await rawServer(undefined, [client.pin]);
    let secured = 0;
    srv.on('secureConnection', () => secured++);
    const rejected = rejection(srv);
    const cli = rawCli(port, version, stranger);
    try {
      const { via, err } = await rejected;
      expect((err as TLSError).code).toBe('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
      expect(err.message).toContain(stranger.pin);
      expect(secured).toBe(0);
      expect(await peerExit(cli)).not.toBe(0);
      expect(cli.out() + cli.err()).toMatch(/Received alert \[42\]/); // bad_certificate
      // The rejection happens before 'secureConnection', so it goes to 'tlsClientError'
      // (never as an 'error' on a socket the application has not seen).
      expect(via).toBe('tlsClientError');
    } finally {
      await cli.kill();
    }
  });

  test('our client ↔ our server, raw keys both ways', async () => {
    const { port, next } = await rawServer(version, [client.pin]);
    const secure = next();
    const c = tracked(
      connect({ port, host: '127.0.0.1', rawPublicKey: { key: client.key }, pinnedPublicKeys: [server.pin] }),
    );
    await once(c, 'secureConnect');
    const s = await secure;
    expect(c.authorized).toBe(true);
    expect(s.authorized).toBe(true);
    expect(c.getProtocol()).toBe(version);
    expect(c.getPeerPublicKey()!.pin).toBe(server.pin);
    expect(s.getPeerPublicKey()!.pin).toBe(client.pin);
    expect(c.getNegotiatedParameters()!.certificateType).toEqual({ own: RAW, peer: RAW });
    expect(s.getNegotiatedParameters()!.certificateType).toEqual({ own: RAW, peer: RAW });
    c.write('ping');
    expect((await once<Buffer>(c, 'data')).toString()).toBe('ping');
  });

  test('our client ↔ our server: each side rejects a key it has not pinned', async () => {
    // The client does not pin the server's key.
    {
      const { srv, port } = await rawServer(version, [client.pin]);
      const serverSide = new Promise<TLSSocket>((resolve) => srv.once('secureConnection', resolve));
      const c = tracked(
        connect({ port, host: '127.0.0.1', rawPublicKey: { key: client.key }, pinnedPublicKeys: [stranger.pin] }),
      );
      const err = await within(once<Error>(c, 'error'), 15000, 'the client error');
      expect((err as TLSError).code).toBe('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
      // The server learns of it from the client's alert.
      const s = await within(serverSide, 15000, 'secureConnection');
      if (!s.destroyed) {
        const serr = await within(once<Error>(s, 'error'), 15000, "the server socket's error");
        expect((serr as TLSError).alert).toMatch(/certificate/);
      }
    }
    // The server does not pin the client's key.
    {
      const { srv, port } = await rawServer(version, [stranger.pin]);
      const rejected = rejection(srv);
      const c = tracked(
        connect({ port, host: '127.0.0.1', rawPublicKey: { key: client.key }, pinnedPublicKeys: [server.pin] }),
      );
      let received = '';
      c.on('data', (d: Buffer) => (received += d.toString()));
      const cerr = within(once<Error>(c, 'error'), 15000, 'the client error');
      c.on('secureConnect', () => c.write('should not be echoed'));
      const { via, err } = await rejected;
      expect((err as TLSError).code).toBe('ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED');
      expect(err.message).toContain(client.pin);
      const ce = (await cerr) as TLSError;
      expect(ce.alert).toBe('bad_certificate');
      expect(received).toBe('');
      // Before 'secureConnection': 'tlsClientError'.
      expect(via).toBe('tlsClientError');
    }
  });
});
