// Session-level features against real peers: channel bindings (gnutls-serv's printout, Node's
// exportKeyingMaterial/getFinished), GnuTLS priority strings and cipher lists, key logging
// (SSLKEYLOGFILE, proven by decrypting a captured record), and shared session-ticket keys.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as nodeTls from 'tls';
import { createDecipheriv, createHash, createHmac, randomBytes } from 'crypto';
import {
  connect,
  createSecureContext,
  createServer,
  getCipherSuites,
  getCiphers,
  Server,
  TLSError,
  TLSSocket,
} from '../lib';
import {
  VERSIONS,
  Version,
  ensureDist,
  fixture,
  gnutlsPriority,
  gnutlsServ,
  once,
  onCleanup,
  peerExit,
  runTool,
  serveTracked,
  spawnPeer,
  stopPeer,
  tmpDir,
  tracked,
  within,
  gnutlsClient,
} from './helpers';

const ca = fixture('ca.pem');
const serverOpts = { key: fixture('server.key'), cert: fixture('server-chain.pem') };
const SERV_CREDS = ['--x509keyfile', 'server.key', '--x509certfile', 'server-chain.pem'];
const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');

let dir: string;
beforeAll(() => {
  dir = tmpDir('node-gnutls-session-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The first capture group of `re` in everything a peer printed. */
function grab(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[1];
}

const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');

/** Resolves once `sock` has received `text` (listener attached at call time). */
function receives(sock: NodeJS.EventEmitter, text: string): Promise<void> {
  let got = '';
  return within(
    new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes(text)) resolve();
      });
    }),
    10000,
    JSON.stringify(text),
  );
}

// ---- channel bindings ----------------------------------------------------------------------------

