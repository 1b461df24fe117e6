// Server: the ClientHello as it arrives, read from the plaintext records before GnuTLS has it
// (or while it has it): its declared size is checked against maxHandshakeSize as soon as its
// header is in, and its body is assembled across records of any size for the session-ID lookup.
import { nodeError } from './errors';

/** GnuTLS's default for gnutls_handshake_set_max_packet_length(): 128 KiB since 3.5.5. */
export const DEFAULT_MAX_HANDSHAKE_SIZE = 128 * 1024;
/** A handshake message length is 24 bits: no handshake message is larger than this. */
const LARGEST_HANDSHAKE_MESSAGE = 4 + 0xffffff;
/** Records larger than this are GnuTLS's to refuse (record_overflow): the reader stops there. */
const MAX_PLAINTEXT_RECORD = 16384;
const CHANGE_CIPHER_SPEC = 20;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;

/** maxHandshakeSize as given (undefined: GnuTLS's default), checked. */
export function maxHandshakeSize(v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_HANDSHAKE_SIZE;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LARGEST_HANDSHAKE_MESSAGE) {
    throw nodeError('ERR_OUT_OF_RANGE', `The value of "maxHandshakeSize" is out of range. It must be an integer from 1 to ${LARGEST_HANDSHAKE_MESSAGE}. Received ${String(v)}`);
  }
  return v;
}

export type HelloVerdict =
  /** The ClientHello is complete (its body, when the reader keeps it). */
  | { t: 'hello'; body: Buffer | null }
  /** Not a ClientHello in plaintext handshake records: GnuTLS decides what it is. */
  | { t: 'other' }
  /** The ClientHello declares more than maxHandshakeSize bytes (header included). */
  | { t: 'tooLarge'; size: number };

/**
 * Reads the records of a connection's first flight up to the end of the ClientHello. Holds no
 * input: only the ClientHello's body (when `keep`), at most maxHandshakeSize bytes.
 */
export class ClientHelloReader {
  verdict: HelloVerdict | null = null;
  private readonly hdr = Buffer.alloc(5);
  private hdrSeen = 0;
  private bodyLeft = 0;
  private skipping = false;
  private ccsSeen = false;
  private readonly head = Buffer.alloc(4);
  private headSeen = 0;
  private declared = 0;
  private body: Buffer | null = null;
  private bodySeen = 0;

  constructor(private readonly max: number, private readonly keep: boolean) {}

  /** The bytes that arrived next; the verdict once there is one. */
  push(chunk: Buffer): HelloVerdict | null {
    let p = 0;
    while (p < chunk.length && !this.verdict) {
      if (this.bodyLeft === 0) {
        const k = Math.min(5 - this.hdrSeen, chunk.length - p);
        chunk.copy(this.hdr, this.hdrSeen, p, p + k);
        this.hdrSeen += k;
        p += k;
        if (this.hdrSeen < 5) break;
        this.hdrSeen = 0;
        const type = this.hdr[0];
        const len = this.hdr.readUInt16BE(3);
        // GnuTLS lets a ChangeCipherSpec pass before the ClientHello (middlebox compatibility);
        // more than one is GnuTLS's to judge (nothing is held for it).
        if (type === CHANGE_CIPHER_SPEC && len === 1 && !this.ccsSeen) {
          this.ccsSeen = true;
          this.skipping = true;
        } else if (type !== HANDSHAKE || this.hdr[1] !== 3 || len === 0 || len > MAX_PLAINTEXT_RECORD) {
          // Not TLS records (the version's major is 3): the engine reports what it is.
          this.verdict = { t: 'other' };
          break;
        } else {
          this.skipping = false;
        }
        this.bodyLeft = len;
        continue;
      }
      const k = Math.min(this.bodyLeft, chunk.length - p);
      if (!this.skipping) this.take(chunk.subarray(p, p + k));
      this.bodyLeft -= k;
      p += k;
    }
    return this.verdict;
  }

