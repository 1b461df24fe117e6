// Hostile input at our DTLS server: the stateless cookie exchange (a ClientHello without a valid
// cookie gets a HelloVerifyRequest and creates no session), spoofed ClientHellos from many source
// ports, the cap on half-open peers, 10,000+ random and mutated datagrams (at the port and inside
// an established association), vanished peers timing out, and close() from inside callbacks.
import * as dgram from 'dgram';
import { randomBytes } from 'crypto';
import { binding } from '../lib/native';
import { connect, createServer, DTLSServer, DTLSServerOptions, DTLSSocket, TLSError } from '../lib/dtls';
import { fixture, onCleanup, once, within } from './helpers';
import { bindServer, messages, trackedDtls } from './helpers/dtls';
import { captureClientHello, cookieOf, isHelloVerifyRequest, prng, withCookie } from './helpers/dtls-wire';

const serverOptions = { key: fixture('server.key'), cert: fixture('server-chain.pem') };

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    s.close();
  });
  return s;
}

/** Sends `d` from `s` to the server and resolves with the first reply (or null after `ms`). */
function ask(s: dgram.Socket, port: number, d: Buffer, ms = 500): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off('message', on);
      resolve(null);
    }, ms);
    const on = (m: Buffer): void => {
      clearTimeout(timer);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
    s.send(d, port, '127.0.0.1');
  });
}

const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

function echoServer(extra: DTLSServerOptions = {}): DTLSServer {
  const server = createServer({ ...serverOptions, ...extra }, (s) => s.on('message', (m) => s.send(m)));
  server.on('clientError', () => {});
  return server;
}

let hello: Buffer;
beforeAll(async () => {
  hello = await captureClientHello();
});


/**
 * A relay socket in front of the server at `port`: what reaches it is sent on to the server from
 * one other socket, and the server's answers go back to the last sender. Everyone behind it
 * shares one address, as the server sees them.
 */
async function relay(port: number): Promise<{ front: dgram.Socket; back: dgram.Socket }> {
  const front = await udp();
  const back = await udp();
  let client: dgram.RemoteInfo | null = null;
  front.on('message', (m, r) => {
    client = r;
    back.send(m, port, '127.0.0.1');
  });
  back.on('message', (m) => client && front.send(m, client.port, client.address));
  return { front, back };
}
test('cookie exchange: a ClientHello gets a HelloVerifyRequest and no state; its cookie from another port does not count', async () => {
  const server = echoServer();
  const port = await bindServer(server);
  const before = binding.liveSessions();
  const a = await udp();
  const hvr = await ask(a, port, hello);
  expect(hvr).not.toBeNull();
  expect(isHelloVerifyRequest(hvr!)).toBe(true);
  expect(binding.liveSessions()).toBe(before);
  expect(server.stats).toMatchObject({ cookiesSent: 1, halfOpen: 0, established: 0 });
  // The cookie is bound to a's address and port: from b it is answered with a fresh request.
  const b = await udp();
  const again = await ask(b, port, withCookie(hello, cookieOf(hvr!)));
  expect(again && isHelloVerifyRequest(again)).toBe(true);
  expect(binding.liveSessions()).toBe(before);
  // From a, the cookie opens a session (the server's flight comes back, not a HelloVerifyRequest).
  const flight = await ask(a, port, withCookie(hello, cookieOf(hvr!)));
  expect(flight && !isHelloVerifyRequest(flight)).toBe(true);
  expect(server.stats.halfOpen).toBe(1);
  expect(binding.liveSessions()).toBe(before + 1);
});

test('a rotated secret: a cookie of the previous period still counts, one two rotations old does not', async () => {
  const server = echoServer();
  const port = await bindServer(server);
  const a = await udp();
  const hvr = (await ask(a, port, hello))!;
  server.rotateCookieSecret();
  server.rotateCookieSecret();
  const stale = await ask(a, port, withCookie(hello, cookieOf(hvr)));
  expect(stale && isHelloVerifyRequest(stale)).toBe(true);
  const fresh = (await ask(a, port, hello))!;
  server.rotateCookieSecret();
  const flight = await ask(a, port, withCookie(hello, cookieOf(fresh)));
  expect(flight && !isHelloVerifyRequest(flight)).toBe(true);
});