describe.each(VERSIONS)('channel bindings, %s', (version) => {
  test('our client ↔ gnutls-serv: each binding equals what gnutls-serv printed for the connection', async () => {
    const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', gnutlsPriority(version)]);
    try {
      const c = tracked(connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca }));
      await once(c, 'secureConnect');
      expect(c.getProtocol()).toBe(version);
      const ours = {
        unique: c.getChannelBinding('tls-unique'),
        endPoint: c.getChannelBinding('tls-server-end-point'),
        exporter: c.getChannelBinding('tls-exporter'),
      };
      const echoed = receives(c, 'bindings\n');
      c.write('bindings\n');
      await echoed;
      c.end();
      await once(c, 'close');
      await stopPeer(srv);
      const out = srv.out() + srv.err();
      expect(out).toContain('- Channel bindings');
      const printed = (name: string): string | undefined => grab(out, new RegExp(`^ - '${name}': (.+)$`, 'm'));
      if (version === 'TLSv1.2') {
        expect(hex(ours.unique)).toBe(printed('tls-unique'));
        expect(ours.unique).toHaveLength(12); // the first Finished's verify_data
      } else {
        expect(printed('tls-unique')).toBe('not available');
        expect(ours.unique).toBeUndefined();
      }
      expect(hex(ours.endPoint)).toBe(printed('tls-server-end-point'));
      expect(hex(ours.exporter)).toBe(printed('tls-exporter'));
      expect(ours.exporter).toHaveLength(32);
    } finally {
      await srv.kill();
    }
  });

  test("our server ↔ Node's client: tls-exporter, tls-unique and tls-server-end-point from Node's side", async () => {
    const server = createServer(serverOpts, (s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(d));
    });
    const { port, next } = await serveTracked<TLSSocket>(server);
    const secure = next();
    const c = tracked(
      nodeTls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, minVersion: version, maxVersion: version }),
    );
    await once(c, 'secureConnect');
    const s = await secure;
    const label = 'EXPORTER-Channel-Binding';
    // RFC 9266: 32 bytes, label "EXPORTER-Channel-Binding", an empty context.
    const nodeEmpty = c.exportKeyingMaterial(32, label, Buffer.alloc(0));
    // No context at all (Node's types insist on one; Node treats undefined as absent).
    const nodeAbsent = c.exportKeyingMaterial(32, label, undefined as unknown as Buffer);
    expect(hex(s.getChannelBinding('tls-exporter'))).toBe(hex(nodeEmpty));
    if (version === 'TLSv1.2') {
      // RFC 5705 tells "no context" from "empty context" apart; RFC 9266 means the empty one.
      expect(hex(nodeAbsent)).not.toBe(hex(nodeEmpty));
      // tls-unique: the first Finished of the handshake, the client's in a full handshake.
      expect(hex(s.getChannelBinding('tls-unique'))).toBe(hex(c.getFinished()));
      expect(hex(s.getPeerFinished())).toBe(hex(c.getFinished()));
    } else {
      expect(hex(nodeAbsent)).toBe(hex(nodeEmpty)); // identical under TLS 1.3 (RFC 8446 7.5)
      expect(s.getChannelBinding('tls-unique')).toBeUndefined();
    }
    // Our exportKeyingMaterial agrees with Node's for any label/context.
    const ctx = randomBytes(16);
    expect(hex(s.exportKeyingMaterial(48, 'EXPERIMENTAL-node-gnutls', ctx))).toBe(
      hex(c.exportKeyingMaterial(48, 'EXPERIMENTAL-node-gnutls', ctx)),
    );
    // tls-server-end-point (RFC 5929): the leaf hashed with its signature's hash (SHA-256 for
    // SHA-1/MD5 and SHA-256 signatures).
    const sigAlg = grab(runTool('openssl', ['x509', '-in', 'server.pem', '-noout', '-text']), /Signature Algorithm: (\S+)/)!;
    const hash = /sha384/i.test(sigAlg) ? 'sha384' : /sha512/i.test(sigAlg) ? 'sha512' : 'sha256';
    const leaf = c.getPeerCertificate().raw;
    expect(hex(s.getChannelBinding('tls-server-end-point'))).toBe(createHash(hash).update(leaf).digest('hex'));
  });

  test('getChannelBinding: unknown type is ERR_INVALID_ARG_VALUE', async () => {
    const server = createServer(serverOpts, (s) => s.on('error', () => {}));
    const { port } = await serveTracked<TLSSocket>(server);
    const c = tracked(connect({ port, host: '127.0.0.1', servername: 'localhost', ca, maxVersion: version }));
    await once(c, 'secureConnect');
    expect(() => c.getChannelBinding('tls-bogus' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

// ---- priority strings and cipher lists -----------------------------------------------------------

describe('priority strings', () => {
  const BAD = [
    ['NORMAL:+BOGUS-TOKEN', '+BOGUS-TOKEN'],
    ['NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_SUCH_FLAG', '%NO_SUCH_FLAG'],
    ['SECURE128:-CIPHER-ALL:+AES-128-GCM:+NOT-A-CIPHER:+SHA256', '+NOT-A-CIPHER'],
  ] as const;

  function thrown(fn: () => unknown): TLSError & { errorOffset?: number } {
    try {
      fn();
    } catch (e) {
      return e as TLSError & { errorOffset?: number };
    }
    throw new Error('did not throw');
  }

  test.each(BAD)('%s: TLSError with errorOffset at the bad token (createSecureContext, createServer, getCipherSuites)', (priority, token) => {
    for (const fn of [
      () => createSecureContext({ priority }),
      () => createServer({ ...serverOpts, priority }),
      () => getCipherSuites(priority),
    ]) {
      const err = thrown(fn);
      expect(err).toBeInstanceOf(TLSError);
      expect(typeof err.code).toBe('string');
      expect(typeof err.errorOffset).toBe('number');
      expect(priority.slice(err.errorOffset)).toMatch(new RegExp(`^${token.replace(/[+%]/g, '\\$&')}`));
    }
  });

  test('connect() with a bad priority throws before opening a connection, as Node does with bad options', async () => {
    const connections: net.Socket[] = [];
    const server = net.createServer((s) => {
      connections.push(s);
      s.on('error', () => {});
    });
    const { port } = await serveTracked(server);
    // Node's tls.connect builds its secure context before it opens the TCP connection.
    expect(() => nodeTls.connect({ port, host: '127.0.0.1', ciphers: 'NO-SUCH-CIPHER' })).toThrow();
    const err = thrown(() => connect({ port, host: '127.0.0.1', priority: 'NORMAL:+BOGUS-TOKEN' }));
    expect(err).toBeInstanceOf(TLSError);
    expect(err.errorOffset).toBe('NORMAL:'.length);
    // A connection made afterwards is the first the server sees when nothing leaked.
    const probe = tracked(net.connect(port, '127.0.0.1'));
    await once(probe, 'connect');
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (connections.some((s) => s.remotePort === probe.localPort)) resolve();
          else setTimeout(check, 10);
        };
        check();
      }),
      5000,
      'the probe connection',
    );
    onCleanup(() => connections.forEach((s) => s.destroy()));
    // connect() parses the options before it opens a TCP connection, as Node does: bad options
    // throw and leave no connection (nor an unhandled ECONNREFUSED) behind.
    expect(connections.map((s) => s.remotePort)).toEqual([probe.localPort]);
  });

  test("getCiphers(): lower-case OpenSSL names, many shared with Node's tls.getCiphers()", () => {
    const ours = getCiphers();
    const node = nodeTls.getCiphers();
    expect(ours.length).toBeGreaterThan(0);
    for (const name of ours) expect(name).toBe(name.toLowerCase());
    expect(new Set(ours).size).toBe(ours.length);
    const shared = ours.filter((n) => node.includes(n));
    expect(shared.length).toBeGreaterThan(ours.length / 2);
    // The TLS 1.3 suites of the default policy are among them.
    for (const s of getCipherSuites().filter((x) => x.minVersion === 'TLS1.3')) {
      expect(shared).toContain(s.name.toLowerCase());
    }
  });

  test('getCipherSuites(priority) lists exactly the suites the priority enables', () => {
    const tls12 = getCipherSuites('NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM');
    expect(tls12.length).toBeGreaterThan(0);
    for (const s of tls12) {
      expect(s.gnutlsName).toMatch(/_AES_128_GCM_/);
      expect(s.standardName).toMatch(/_AES_128_GCM_/);
      expect(s.name).toMatch(/AES128-GCM/);
      expect(s.id).toMatch(/^[0-9a-f]{4}$/);
      expect(s.minVersion).not.toBe('TLS1.3');
    }
    const tls13 = getCipherSuites('NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM');
    expect(tls13.map((s) => s.standardName)).toEqual(['TLS_AES_128_GCM_SHA256']);
    expect(tls13[0].id).toBe('1301');
    const all = getCipherSuites('NORMAL');
    expect(all.length).toBeGreaterThan(tls12.length);
  });

  describe.each(VERSIONS)('%s', (version) => {
    test("gnutls-serv's restricted priority shows in getCipher() and getNegotiatedParameters()", async () => {
      const servPriority = `${gnutlsPriority(version)}:-CIPHER-ALL:+AES-128-GCM`;
      const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', servPriority]);
      try {
        const c = tracked(connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca }));
        await once(c, 'secureConnect');
        const params = c.getNegotiatedParameters()!;
        const cipher = c.getCipher()!;
        expect(params.cipher).toBe('AES-128-GCM');
        expect(params.protocol).toBe(version.replace('v', ''));
        const allowed = getCipherSuites(servPriority);
        expect(allowed.map((s) => s.standardName)).toContain(cipher.standardName);
        expect(allowed.map((s) => s.name)).toContain(cipher.name);
        expect(cipher.version).toBe(version);
        c.end();
        await once(c, 'close');
        await stopPeer(srv);
        const out = srv.out();
        expect(grab(out, /^- Cipher: (\S+)$/m)).toBe(params.cipher);
        if (version === 'TLSv1.2') expect(grab(out, /^- Key Exchange: (\S+)$/m)).toBe(params.keyExchange);
        // TLS 1.3: the group, as gnutls-serv's session description names the key exchange
        else expect(grab(out, /^- Description: \(TLS1\.3-X\.509\)-\(([^)]+)\)/m)).toBe(params.keyExchange);
      } finally {
        await srv.kill();
      }
    });

    test("our client's priority (cipher, group) decides what gnutls-serv negotiates", async () => {
      const srv = await gnutlsServ(['--echo', ...SERV_CREDS, '--priority', gnutlsPriority(version)]);
      try {
        const priority = `${gnutlsPriority(version)}:-CIPHER-ALL:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-SECP384R1`;
        const c = tracked(connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', ca, priority }));
        await once(c, 'secureConnect');
        const params = c.getNegotiatedParameters()!;
        expect(params.cipher).toBe('CHACHA20-POLY1305');
        expect(params.group).toBe('SECP384R1');
        expect(c.getEphemeralKeyInfo()).toEqual({ type: 'ECDH', name: 'secp384r1', size: 384 });
        expect(c.getCipher()!.name).toMatch(/CHACHA20/);
        c.end();
        await once(c, 'close');
        await stopPeer(srv);
        const out = srv.out() + srv.err();
        expect(grab(out, /^- Cipher: (\S+)$/m)).toBe('CHACHA20-POLY1305');
        expect(grab(out, /Using curve: (\S+)/)).toBe('SECP384R1');
        expect(grab(out, /^- Server Signature: (\S+)$/m)).toBe(params.serverSignature);
      } finally {
        await srv.kill();
      }
    });
  });
});

