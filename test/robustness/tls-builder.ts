// Raw TLS crafting for adversarial-peer tests: ClientHellos of any shape (suites, extensions,
// key shares, padding), record framing of any size, and the reading of a server's first answer
// (ServerHello with what it selected, HelloRetryRequest, an alert, a close, or silence).
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';

export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
export const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export const u24 = (n: number): Buffer => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
/** `b` behind a length of `width` bytes. */
export const vec = (width: 1 | 2 | 3, b: Buffer): Buffer => Buffer.concat([width === 1 ? u8(b.length) : width === 2 ? u16(b.length) : u24(b.length), b]);
const list16 = (xs: number[]): Buffer => Buffer.concat(xs.map(u16));

export const EXT = {
  SERVER_NAME: 0,
  STATUS_REQUEST: 5,
  SUPPORTED_GROUPS: 10,
  EC_POINT_FORMATS: 11,
  SIGNATURE_ALGORITHMS: 13,
  PADDING: 21,
  EXTENDED_MASTER_SECRET: 23,
  SESSION_TICKET: 35,
  SUPPORTED_VERSIONS: 43,
  PSK_KEY_EXCHANGE_MODES: 45,
  KEY_SHARE: 51,
  RENEGOTIATION_INFO: 0xff01,
} as const;

export const GROUP = { secp256r1: 0x17, secp384r1: 0x18, x25519: 0x1d, x448: 0x1e, ffdhe2048: 0x100 } as const;
export const TLS13_SUITES = [0x1301, 0x1302, 0x1303];
/** ECDHE-ECDSA suites (the fixture server key is EC) and the AES-CCM ones. */
export const TLS12_SUITES = [0xc02b, 0xc02c, 0xcca9, 0xc023, 0xc009, 0xc0ac, 0xc0ae];
export const SIGALGS = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807];

export const ext = (type: number, data: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([u16(type), vec(2, data)]);

export interface HelloSpec {
  version: '1.2' | '1.3';
  suites?: number[];
  groups?: number[];
  /** TLS 1.3 key shares (default: one random x25519 share). */
  keyShares?: Array<{ group: number; key: Buffer }>;
  sigalgs?: number[];
  servername?: string | null;
  sessionId?: Buffer;
  statusRequest?: boolean;
  /** Bytes of a padding extension (RFC 7685) appended last. */
  padding?: number;
  /** Extensions inserted before the standard ones. */
  extra?: Buffer[];
  /** Compression methods (default: null only). */
  compression?: Buffer;
}

/** A ClientHello handshake message (4-byte header included). */
export function clientHello(spec: HelloSpec): Buffer {
  const tls13 = spec.version === '1.3';
  const suites = spec.suites ?? (tls13 ? TLS13_SUITES : TLS12_SUITES);
  const exts: Buffer[] = [...(spec.extra ?? [])];
  const name = spec.servername === undefined ? 'localhost' : spec.servername;
  if (name !== null) exts.push(ext(EXT.SERVER_NAME, vec(2, Buffer.concat([u8(0), vec(2, Buffer.from(name))]))));
  if (spec.statusRequest) exts.push(ext(EXT.STATUS_REQUEST, Buffer.from([1, 0, 0, 0, 0])));
  exts.push(ext(EXT.SUPPORTED_GROUPS, vec(2, list16(spec.groups ?? [GROUP.x25519, GROUP.secp256r1]))));
  exts.push(ext(EXT.EC_POINT_FORMATS, vec(1, Buffer.from([0]))));
  exts.push(ext(EXT.SIGNATURE_ALGORITHMS, vec(2, list16(spec.sigalgs ?? SIGALGS))));
  exts.push(ext(EXT.EXTENDED_MASTER_SECRET));
  exts.push(ext(EXT.RENEGOTIATION_INFO, Buffer.from([0])));
  if (tls13) {
    exts.push(ext(EXT.SUPPORTED_VERSIONS, vec(1, list16([0x0304]))));
    exts.push(ext(EXT.PSK_KEY_EXCHANGE_MODES, vec(1, Buffer.from([1]))));
    const shares = spec.keyShares ?? [{ group: GROUP.x25519, key: randomBytes(32) }];
    exts.push(ext(EXT.KEY_SHARE, vec(2, Buffer.concat(shares.map((s) => Buffer.concat([u16(s.group), vec(2, s.key)]))))));
  }
  if (spec.padding !== undefined) exts.push(ext(EXT.PADDING, Buffer.alloc(spec.padding)));
  const body = Buffer.concat([
    u16(0x0303),
    randomBytes(32),
    vec(1, spec.sessionId ?? (tls13 ? randomBytes(32) : Buffer.alloc(0))),
    vec(2, list16(suites)),
    vec(1, spec.compression ?? Buffer.from([0])),
    vec(2, Buffer.concat(exts)),
  ]);
  return Buffer.concat([u8(1), u24(body.length), body]);
}

/** `payload` framed into records of at most `size` bytes (a record's length field is 16 bits). */
export function records(payload: Buffer, size = 16384, type = 22, version = 0x0301): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    const part = payload.subarray(i, i + size);
    out.push(u8(type), u16(version), u16(part.length), part);
  }
  if (payload.length === 0) out.push(u8(type), u16(version), u16(0));
  return Buffer.concat(out);
}