test('spoofed ClientHellos from 300 source ports: answered statelessly, no session', async () => {
  const server = echoServer();
  const port = await bindServer(server);
  const before = binding.liveSessions();
  const sockets = await Promise.all(Array.from({ length: 300 }, () => udp()));
  let replies = 0;
  for (const s of sockets) s.on('message', () => replies++);
  const rnd = randomBytes(32);
  // In batches, so that the kernel's receive buffer does not drop them (that would prove nothing).
  for (let i = 0; i < sockets.length; i += 25) {
    for (const s of sockets.slice(i, i + 25)) {
      s.send(hello, port, '127.0.0.1');
      s.send(withCookie(hello, rnd), port, '127.0.0.1'); // a forged cookie
    }
    const want = 2 * Math.min(i + 25, sockets.length);
    await within(
      (async () => {
        while (replies < want) await settle(5);
      })(),
      5000,
      `${want} HelloVerifyRequests (got ${replies})`,
    );
  }
  expect(binding.liveSessions()).toBe(before);
  expect(server.stats).toMatchObject({ cookiesSent: 600, halfOpen: 0, established: 0 });
});

test('half-open cap: past maxHalfOpen valid-cookie peers are refused; handshakeTimeout frees the rest', async () => {
  const server = createServer({ ...serverOptions, maxHalfOpen: 3, handshakeTimeout: 400 });
  const errors: string[] = [];
  server.on('clientError', (err) => errors.push(err.code));
  const port = await bindServer(server);
  const before = binding.liveSessions();
  const sockets = await Promise.all(Array.from({ length: 10 }, () => udp()));
  for (const s of sockets) {
    const hvr = (await ask(s, port, hello))!;
    s.send(withCookie(hello, cookieOf(hvr)), port, '127.0.0.1');
  }
  await settle(100);
  expect(server.stats.halfOpen).toBe(3);
  expect(binding.liveSessions()).toBe(before + 3);
  expect(errors.filter((c) => c === 'ERR_DTLS_TOO_MANY_HALF_OPEN')).toHaveLength(7);
  await within(
    (async () => {
      while (server.stats.halfOpen > 0) await settle(50);
    })(),
    3000,
    'half-open peers timing out',
  );
  expect(errors.filter((c) => c === 'ERR_DTLS_HANDSHAKE_TIMEOUT')).toHaveLength(3);
  expect(binding.liveSessions()).toBe(before);
});

test('10,000+ random and mutated datagrams at the port and inside an association: no crash, nothing kept, the association goes on', async () => {
  const server = echoServer();
  const peerEvents: string[] = [];
  server.on('secureConnection', (s) => {
    s.on('error', (e) => peerEvents.push(`error ${(e as TLSError).code}`));
    s.on('end', () => peerEvents.push('end'));
  });
  const port = await bindServer(server);
  // A client whose datagrams pass through a relay, so garbage can come from its own address.
  const { front, back } = await relay(port);
  const c = trackedDtls(connect({ host: '127.0.0.1', port: front.address().port, servername: 'localhost', ca: fixture('ca.pem') }));
  const got = messages(c);
  await once(c, 'secureConnect');
  const before = binding.liveSessions();
  const rnd = prng(42);
  const strangers = await Promise.all(Array.from({ length: 20 }, () => udp()));
  const mutate = (b: Buffer): Buffer => {
    const m = Buffer.from(b);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < flips; i++) m[Math.floor(rnd() * m.length)] ^= 1 << Math.floor(rnd() * 8);
    return rnd() < 0.2 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
  };
  const record = (): Buffer => {
    // A plausible DTLS record header (application data or handshake, epoch 0 or 1) over random bytes.
    const body = randomBytes(Math.floor(rnd() * 200));
    const h = Buffer.from([[20, 21, 22, 23][Math.floor(rnd() * 4)], 0xfe, 0xfd, 0, rnd() < 0.5 ? 1 : 0, 0, 0, 0, 0, 0, Math.floor(rnd() * 255), body.length >> 8, body.length & 255]);
    return Buffer.concat([h, body]);
  };
  let sent = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 120; i++) {
      const kind = rnd();
      const d = kind < 0.01 ? Buffer.alloc(0) : kind < 0.3 ? randomBytes(Math.floor(rnd() * 1500)) : kind < 0.7 ? mutate(hello) : record();
      strangers[i % strangers.length].send(d, port, '127.0.0.1');
      // Inside the association: from the client's address and port.
      back.send(rnd() < 0.5 ? record() : mutate(hello), port, '127.0.0.1');
      sent += 2;
    }
    await settle(5);
  }
  expect(sent).toBeGreaterThanOrEqual(10000);
  await settle(200);
  expect(peerEvents).toEqual([]);
  // Datagrams that are not whole records never reach GnuTLS (after a record longer than its
  // datagram, GnuTLS 3.7 was seen to discard every later record of the association).
  const peer = await new Promise<DTLSSocket>((resolve) => {
    for (const p of (server as unknown as { _peers: Map<string, DTLSSocket> })._peers.values()) resolve(p);
  });
  expect(peer.droppedDatagrams).toBeGreaterThan(0);
  expect(binding.liveSessions()).toBeLessThanOrEqual(before);
  expect(server.stats.halfOpen).toBe(0);
  // The association survived the flood.
  c.send('still-here');
  await got.waitFor('still-here');
  // And a new client still gets served.
  const d = trackedDtls(connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixture('ca.pem') }));
  await once(d, 'secureConnect');
}, 30000);