// ---- key logging ---------------------------------------------------------------------------------

/** A TCP relay on 127.0.0.1 that records both directions of the one connection it carries. */
async function relay(targetPort: number): Promise<{ port: number; toClient: () => Buffer; toServer: () => Buffer }> {
  const s2c: Buffer[] = [];
  const c2s: Buffer[] = [];
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    down.on('data', (d) => {
      c2s.push(d);
      up.write(d);
    });
    up.on('data', (d) => {
      s2c.push(d);
      down.write(d);
    });
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  const { port } = await serveTracked(server);
  return { port, toClient: () => Buffer.concat(s2c), toServer: () => Buffer.concat(c2s) };
}

interface TlsRecord {
  type: number;
  header: Buffer;
  body: Buffer;
}

function records(stream: Buffer): TlsRecord[] {
  const out: TlsRecord[] = [];
  for (let o = 0; o + 5 <= stream.length; ) {
    const len = stream.readUInt16BE(o + 3);
    out.push({ type: stream[o], header: stream.subarray(o, o + 5), body: stream.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

/** HKDF-Expand (RFC 5869) with HMAC-`hash`. */
function hkdfExpand(hash: string, prk: Buffer, info: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    t = createHmac(hash, prk).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 7.1) with an empty context. */
function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  return hkdfExpand(hash, secret, info, length);
}

/** AEAD, hash and key length of a TLS 1.3 suite (IANA name). */
function suiteParams(suite: string): { aead: string; hash: string; keyLen: number } {
  switch (suite) {
    case 'TLS_AES_128_GCM_SHA256':
      return { aead: 'aes-128-gcm', hash: 'sha256', keyLen: 16 };
    case 'TLS_AES_256_GCM_SHA384':
      return { aead: 'aes-256-gcm', hash: 'sha384', keyLen: 32 };
    case 'TLS_CHACHA20_POLY1305_SHA256':
      return { aead: 'chacha20-poly1305', hash: 'sha256', keyLen: 32 };
    default:
      throw new Error(`no parameters for ${suite}`);
  }
}

/** Opens a TLS 1.3 record (RFC 8446 5.2/5.3): inner content type and content, or null. */
function openRecord(
  rec: TlsRecord,
  p: { aead: string },
  key: Buffer,
  iv: Buffer,
  seq: number,
): { type: number; content: Buffer } | null {
  const nonce = Buffer.from(iv);
  const seqBuf = Buffer.alloc(8);
  seqBuf.writeBigUInt64BE(BigInt(seq));
  for (let i = 0; i < 8; i++) nonce[nonce.length - 8 + i] ^= seqBuf[i];
  const tag = rec.body.subarray(rec.body.length - 16);
  const ct = rec.body.subarray(0, rec.body.length - 16);
  try {
    const d = createDecipheriv(p.aead as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
    d.setAAD(rec.header);
    d.setAuthTag(tag);
    const inner = Buffer.concat([d.update(ct), d.final()]);
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    return { type: inner[end], content: inner.subarray(0, end) };
  } catch {
    return null;
  }
}

/** The NSS key log: label → { clientRandom, secret } (one connection). */
function parseKeylog(text: string): Map<string, { clientRandom: string; secret: Buffer }> {
  const m = new Map<string, { clientRandom: string; secret: Buffer }>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length === 3) m.set(f[0], { clientRandom: f[1].toLowerCase(), secret: Buffer.from(f[2], 'hex') });
  }
  return m;
}

/** A Node script using the built package: connects, prints what it received and its cipher. */
const CHILD = `
const fs = require('fs');
const tls = require(process.argv[2]);
const [port, caFile, version] = [Number(process.argv[3]), process.argv[4], process.argv[5]];
const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fs.readFileSync(caFile), minVersion: version, maxVersion: version });
let got = '';
c.on('data', (d) => (got += d.toString()));
c.on('end', () => {
  process.stdout.write(JSON.stringify({ received: got, cipher: c.getCipher(), protocol: c.getProtocol() }));
  c.end();
});
c.on('error', (e) => { console.error(e); process.exit(2); });
`;

async function runKeylogChild(
  port: number,
  version: Version,
  keylogFile: string,
): Promise<{ received: string; cipher: { standardName: string }; protocol: string }> {
  const script = path.join(dir, 'keylog-child.js');
  fs.writeFileSync(script, CHILD);
  const child = spawnPeer(process.execPath, [script, DIST, String(port), path.join(ROOT, 'test', 'fixtures', 'ca.pem'), version], {
    env: { ...process.env, SSLKEYLOGFILE: keylogFile },
  });
  const code = await peerExit(child, 20000);
  if (code !== 0) throw new Error(`keylog child exited with ${code}\n${child.out()}\n${child.err()}`);
  return JSON.parse(child.out());
}

describe('key logging', () => {
  beforeAll(() => ensureDist(), 120000);

  test('TLS 1.3: SSLKEYLOGFILE gets NSS lines whose SERVER_TRAFFIC_SECRET_0 decrypts a captured record', async () => {
    const payload = `known payload ${randomBytes(8).toString('hex')}\n`;
    const nodeLines: string[] = [];
    const server = nodeTls.createServer({ ...serverOpts, minVersion: 'TLSv1.3' }, (s) => {
      s.on('error', () => {});
      s.end(payload);
    });
    server.on('keylog', (line: Buffer) => nodeLines.push(line.toString().trim()));
    const { port } = await serveTracked(server);
    const wire = await relay(port);
    const keylog = path.join(dir, 'keylog13.txt');
    const result = await runKeylogChild(wire.port, 'TLSv1.3', keylog);
    expect(result.received).toBe(payload);
    expect(result.protocol).toBe('TLSv1.3');

    const text = fs.readFileSync(keylog, 'utf8');
    const log = parseKeylog(text);
    for (const label of [
      'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'SERVER_TRAFFIC_SECRET_0',
    ]) {
      expect(log.has(label)).toBe(true);
    }
    // Every line names the ClientHello's random, as the relay saw it.
    const hello = records(wire.toServer())[0];
    expect(hello.type).toBe(22);
    expect(hello.body[0]).toBe(1); // ClientHello
    const clientRandom = hello.body.subarray(6, 38).toString('hex');
    for (const v of log.values()) expect(v.clientRandom).toBe(clientRandom);
    // Node's server logged the same secrets for the same connection.
    for (const line of nodeLines) expect(text).toContain(line);

    // Derive the server's application key and IV (RFC 8446 7.3) and open its records in order.
    const p = suiteParams(result.cipher.standardName);
    const secret = log.get('SERVER_TRAFFIC_SECRET_0')!.secret;
    const key = expandLabel(p.hash, secret, 'key', p.keyLen);
    const iv = expandLabel(p.hash, secret, 'iv', 12);
    let seq = 0;
    const opened: Array<{ type: number; content: Buffer }> = [];
    for (const rec of records(wire.toClient())) {
      if (rec.type !== 23) continue; // application_data records only (the handshake ones fail)
      const r = openRecord(rec, p, key, iv, seq);
      if (!r) {
        expect(seq).toBe(0); // before the first application-key record: handshake-key records
        continue;
      }
      opened.push(r);
      seq++;
    }
    const appData = opened.filter((r) => r.type === 23);
    expect(appData.length).toBeGreaterThan(0);
    expect(appData[0].content.toString()).toBe(payload);
  });

  test("TLS 1.2: the CLIENT_RANDOM line in SSLKEYLOGFILE equals Node's server 'keylog' line", async () => {
    const nodeLines: string[] = [];
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
      s.on('error', () => {});
      s.end('tls 1.2 payload\n');
    });
    server.on('keylog', (line: Buffer) => nodeLines.push(line.toString().trim()));
    const { port } = await serveTracked(server);
    const keylog = path.join(dir, 'keylog12.txt');
    const result = await runKeylogChild(port, 'TLSv1.2', keylog);
    expect(result.received).toBe('tls 1.2 payload\n');
    expect(result.protocol).toBe('TLSv1.2');
    const ours = fs.readFileSync(keylog, 'utf8').split('\n').filter(Boolean);
    const nodeRandom = nodeLines.filter((l) => l.startsWith('CLIENT_RANDOM '));
    expect(nodeRandom).toHaveLength(1);
    expect(ours.filter((l) => l.startsWith('CLIENT_RANDOM '))).toEqual(nodeRandom);
  });

  test("the 'keylog' event (in process) carries the same line Node's server logs", async () => {
    const nodeLines: string[] = [];
    const server = nodeTls.createServer({ ...serverOpts, maxVersion: 'TLSv1.2' }, (s) => {
      s.on('error', () => {});
      s.end();
    });
    server.on('keylog', (line: Buffer) => nodeLines.push(line.toString().trim()));
    const { port } = await serveTracked(server);
    const lines: string[] = [];
    const c = tracked(connect({ port, host: '127.0.0.1', servername: 'localhost', ca }));
    c.on('keylog', (line) => lines.push(line.toString().trim()));
    c.resume();
    await once(c, 'secureConnect');
    await once(c, 'close');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toEqual(nodeLines);
  });
});