/** A handshake message's body re-framed into records of `size` bytes (from one or more records). */
export function refragment(recordsIn: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let p = 0; p + 5 <= recordsIn.length; p += 5 + recordsIn.readUInt16BE(p + 3)) {
    parts.push(recordsIn.subarray(p + 5, p + 5 + recordsIn.readUInt16BE(p + 3)));
  }
  return records(Buffer.concat(parts), size);
}

export const emptyRecord = (type: number): Buffer => Buffer.from([type, 3, 3, 0, 0]);

const HRR_RANDOM = createHash('sha256').update('HelloRetryRequest').digest();
const SUITE_NAMES: Record<number, string> = {
  0x1301: 'AES_128_GCM_SHA256', 0x1302: 'AES_256_GCM_SHA384', 0x1303: 'CHACHA20_POLY1305_SHA256',
  0x1304: 'AES_128_CCM_SHA256', 0x1305: 'AES_128_CCM_8_SHA256',
};
const GROUP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GROUP).map(([k, v]) => [v, k]));

/** What a ServerHello (body, after the 4-byte header) selected: version, suite, TLS 1.3 group. */
export function describeServerHello(body: Buffer): string {
  let p = 2;
  const random = body.subarray(p, p + 32);
  p += 32;
  p += 1 + body[p];
  const suite = body.readUInt16BE(p);
  p += 3;
  let version = body.readUInt16BE(0);
  let group: number | undefined;
  if (p + 2 <= body.length) {
    const end = p + 2 + body.readUInt16BE(p);
    for (p += 2; p + 4 <= end; p += 4 + body.readUInt16BE(p + 2)) {
      const type = body.readUInt16BE(p);
      if (type === EXT.SUPPORTED_VERSIONS) version = body.readUInt16BE(p + 4);
      if (type === EXT.KEY_SHARE) group = body.readUInt16BE(p + 4);
    }
  }
  const kind = random.equals(HRR_RANDOM) ? 'HelloRetryRequest' : 'ServerHello';
  const v = version === 0x0304 ? 'TLS1.3' : version === 0x0303 ? 'TLS1.2' : `0x${version.toString(16)}`;
  const s = SUITE_NAMES[suite] ?? `0x${suite.toString(16).padStart(4, '0')}`;
  return `${kind} ${v} ${s}${group !== undefined ? ` ${GROUP_NAMES[group] ?? `group 0x${group.toString(16)}`}` : ''}`;
}

/** The first answer in `got`: a ServerHello described, an alert, or undefined (not complete yet). */
export function describeAnswer(got: Buffer): string | undefined {
  if (got.length < 5) return undefined;
  const type = got[0];
  const len = got.readUInt16BE(3);
  if (type === 21) return got.length >= 7 ? `alert ${got[5]}/${got[6]}` : undefined;
  if (type !== 22) return `record type ${type}`;
  // The ServerHello may itself span records: gather handshake payload until its length is in.
  const hs: Buffer[] = [];
  for (let p = 0; p + 5 <= got.length && got[p] === 22; p += 5 + got.readUInt16BE(p + 3)) {
    hs.push(got.subarray(p + 5, Math.min(got.length, p + 5 + got.readUInt16BE(p + 3))));
  }
  const msg = Buffer.concat(hs);
  if (msg.length < 4 || len === 0) return undefined;
  if (msg[0] !== 2) return `handshake type ${msg[0]}`;
  const bodyLen = msg.readUIntBE(1, 3);
  if (msg.length < 4 + bodyLen) return undefined;
  return describeServerHello(msg.subarray(4, 4 + bodyLen));
}

export interface Answer {
  /** The first answer (see describeAnswer), or 'nothing'. */
  first: string;
  /** 'closed' (the server ended the connection), or 'open' (still open after the wait). */
  then: 'closed' | 'open';
  /** When the first answer or the close came (ms after our last byte). */
  ms: number;
  /** Our side's port (to find the server's record of this connection). */
  localPort: number;
}

export interface SendOptions {
  /** How long to wait for an answer after the last byte (ms). */
  waitMs?: number;
  /** Chunks written one per event-loop turn (default: all at once). */
  chunks?: Buffer[];
  /** After the wait, half-close and wait again for the server's reaction (truncated input). */
  endAfterWait?: boolean;
}

/**
 * Sends `bytes` to 127.0.0.1:port and describes what the server does: its first answer, and
 * whether it closed. A ServerHello ends the exchange at once; otherwise up to `waitMs`.
 */
export function exchange(port: number, bytes: Buffer, opts: SendOptions = {}): Promise<Answer> {
  const waitMs = opts.waitMs ?? 1500;
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let sentAt = Date.now();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let localPort = 0;
    const c = net.connect(port, '127.0.0.1');
    const finish = (then: 'closed' | 'open'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      resolve({ first: describeAnswer(got) ?? 'nothing', then, ms: Date.now() - sentAt, localPort });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (opts.endAfterWait && !c.writableEnded) {
          c.end();
          arm();
        } else finish('open');
      }, waitMs);
    };
    c.on('connect', async () => {
      localPort = c.localPort ?? 0;
      for (const chunk of opts.chunks ?? [bytes]) {
        if (done) return;
        await new Promise<void>((r) => c.write(chunk, () => r()));
      }
      sentAt = Date.now();
      arm();
    });
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const a = describeAnswer(got);
      if (a && a.startsWith('ServerHello')) finish('open');
    });
    c.on('error', () => finish('closed'));
    c.on('close', () => finish('closed'));
  });
}