test('a peer that never answers: ERR_DTLS_HANDSHAKE_TIMEOUT after handshakeTimeout, session freed', async () => {
  const silent = await udp();
  const heard: Buffer[] = [];
  silent.on('message', (m) => heard.push(m));
  const before = binding.liveSessions();
  const t0 = Date.now();
  const c = trackedDtls(connect({ host: '127.0.0.1', port: silent.address().port, handshakeTimeout: 700, retransmitTimeout: 100, rejectUnauthorized: false }));
  const err = await once<TLSError>(c, 'error').catch((e: TLSError) => e);
  expect(err.code).toBe('ERR_DTLS_HANDSHAKE_TIMEOUT');
  expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
  expect(heard.length).toBeGreaterThanOrEqual(3); // the ClientHello and its retransmissions
  await settle(20);
  expect(binding.liveSessions()).toBe(before);
});

describe('close() from inside callbacks', () => {
  const PSK = randomBytes(16);
  const PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK';

  test('inside the server pskCallback and the client pskCallback: no crash, sessions freed', async () => {
    const before = binding.liveSessions();
    const server = createServer({ priority: PRIORITY, handshakeTimeout: 500, pskCallback: (s) => (s.close(), PSK) });
    const errs: string[] = [];
    server.on('clientError', (e) => errs.push(e.code));
    const port = await bindServer(server);
    const c = trackedDtls(connect({ host: '127.0.0.1', port, priority: PRIORITY, handshakeTimeout: 1000, pskCallback: () => ({ identity: 'x', psk: PSK }) }));
    // The server dropped the half-open peer: nothing tells the client, whose handshake times out.
    const err = await once<TLSError>(c, 'error', 5000).catch((e: TLSError) => e);
    expect(err.code).toBe('ERR_DTLS_HANDSHAKE_TIMEOUT');
    const c2 = connect({ host: '127.0.0.1', port, priority: PRIORITY, pskCallback: () => (c2.close(), { identity: 'x', psk: PSK }) });
    const c2Errors: Error[] = [];
    c2.on('error', (e) => c2Errors.push(e));
    await new Promise<void>((r) => c2.once('close', () => r()));
    expect(c2Errors).toEqual([]);
    // The server's half-open peer for c2 lasts until its handshakeTimeout.
    await within(
      (async () => {
        while (server.stats.halfOpen > 0) await settle(50);
      })(),
      3000,
      'half-open peers timing out',
    );
    expect(errs).toContain('ERR_DTLS_HANDSHAKE_TIMEOUT');
    expect(binding.liveSessions()).toBe(before);
  });

  test("inside 'secureConnect', 'secureConnection' and 'message'", async () => {
    const before = binding.liveSessions();
    const server = echoServer();
    const port = await bindServer(server);
    const a = connect({ host: '127.0.0.1', port, ca: fixture('ca.pem'), servername: 'localhost' }, () => a.close());
    await once(a, 'close');
    const b = trackedDtls(connect({ host: '127.0.0.1', port, ca: fixture('ca.pem'), servername: 'localhost' }));
    b.on('message', () => b.close());
    await once(b, 'secureConnect');
    b.send('x');
    b.send('y');
    await once(b, 'close');
    server.once('secureConnection', (s: DTLSSocket) => s.close());
    const c = trackedDtls(connect({ host: '127.0.0.1', port, ca: fixture('ca.pem'), servername: 'localhost' }));
    const ended = once(c, 'end');
    await ended;
    await settle(50);
    expect(binding.liveSessions()).toBe(before);
  });
});