// ---- session tickets -----------------------------------------------------------------------------

describe('ticketKeys', () => {
  function ticketServer(ticketKeys?: Buffer): Server {
    return createServer({ ...serverOpts, ...(ticketKeys ? { ticketKeys } : {}) }, (s) => {
      s.on('error', () => {});
      s.end('hello\n');
    });
  }

  /** One TLS 1.3 connection of our client; its ticket (when one came) and whether it resumed. */
  async function visit(port: number, session?: Buffer): Promise<{ session?: Buffer; reused: boolean }> {
    let ticket: Buffer | undefined;
    const c = tracked(
      connect({ port, host: '127.0.0.1', servername: 'localhost', ca, session, minVersion: 'TLSv1.3' }),
    );
    c.on('session', (s) => (ticket = s));
    c.resume();
    await once(c, 'secureConnect');
    const reused = c.isSessionReused();
    await once(c, 'close');
    return { session: ticket, reused };
  }

  test('two servers with the same ticketKeys resume each other’s TLS 1.3 sessions; different keys do not', async () => {
    const keys = randomBytes(48);
    const a = ticketServer(keys);
    const b = ticketServer(Buffer.from(keys));
    const other = ticketServer(randomBytes(48));
    const reusedOnServer: boolean[] = [];
    for (const s of [a, b, other]) s.on('secureConnection', (sock) => reusedOnServer.push(sock.isSessionReused()));
    const pa = (await serveTracked(a)).port;
    const pb = (await serveTracked(b)).port;
    const po = (await serveTracked(other)).port;

    const first = await visit(pa);
    expect(first.reused).toBe(false);
    expect(first.session).toBeDefined();

    const onB = await visit(pb, first.session);
    expect(onB.reused).toBe(true);
    const onOther = await visit(po, first.session);
    expect(onOther.reused).toBe(false); // a full handshake instead
    expect(reusedOnServer).toEqual([false, true, false]);

    // Node's tls client resumes across the pair too.
    const n1 = tracked(nodeTls.connect({ port: pa, host: '127.0.0.1', servername: 'localhost', ca, minVersion: 'TLSv1.3' }));
    const nodeSession = once<Buffer>(n1, 'session');
    n1.resume();
    const ticket = await nodeSession;
    const onB2 = once<TLSSocket>(b, 'secureConnection');
    const n2 = tracked(
      nodeTls.connect({ port: pb, host: '127.0.0.1', servername: 'localhost', ca, minVersion: 'TLSv1.3', session: ticket }),
    );
    n2.resume();
    await once(n2, 'secureConnect');
    expect(n2.isSessionReused()).toBe(true);
    expect((await onB2).isSessionReused()).toBe(true);

    // Rotating `other` to the shared keys lets it resume the session too.
    other.setTicketKeys(keys);
    expect((await visit(po, first.session)).reused).toBe(true);
  });

  test('getTicketKeys() returns what was set; setTicketKeys() checks the length', async () => {
    const keys = randomBytes(48);
    const s = ticketServer(keys);
    expect(s.getTicketKeys().equals(keys)).toBe(true);
    const replaced = randomBytes(48);
    s.setTicketKeys(replaced);
    expect(s.getTicketKeys().equals(replaced)).toBe(true);
    for (const len of [0, 16, 47, 49, 80]) {
      expect(() => s.setTicketKeys(Buffer.alloc(len))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(s.getTicketKeys().equals(replaced)).toBe(true);
    expect(() => ticketServer(Buffer.alloc(47))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test.each(VERSIONS)('gnutls-cli --resume against our server with ticketKeys, %s', async (version) => {
    const server = createServer({ ...serverOpts, ticketKeys: randomBytes(48) }, (s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(d));
    });
    const reused: boolean[] = [];
    server.on('secureConnection', (s) => reused.push(s.isSessionReused()));
    const { port } = await serveTracked<TLSSocket>(server);
    const cli = gnutlsClient(port, version, ['--resume']);
    try {
      await cli.waitFor(/This is a resumed session/);
      cli.proc.stdin!.end();
      expect(await peerExit(cli)).toBe(0);
      expect(reused).toEqual([false, true]);
    } finally {
      await cli.kill();
    }
  });
});