  private take(b: Buffer): void {
    let i = 0;
    if (this.headSeen < 4) {
      i = Math.min(4 - this.headSeen, b.length);
      b.copy(this.head, this.headSeen, 0, i);
      this.headSeen += i;
      if (this.headSeen < 4) return;
      if (this.head[0] !== CLIENT_HELLO) {
        this.verdict = { t: 'other' };
        return;
      }
      this.declared = this.head.readUIntBE(1, 3);
      if (this.declared + 4 > this.max) {
        this.verdict = { t: 'tooLarge', size: this.declared + 4 };
        return;
      }
      if (this.keep) this.body = Buffer.allocUnsafe(this.declared);
    }
    const k = Math.min(this.declared - this.bodySeen, b.length - i);
    if (this.body) b.copy(this.body, this.bodySeen, i, i + k);
    this.bodySeen += k;
    if (this.bodySeen === this.declared) this.verdict = { t: 'hello', body: this.body };
  }
}

/** What the server's callbacks are told of a ClientHello, read from its body. */
export interface HelloFacts {
  /** The host_name of server_name (SNI), if any. */
  serverName: string | null;
  /** The ALPN protocols offered, in the client's order; null without the extension. */
  alpn: string[] | null;
  /** status_request (OCSP stapling) was asked for. */
  statusRequest: boolean;
}

/** The extensions of a ClientHello body as [type, data] views (malformed tails are left out). */
function extensions(b: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let p = 34; // legacy_version, random
  if (p >= b.length) return out;
  p += 1 + b[p]; // session ID
  if (p + 2 > b.length) return out;
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p + 1 > b.length) return out;
  p += 1 + b[p]; // compression methods
  if (p + 2 > b.length) return out;
  const end = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  for (p += 2; p + 4 <= end; ) {
    const len = b.readUInt16BE(p + 2);
    if (p + 4 + len > end) break;
    out.push([b.readUInt16BE(p), b.subarray(p + 4, p + 4 + len)]);
    p += 4 + len;
  }
  return out;
}

const SERVER_NAME = 0;
const STATUS_REQUEST = 5;
const ALPN = 16;
const SESSION_TICKET = 35;

/** SNI, ALPN and status_request of a ClientHello body (RFC 6066, RFC 7301). */
export function helloFacts(b: Buffer): HelloFacts {
  const facts: HelloFacts = { serverName: null, alpn: null, statusRequest: false };
  for (const [type, d] of extensions(b)) {
    if (type === STATUS_REQUEST) facts.statusRequest = true;
    if (type === SERVER_NAME && d.length >= 2) {
      const end = Math.min(d.length, 2 + d.readUInt16BE(0));
      for (let q = 2; q + 3 <= end; q += 3 + d.readUInt16BE(q + 1)) {
        const n = d.readUInt16BE(q + 1);
        if (d[q] === 0 && q + 3 + n <= end) {
          facts.serverName = d.toString('latin1', q + 3, q + 3 + n);
          break;
        }
      }
    }
    if (type === ALPN && d.length >= 2) {
      const end = Math.min(d.length, 2 + d.readUInt16BE(0));
      facts.alpn = [];
      for (let q = 2; q < end && q + 1 + d[q] <= end; q += 1 + d[q]) facts.alpn.push(d.toString('latin1', q + 1, q + 1 + d[q]));
    }
  }
  return facts;
}

/**
 * The legacy session ID of a ClientHello body to look up (TLS 1.2 session-ID resumption); null
 * when there is none, when the client offers TLS 1.3 (which resumes with tickets), or when it offers
 * a session ticket (OpenSSL then resumes by the ticket alone, and Node asks no resumeSession).
 */
export function sessionIdToLookUp(b: Buffer): Buffer | null {
  let p = 34;
  if (p >= b.length) return null;
  const sidLen = b[p];
  p += 1 + sidLen;
  if (sidLen === 0 || sidLen > 32 || p > b.length) return null;
  const id = Buffer.from(b.subarray(35, p));
  if (p + 2 > b.length) return id;
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p + 1 > b.length) return id;
  p += 1 + b[p]; // compression methods
  if (p + 2 > b.length) return id;
  const extEnd = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  for (p += 2; p + 4 <= extEnd; p += 4 + b.readUInt16BE(p + 2)) {
    if (b.readUInt16BE(p) === SESSION_TICKET && b.readUInt16BE(p + 2) > 0) return null;
    if (b.readUInt16BE(p) !== 43) continue; // supported_versions
    const end = Math.min(p + 4 + b.readUInt16BE(p + 2), extEnd);
    for (let q = p + 5; q + 2 <= end; q += 2) if (b.readUInt16BE(q) === 0x0304) return null;
  }
  return id;
}
