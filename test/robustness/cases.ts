// The adversarial ClientHello shapes: sizes from 1 KB to past GnuTLS's handshake limit, in one
// record and in many, 1-byte records, empty records interleaved, thousands of extensions, large
// and unknown key shares, truncated and padded messages. Each is sent to gnutls-serv and to our
// server, and both answers must be the same. `scale` multiplies the counts (npm run stress).
import { randomBytes } from 'crypto';
import { EXT, GROUP, HelloSpec, SIGALGS, TLS12_SUITES, TLS13_SUITES, clientHello, emptyRecord, ext, records, u16, u24, u8 } from './tls-builder';

export interface Case {
  name: string;
  /** The bytes, built fresh for each server (randoms differ, shapes do not). */
  bytes: () => Buffer;
  /** Written one chunk per event-loop turn instead of at once. */
  chunked?: number;
  /** The input is incomplete: after the wait, half-close and compare the reaction to EOF. */
  truncated?: boolean;
  priority?: string;
  /** A deliberate difference: both answers pinned, and why ours differs. */
  differs?: { reference: string; ours: string; error: string; why: string };
}

/** EOF in the middle of the ClientHello: Node's tls answers nothing and reports ECONNRESET. */
const eofAsNode = (reference: string): Case['differs'] => ({
  reference,
  ours: 'nothing; closed',
  error: 'ECONNRESET',
  why: "EOF before the handshake completed is Node's ECONNRESET, with nothing sent to a peer that left",
});
/** A declared size over maxHandshakeSize is refused at once; gnutls-serv buffers and waits. */
const refusedAtHeader: Case['differs'] = {
  reference: 'alert 2/10; closed',
  ours: 'alert 2/50; closed',
  error: 'GNUTLS_E_HANDSHAKE_TOO_LARGE',
  why: 'a ClientHello declaring more than maxHandshakeSize is refused when its header arrives, not buffered',
};

export type V = '1.2' | '1.3';
const hello = (v: V, more: Partial<HelloSpec> = {}): Buffer => clientHello({ version: v, ...more });
/** A ClientHello of about `size` bytes (padding extension; above 64 KiB, cipher suites too). */
function sized(v: V, size: number): Buffer {
  const base = hello(v).length;
  if (size - base <= 65000) return hello(v, { padding: Math.max(0, size - base - 4) });
  const suites = (v === '1.3' ? TLS13_SUITES : TLS12_SUITES).slice();
  const fill = Math.min(32000, Math.floor((size - base - 65004) / 2));
  for (let i = 0; i < fill; i++) suites.push(0x5a00 + (i % 0x500)); // unassigned values
  return hello(v, { suites, padding: 65000 });
}
/**
 * The largest ClientHello the encoding allows, less `less` bytes of padding: 32,767 cipher
 * suites, 255 compression methods, 65,535 bytes of extensions (131,400 bytes in all).
 */
export function largest(v: V, less = 0): Buffer {
  const suites = (v === '1.3' ? TLS13_SUITES : TLS12_SUITES).slice();
  while (suites.length < 32767) suites.push(0x5a00 + (suites.length % 0x500));
  const compression = Buffer.from(Array.from({ length: 255 }, (_, i) => (i === 0 ? 0 : 0x40 + (i % 0x80))));
  const spec = { version: v, suites, compression, sessionId: randomBytes(32) };
  const base = clientHello(spec);
  const extLen = base.readUInt16BE(base.length - clientHelloExtensionsLength(base) - 2);
  return clientHello({ ...spec, padding: 65535 - extLen - 4 - less });
}
/** The length of the extensions block of a ClientHello message built by clientHello(). */
function clientHelloExtensionsLength(m: Buffer): number {
  let p = 4 + 2 + 32;
  p += 1 + m[p];
  p += 2 + m.readUInt16BE(p);
  p += 1 + m[p];
  return m.readUInt16BE(p);
}
const CCS = Buffer.from([20, 3, 3, 0, 1, 1]);
/** `msg` over records of `size` bytes with `between` (a record, or an empty one of that type) after every `every`. */
function interleaved(msg: Buffer, size: number, between: number | Buffer, every = 1): Buffer {
  const filler = typeof between === 'number' ? emptyRecord(between) : between;
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; i < msg.length; i += size) {
    parts.push(records(msg.subarray(i, i + size)));
    if (++n % every === 0 && i + size < msg.length) parts.push(filler);
  }
  return Buffer.concat(parts);
}
const unknownExtensions = (n: number, size = 0): Buffer[] =>
  Array.from({ length: n }, (_, i) => ext(0x4000 + i, Buffer.alloc(size, i & 0xff)));

