// PSK (Node's `pskCallback` / `pskIdentityHint`) against real peers: gnutls-serv --pskpasswd,
// gnutls-cli --pskusername/--pskkey, and Node's own tls, TLS 1.2 and TLS 1.3, both roles.
import * as fs from 'fs';
import * as path from 'path';
import * as nodeTls from 'tls';
import { randomBytes } from 'crypto';
import { connect, createServer, Server, ServerPskCallback, TLSError, TLSSocket } from '../lib';
import {
  VERSIONS,
  Version,
  gnutlsPriority,
  gnutlsServ,
  once,
  peerExit,
  serveTracked,
  spawnPeer,
  stopPeer,
  tmpDir,
  tracked,
  within,
} from './helpers';

const KEY = randomBytes(32);
const WRONG_KEY = randomBytes(32);
const IDENTITY = 'alice';
const HINT = 'node-gnutls-hint';
/** Node's (OpenSSL's) TLS 1.2 PSK suite; TLS 1.3 PSK uses the TLS 1.3 suites. */
const NODE_PSK_CIPHERS = 'PSK-AES128-GCM-SHA256';

let dir: string;
let passwdFile: string;
beforeAll(() => {
  dir = tmpDir('node-gnutls-psk-');
  passwdFile = path.join(dir, 'psk.passwd');
  // gnutls-serv's PSK password file: "username:hex-key" per line.
  fs.writeFileSync(passwdFile, `${IDENTITY}:${KEY.toString('hex')}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Everything a socket receives, attached before the handshake completes. */
function received(sock: NodeJS.EventEmitter): { text: () => string; waitFor: (s: string) => Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  sock.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.slice()) w();
  });
  return {
    text: () => text,
    waitFor: (s) =>
      within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (text.includes(s)) resolve();
          };
          waiters.push(check);
          check();
        }),
        10000,
        `${JSON.stringify(s)} (received so far: ${JSON.stringify(text)})`,
      ),
  };
}

/** The first 'error' of an emitter (bounded: a missing error fails instead of hanging). */
function nextError(emitter: NodeJS.EventEmitter, what: string): Promise<Error> {
  return within(new Promise<Error>((resolve) => emitter.once('error', resolve)), 15000, `an error on ${what}`);
}

function nextClientError(server: Server): Promise<TLSError> {
  return within(
    new Promise<TLSError>((resolve) => server.once('tlsClientError', (e: TLSError) => resolve(e))),
    15000,
    'tlsClientError',
  );
}

/** gnutls-serv as a PSK-only echo server (key file + hint), limited to one TLS version. */
function pskServ(version: Version, extra: string[] = []): ReturnType<typeof gnutlsServ> {
  return gnutlsServ([
    '--pskpasswd',
    passwdFile,
    '--pskhint',
    HINT,
    '--priority',
    `${gnutlsPriority(version)}:+ECDHE-PSK:+PSK`,
    '--echo',
    ...extra,
  ]);
}

/**
 * gnutls-cli as a PSK client. Under TLS 1.2 it offers plain PSK only: gnutls-cli 3.7.9 crashes
 * (SIGSEGV) after an ECDHE-PSK TLS 1.2 handshake, against gnutls-serv as well.
 */
function pskCli(port: number, version: Version, username: string, key: Buffer) {
  const kx = version === 'TLSv1.2' ? ':-KX-ALL:+PSK' : ':+ECDHE-PSK:+PSK';
  return spawnPeer('gnutls-cli', [
    '-p',
    String(port),
    '--pskusername',
    username,
    '--pskkey',
    key.toString('hex'),
    '--priority',
    `${gnutlsPriority(version)}${kx}`,
    '127.0.0.1',
  ]);
}

/** Our PSK server: echoes, records the identities its callback saw. */
async function ourPskServer(
  callback: ServerPskCallback,
): Promise<{ server: Server; port: number; next: () => Promise<TLSSocket> }> {
  const server = createServer({ pskCallback: callback, pskIdentityHint: HINT }, (s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
  });
  const { port, next } = await serveTracked<TLSSocket>(server);
  return { server, port, next };
}

function expectTyped(err: Error): asserts err is TLSError {
  expect(err).toBeInstanceOf(TLSError);
  expect(typeof (err as TLSError).code).toBe('string');
  expect((err as TLSError).code.length).toBeGreaterThan(0);
}

describe.each(VERSIONS)('%s', (version) => {
  test('our client ↔ gnutls-serv --pskpasswd --pskhint: hint semantics, echo, authorized, PSK key exchange', async () => {
    const srv = await pskServ(version);
    try {
      const hints: Array<string | null> = [];
      const c = tracked(
        connect({
          port: srv.port,
          host: '127.0.0.1',
          pskCallback: (hint) => {
            hints.push(hint);
            return { psk: KEY, identity: IDENTITY };
          },
        }),
      );
      const rx = received(c);
      await once(c, 'secureConnect');
      expect(c.getProtocol()).toBe(version);
      expect(c.authorized).toBe(true);
      expect(c.authorizationError).toBeNull();
      expect(c.getNegotiatedParameters()!.keyExchange).toMatch(/PSK/);
      expect(c.getPeerCertificate()).toEqual({});
      if (version === 'TLSv1.2') {
        // Node's semantics: a TLS 1.3-capable client is asked once with null for its ClientHello,
        // then, once the TLS 1.2 server has sent its hint, with the hint.
        expect(hints[hints.length - 1]).toBe(HINT);
        expect(hints.every((h) => h === null || h === HINT)).toBe(true);
      } else {
        expect(hints.length).toBeGreaterThan(0);
        expect(hints.every((h) => h === null)).toBe(true);
      }
      c.write(`psk echo over ${version}\n`);
      await rx.waitFor(`psk echo over ${version}\n`);
      c.end();
      await once(c, 'close');
      await stopPeer(srv);
      const out = srv.out() + srv.err();
      expect(out).toContain(`PSK authentication. Connected as '${IDENTITY}'`);
      expect(out).toMatch(new RegExp(`^- Version: TLS${version.slice(4).replace('.', '\\.')}$`, 'm'));
    } finally {
      await srv.kill();
    }
  });

  test('gnutls-cli --pskusername/--pskkey ↔ our server: the callback gets the identity; pskIdentity', async () => {
    const identities: string[] = [];
    const { port, next } = await ourPskServer((_s, id) => {
      identities.push(id);
      return id === IDENTITY ? KEY : null;
    });
    const secure = next();
    const cli = pskCli(port, version, IDENTITY, KEY);
    try {
      const s = await secure;
      expect(s.getProtocol()).toBe(version);
      expect(identities).toEqual([IDENTITY]);
      const params = s.getNegotiatedParameters()!;
      expect(params.pskIdentity).toBe(IDENTITY);
      expect(params.keyExchange).toMatch(/PSK/);
      cli.proc.stdin!.write('ping over psk\n');
      await cli.waitFor(/ping over psk\n/);
      cli.proc.stdin!.end();
      expect(await peerExit(cli)).toBe(0);
      const out = cli.out() + cli.err();
      expect(out).toContain(`PSK authentication. Connected as '${IDENTITY}'`);
      // TLS 1.2 carries the identity hint in the ServerKeyExchange; gnutls-cli prints it.
      if (version === 'TLSv1.2') expect(out).toContain(`PSK hint '${HINT}'`);
    } finally {
      await cli.kill();
    }
  });

  test("Node's tls client ↔ our server", async () => {
    const identities: string[] = [];
    const { port, next } = await ourPskServer((_s, id) => {
      identities.push(id);
      return id === 'carol' ? KEY : null;
    });
    const secure = next();
    const hints: Array<string | null> = [];
    const c = tracked(
      nodeTls.connect({
        port,
        host: '127.0.0.1',
        minVersion: version,
        maxVersion: version,
        ciphers: NODE_PSK_CIPHERS,
        checkServerIdentity: () => undefined,
        pskCallback: (hint) => {
          hints.push(hint);
          return { psk: KEY, identity: 'carol' };
        },
      }),
    );
    const rx = received(c);
    await once(c, 'secureConnect');
    const s = await secure;
    expect(identities).toEqual(['carol']);
    expect(s.getNegotiatedParameters()!.pskIdentity).toBe('carol');
    expect(s.getProtocol()).toBe(version);
    expect(c.getProtocol()).toBe(version);
    // Node's client saw our hint under TLS 1.2 and none under TLS 1.3.
    expect(hints).toEqual([version === 'TLSv1.2' ? HINT : null]);
    expect(s.getCipher()!.standardName).toBe(c.getCipher().standardName);
    if (version === 'TLSv1.2') expect(s.getCipher()!.name).toBe(NODE_PSK_CIPHERS);
    c.write('node to ours\n');
    await rx.waitFor('node to ours\n');
  });

  test("our client ↔ Node's tls server", async () => {
    const identities: string[] = [];
    const server = nodeTls.createServer(
      {
        minVersion: version,
        maxVersion: version,
        ciphers: NODE_PSK_CIPHERS,
        pskIdentityHint: HINT,
        pskCallback: (_s, id) => {
          identities.push(id);
          return id === 'bob' ? KEY : null;
        },
      },
      (s) => {
        s.on('error', () => {});
        // Finished, data and close_notify may leave in one flight (TLS 1.2).
        s.end(`from node over ${version}\n`);
      },
    );
    const { port } = await serveTracked(server);
    const hints: Array<string | null> = [];
    const c = tracked(
      connect({
        port,
        host: '127.0.0.1',
        pskCallback: (hint) => {
          hints.push(hint);
          return { psk: KEY, identity: 'bob' };
        },
      }),
    );
    // Listeners before the handshake completes: the data may arrive with the server's Finished.
    const rx = received(c);
    const ended = once(c, 'end');
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(c.getProtocol()).toBe(version);
    expect(c.getNegotiatedParameters()!.keyExchange).toMatch(/PSK/);
    if (version === 'TLSv1.2') {
      expect(hints[hints.length - 1]).toBe(HINT);
      expect(c.getCipher()!.name).toBe(NODE_PSK_CIPHERS);
    } else {
      expect(hints.every((h) => h === null)).toBe(true);
    }
    await rx.waitFor(`from node over ${version}\n`);
    await ended;
    expect(identities).toEqual(['bob']);
  });

  test('wrong key, our client ↔ gnutls-serv: typed error, gnutls-serv fails the handshake too', async () => {
    const srv = await pskServ(version);
    try {
      const c = tracked(
        connect({ port: srv.port, host: '127.0.0.1', pskCallback: () => ({ psk: WRONG_KEY, identity: IDENTITY }) }),
      );
      let secured = false;
      c.on('secureConnect', () => (secured = true));
      const err = await nextError(c, 'our client');
      expectTyped(err);
      expect(secured).toBe(false);
      expect(err.alert).toBeDefined(); // gnutls-serv's alert (bad_record_mac / illegal_parameter)
      await srv.waitFor(/Error in handshake/);
    } finally {
      await srv.kill();
    }
  });

  test('wrong key, gnutls-cli ↔ our server: tlsClientError, gnutls-cli fails', async () => {
    const { server, port } = await ourPskServer(() => KEY);
    const failed = nextClientError(server);
    let secured = false;
    server.on('secureConnection', () => (secured = true));
    const cli = pskCli(port, version, IDENTITY, WRONG_KEY);
    try {
      expectTyped(await failed);
      expect(secured).toBe(false);
      expect(await peerExit(cli)).not.toBe(0);
      expect(cli.out() + cli.err()).toMatch(/Handshake has failed|Fatal error/i);
    } finally {
      await cli.kill();
    }
  });

  test('wrong key, our client ↔ our server: both sides fail with typed errors', async () => {
    const { server, port } = await ourPskServer(() => KEY);
    const serverErr = nextClientError(server);
    const c = tracked(connect({ port, host: '127.0.0.1', pskCallback: () => ({ psk: WRONG_KEY, identity: 'x' }) }));
    const clientErr = nextError(c, 'our client');
    const [se, ce] = await Promise.all([serverErr, clientErr]);
    expectTyped(se);
    expectTyped(ce);
  });

  test('server callback returning null refuses the identity (gnutls-cli and Node client)', async () => {
    const identities: string[] = [];
    const { server, port } = await ourPskServer((_s, id) => {
      identities.push(id);
      return null;
    });
    let secured = 0;
    server.on('secureConnection', () => secured++);
    let failed = nextClientError(server);
    const cli = pskCli(port, version, 'mallory', KEY);
    try {
      expectTyped(await failed);
      expect(await peerExit(cli)).not.toBe(0);
    } finally {
      await cli.kill();
    }
    failed = nextClientError(server);
    const c = tracked(
      nodeTls.connect({
        port,
        host: '127.0.0.1',
        minVersion: version,
        maxVersion: version,
        ciphers: NODE_PSK_CIPHERS,
        checkServerIdentity: () => undefined,
        pskCallback: () => ({ psk: KEY, identity: 'trudy' }),
      }),
    );
    const nodeErr = nextError(c, "Node's client");
    expectTyped(await failed);
    expect((await nodeErr).message).toEqual(expect.any(String));
    expect(identities).toEqual(['mallory', 'trudy']);
    expect(secured).toBe(0);
  });

  test('server callback throwing: tlsClientError carries the thrown error (its code, or ERR_TLS_PSK_CALLBACK)', async () => {
    const thrown: Error[] = [];
    let withCode = true;
    const { server, port } = await ourPskServer(() => {
      const e = new Error(withCode ? 'psk store unavailable' : 'no code here');
      if (withCode) (e as Error & { code: string }).code = 'E_PSK_STORE';
      thrown.push(e);
      throw e;
    });
    let failed = nextClientError(server);
    const cli = pskCli(port, version, IDENTITY, KEY);
    try {
      const err = await failed;
      expectTyped(err);
      expect(err.code).toBe('E_PSK_STORE');
      expect(err.message).toBe('psk store unavailable');
      expect((err as { cause?: unknown }).cause).toBe(thrown[0]);
      expect(await peerExit(cli)).not.toBe(0);
    } finally {
      await cli.kill();
    }
    withCode = false;
    failed = nextClientError(server);
    const c = tracked(connect({ port, host: '127.0.0.1', pskCallback: () => ({ psk: KEY, identity: IDENTITY }) }));
    const clientErr = nextError(c, 'our client');
    const err = await failed;
    expect(err.code).toBe('ERR_TLS_PSK_CALLBACK');
    expect((err as { cause?: unknown }).cause).toBe(thrown[1]);
    expectTyped(await clientErr);
  });

  test("client callback throwing: the socket's error carries the thrown error (gnutls-serv)", async () => {
    const srv = await pskServ(version);
    try {
      const cases: Array<[Error, string]> = [
        [Object.assign(new Error('identity store locked'), { code: 'E_ID_STORE' }), 'E_ID_STORE'], // its own code wins
        [new Error('no code'), 'ERR_TLS_PSK_CALLBACK'],
      ];
      for (const [thrown, code] of cases) {
        const c = tracked(
          connect({
            port: srv.port,
            host: '127.0.0.1',
            pskCallback: () => {
              throw thrown;
            },
          }),
        );
        const e = await nextError(c, 'our client');
        expectTyped(e);
        expect(e.code).toBe(code);
        expect((e as { cause?: unknown }).cause).toBe(thrown);
      }
    } finally {
      await srv.kill();
    }
  });

  test('client callback returning null: refused with a named error code', async () => {
    const srv = await pskServ(version);
    try {
      const c = tracked(connect({ port: srv.port, host: '127.0.0.1', pskCallback: () => null }));
      let secured = false;
      c.on('secureConnect', () => (secured = true));
      const err = await nextError(c, 'our client');
      expectTyped(err);
      expect(secured).toBe(false);
      // The refusal is a named GnuTLS error, not a bare -1 ("unknown error code").
      expect(err.code).not.toBe('ERR_TLS_GNUTLS');
      expect(err.message).not.toMatch(/unknown error code/);
    } finally {
      await srv.kill();
    }
  });
});

test("TLS 1.2: a client callback that answers only the server's hint connects, as Node's client does", async () => {
  // A TLS 1.3-capable client is first asked with hint null (for the ClientHello's TLS 1.3 PSK
  // offer). Null there means "offer no usable TLS 1.3 PSK"; a TLS 1.2 server's hint then brings a
  // second call, as with Node's client.
  const srv = await pskServ('TLSv1.2');
  try {
    const answer = (hint: string | null) => (hint === HINT ? { psk: KEY, identity: IDENTITY } : null);
    const nodeHints: Array<string | null> = [];
    const n = tracked(
      nodeTls.connect({
        port: srv.port,
        host: '127.0.0.1',
        ciphers: NODE_PSK_CIPHERS,
        checkServerIdentity: () => undefined,
        pskCallback: (hint) => {
          nodeHints.push(hint);
          return answer(hint);
        },
      }),
    );
    await once(n, 'secureConnect');
    expect(n.getProtocol()).toBe('TLSv1.2');
    expect(nodeHints).toEqual([null, HINT]);
    n.end();

    const hints: Array<string | null> = [];
    const c = tracked(
      connect({
        port: srv.port,
        host: '127.0.0.1',
        pskCallback: (hint) => {
          hints.push(hint);
          return answer(hint);
        },
      }),
    );
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(hints).toEqual([null, HINT]);
  } finally {
    await srv.kill();
  }
});