test('a client that restarts from the same address and port: its new handshake, once past the cookie, replaces the old association', async () => {
  const server = echoServer();
  const port = await bindServer(server);
  // Both clients reach the server through one relay socket: to the server they share an address.
  const { front } = await relay(port);
  const peers: DTLSSocket[] = [];
  server.on('secureConnection', (s) => peers.push(s));
  const opts = { host: '127.0.0.1', port: front.address().port, servername: 'localhost', ca: fixture('ca.pem') };
  const a = trackedDtls(connect(opts));
  await once(a, 'secureConnect');
  const cookiesBefore = server.stats.cookiesSent;
  const b = trackedDtls(connect(opts));
  const got = messages(b);
  await once(b, 'secureConnect');
  expect(server.stats.cookiesSent).toBe(cookiesBefore + 1);
  expect(peers).toHaveLength(2);
  await settle(20);
  expect(server.stats.established).toBe(1);
  b.send('after-restart');
  await got.waitFor('after-restart');
});

test('setTimeout on a server peer: a client that vanishes without close_notify is noticed, close() frees it', async () => {
  const before = binding.liveSessions();
  const server = createServer(serverOptions, (s) => s.setTimeout(300, () => s.close()));
  const port = await bindServer(server);
  // Through a relay that goes silent: the peer just stops talking.
  const front = await udp();
  const back = await udp();
  let client: dgram.RemoteInfo | null = null;
  let cut = false;
  front.on('message', (m, r) => {
    client = r;
    if (!cut) back.send(m, port, '127.0.0.1');
  });
  back.on('message', (m) => client && !cut && front.send(m, client.port, client.address));
  const c = trackedDtls(connect({ host: '127.0.0.1', port: front.address().port, servername: 'localhost', ca: fixture('ca.pem') }));
  await once(c, 'secureConnect');
  expect(server.stats.established).toBe(1);
  cut = true;
  await within(
    (async () => {
      while (server.stats.established > 0) await settle(50);
    })(),
    3000,
    'the idle peer closed',
  );
  c.close();
  await settle(20);
  expect(binding.liveSessions()).toBe(before);
});

test('close() during a handshake sends a fatal user_canceled: the other side fails at once', async () => {
  const server = createServer({ ...serverOptions, handshakeTimeout: 10000 });
  const errors: TLSError[] = [];
  server.on('clientError', (e) => errors.push(e));
  const port = await bindServer(server);
  // A relay passing the cookie exchange and then nothing from the server: the handshake stalls.
  const front = await udp();
  const back = await udp();
  let client: dgram.RemoteInfo | null = null;
  let fromServer = 0;
  front.on('message', (m, r) => {
    client = r;
    back.send(m, port, '127.0.0.1');
  });
  back.on('message', (m) => {
    if (++fromServer === 1 && client) front.send(m, client.port, client.address);
  });
  const c = connect({ host: '127.0.0.1', port: front.address().port, servername: 'localhost', ca: fixture('ca.pem'), handshakeTimeout: 10000 });
  await within(
    (async () => {
      while (server.stats.halfOpen === 0) await settle(10);
    })(),
    3000,
    'a half-open peer',
  );
  const t0 = Date.now();
  c.close();
  await within(
    (async () => {
      while (server.stats.halfOpen > 0) await settle(10);
    })(),
    2000,
    'the server to drop the peer',
  );
  expect(Date.now() - t0).toBeLessThan(1500);
  expect(errors.map((e) => e.alert)).toEqual(['user_canceled']);
});