export function cases(v: V, scale = 1): Case[] {
  const k = (n: number): number => Math.round(n * scale);
  const cs: Case[] = [
    { name: 'a plain ClientHello', bytes: () => records(hello(v)) },
    ...[1024, 11 * 1024, 16 * 1024, 17 * 1024, 32 * 1024, 64 * 1024, 100 * 1024, 127 * 1024].map((size) => ({
      name: `a ${size >> 10} KiB ClientHello in 16 KiB records`,
      bytes: () => records(sized(v, size)),
    })),
    { name: 'the largest ClientHello (131,400 bytes)', bytes: () => records(largest(v)) },
    // GnuTLS counts what it sends against the same 128 KiB: under TLS 1.3 the ServerHello still
    // fits (the Certificate then does not), under TLS 1.2 the server's first flight does not.
    { name: 'a 130,900-byte ClientHello', bytes: () => records(largest(v, 131400 - 130900)) },
    { name: 'a ClientHello of exactly 128 KiB', bytes: () => records(largest(v, 131400 - 131072)) },
    { name: 'a ClientHello one byte over 128 KiB', bytes: () => records(largest(v, 131400 - 131073)) },
    ...[200, 1000, 7].map((rec) => ({
      name: `a ${rec === 7 ? 4 : 32} KiB ClientHello in ${rec}-byte records`,
      bytes: () => records(sized(v, rec === 7 ? 4096 : 32 * 1024), rec),
    })),
    { name: 'a ClientHello in 1-byte records', bytes: () => records(hello(v), 1) },
    { name: 'a 2 KiB ClientHello in 1-byte records, one per write', bytes: () => records(sized(v, 2048), 1), chunked: 6 * k(50) },
    { name: 'a ClientHello in twenty 200-byte records', bytes: () => records(sized(v, 4000), 200) },
    { name: 'a 16 KiB extension split at record boundaries', bytes: () => records(hello(v, { extra: [ext(0x4a4a, randomBytes(16384))] }), 16384) },
    { name: `${k(8000)} unknown extensions`, bytes: () => records(hello(v, { extra: unknownExtensions(Math.min(16000, k(8000))) })) },
    { name: `${k(4000)} unknown 8-byte extensions in 200-byte records`, bytes: () => records(hello(v, { extra: unknownExtensions(Math.min(5000, k(4000)), 8) }), 200) },
    { name: 'a duplicated known extension', bytes: () => records(hello(v, { extra: [ext(EXT.EXTENDED_MASTER_SECRET)] })) },
    {
      name: `${k(30000)} cipher suites, a known one last`,
      bytes: () => records(hello(v, { suites: [...Array.from({ length: Math.min(32000, k(30000)) }, (_, i) => 0x5a00 + (i % 0x500)), ...(v === '1.3' ? TLS13_SUITES : TLS12_SUITES)] })),
    },
    { name: 'only unknown cipher suites', bytes: () => records(hello(v, { suites: [0x5a01, 0x5a02] })) },
    {
      name: `${k(30000)} signature algorithms, known ones last`,
      bytes: () => records(hello(v, { sigalgs: [...Array.from({ length: Math.min(32000, k(30000)) }, (_, i) => 0x0a00 + (i % 0x400)), ...SIGALGS] })),
    },
    {
      name: `${k(30000)} supported groups, known ones last`,
      bytes: () => records(hello(v, { groups: [...Array.from({ length: Math.min(32000, k(30000)) }, (_, i) => 0x2000 + (i % 0x1000)), GROUP.x25519, GROUP.secp256r1] })),
    },
    { name: '64 KiB of padding', bytes: () => records(hello(v, { padding: 64000 })) },
    { name: 'empty application-data records between 500-byte fragments', bytes: () => interleaved(sized(v, 8000), 500, 23) },
    { name: 'empty handshake records between 500-byte fragments', bytes: () => interleaved(sized(v, 8000), 500, 22) },
    { name: `${k(100)} empty application-data records before the ClientHello`, bytes: () => Buffer.concat([...Array(k(100)).fill(emptyRecord(23)), records(hello(v))]) },
    { name: `${k(100)} empty handshake records between 1-byte fragments`, bytes: () => interleaved(hello(v), 1, 22, Math.max(1, Math.floor(600 / k(100)))) },
    { name: 'a ChangeCipherSpec before the ClientHello', bytes: () => Buffer.concat([CCS, records(hello(v))]) },
    { name: `${k(50)} ChangeCipherSpecs before the ClientHello`, bytes: () => Buffer.concat([...Array(k(50)).fill(CCS), records(hello(v))]) },
    { name: 'a ChangeCipherSpec between 200-byte fragments', bytes: () => interleaved(sized(v, 2000), 200, CCS, 5) },
    {
      name: 'a warning alert before the ClientHello',
      // unexpected_message, as gnutls-serv and OpenSSL answer it
      bytes: () => Buffer.concat([Buffer.from([21, 3, 3, 0, 2, 1, 112]), records(hello(v))]),
    },
    { name: 'a record over 2^14 bytes', bytes: () => records(sized(v, 20000), 20000) },
    { name: 'a handshake length over 2^24 - 1 declared, 16 KiB sent', bytes: () => records(Buffer.concat([u8(1), u24(0xffffff), randomBytes(16384)])), truncated: true, differs: refusedAtHeader },
    { name: 'a handshake length of 200 KiB declared, 150 KiB sent', bytes: () => records(Buffer.concat([u8(1), u24(200 * 1024), randomBytes(150 * 1024)])), truncated: true, differs: refusedAtHeader },
    { name: 'a ClientHello cut short by one byte', bytes: () => records(hello(v)).subarray(0, -1), truncated: true, differs: eofAsNode('alert 2/50; closed') },
    { name: 'a ClientHello cut in its record header', bytes: () => Buffer.concat([records(hello(v)), Buffer.from([22, 3])]), truncated: false },
    { name: 'a ClientHello message cut short (record complete)', bytes: () => records(hello(v).subarray(0, -10)), truncated: true, differs: eofAsNode('alert 2/10; closed') },
    {
      name: 'a ClientHello with bytes after its extensions',
      bytes: () => {
        const m = hello(v);
        const padded = Buffer.concat([m, Buffer.alloc(16)]);
        u24(m.length - 4 + 16).copy(padded, 1);
        return records(padded);
      },
    },
    { name: 'a ClientHello followed by garbage in its record', bytes: () => records(Buffer.concat([hello(v), randomBytes(32)])) },
    { name: 'extension lengths that overrun the message', bytes: () => records(hello(v, { extra: [Buffer.concat([u16(0x4a4a), u16(60000)])] })) },
    {
      name: 'a SSLv2-style first byte',
      bytes: () => Buffer.concat([Buffer.from([0x80, 0x2e, 1, 3, 1]), randomBytes(0x2e - 3)]),
      differs: {
        reference: 'alert 2/50; closed',
        ours: 'nothing; closed',
        error: 'GNUTLS_E_UNSUPPORTED_VERSION_PACKET',
        why: "a first record that does not say TLS gets no alert, as from OpenSSL (Node's tls): the peer does not speak TLS",
      },
    },
  ];
  if (v === '1.3') {
    cs.push(
      {
        name: 'an unknown group with a 30 KB key share before x25519',
        bytes: () => records(hello(v, { groups: [0x2a2a, GROUP.x25519], keyShares: [{ group: 0x2a2a, key: randomBytes(30000) }, { group: GROUP.x25519, key: randomBytes(32) }] })),
      },
      {
        name: `${k(40)} unknown groups with 1 KB key shares before x25519`,
        bytes: () => {
          const n = Math.min(60, k(40));
          const unknown = Array.from({ length: n }, (_, i) => ({ group: 0x2a00 + i, key: randomBytes(1000) }));
          return records(hello(v, { groups: [...unknown.map((u) => u.group), GROUP.x25519], keyShares: [...unknown, { group: GROUP.x25519, key: randomBytes(32) }] }));
        },
      },
      { name: 'only an unknown group with a large key share (HelloRetryRequest)', bytes: () => records(hello(v, { groups: [0x2a2a, GROUP.x25519], keyShares: [{ group: 0x2a2a, key: randomBytes(20000) }] })) },
      { name: 'an x25519 key share of 1000 bytes', bytes: () => records(hello(v, { keyShares: [{ group: GROUP.x25519, key: randomBytes(1000) }] })) },
      { name: 'a secp256r1 key share that is not a point', bytes: () => records(hello(v, { groups: [GROUP.secp256r1], keyShares: [{ group: GROUP.secp256r1, key: Buffer.concat([u8(4), randomBytes(64)]) }] })) },
      { name: 'a key share for a group not in supported_groups', bytes: () => records(hello(v, { groups: [GROUP.secp256r1], keyShares: [{ group: GROUP.x25519, key: randomBytes(32) }] })) },
      { name: 'empty application-data records interleaved, 1-byte fragments', bytes: () => interleaved(hello(v), 1, 23, 10) },
      { name: 'TLS_AES_128_CCM_8 offered alone', bytes: () => records(hello(v, { suites: [0x1305] })), priority: 'NORMAL:+AES-128-CCM-8' },
    );
  } else {
    cs.push(
      { name: 'AES-128-CCM-8 offered alone', bytes: () => records(hello(v, { suites: [0xc0ae] })), priority: 'NORMAL:+AES-128-CCM-8' },
      { name: 'a 32-byte session ID (resumption lookup)', bytes: () => records(hello(v, { sessionId: randomBytes(32) })) },
      { name: 'a 32-byte session ID in 1-byte records', bytes: () => records(hello(v, { sessionId: randomBytes(32) }), 1) },
      { name: 'a session ID of 33 bytes', bytes: () => records(hello(v, { sessionId: randomBytes(33) })) },
    );
  }
  return cs;
}
