// DTLS records on the wire, for tests that play a hostile or lossy network: a seeded PRNG, a real
// ClientHello captured from our client, and the cookie spliced into one (RFC 6347 4.2.1).
import * as dgram from 'dgram';
import { connect } from '../../lib/dtls';

/** mulberry32: a small seeded PRNG, so a failing run replays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RECORD = 13; // DTLS record header
const HANDSHAKE = 12; // DTLS handshake header

/** The first datagram our client sends (a ClientHello without a cookie). */
export async function captureClientHello(): Promise<Buffer> {
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const first = new Promise<Buffer>((r) => sink.once('message', (m) => r(m)));
  const c = connect({ host: '127.0.0.1', port: sink.address().port, rejectUnauthorized: false });
  c.on('error', () => {});
  const hello = await first;
  c.close();
  sink.close();
  return hello;
}

export function isHelloVerifyRequest(d: Buffer): boolean {
  return d.length > RECORD && d[0] === 22 && d[RECORD] === 3;
}

/** The cookie a HelloVerifyRequest carries. */
export function cookieOf(hvr: Buffer): Buffer {
  const at = RECORD + HANDSHAKE + 2;
  return hvr.subarray(at + 1, at + 1 + hvr[at]);
}

/** `hello` (one unfragmented ClientHello record) sent again with `cookie`, as a client does. */
export function withCookie(hello: Buffer, cookie: Buffer): Buffer {
  const body = hello.subarray(RECORD + HANDSHAKE);
  const sidAt = 2 + 32;
  const cookieAt = sidAt + 1 + body[sidAt];
  const rest = body.subarray(cookieAt + 1 + body[cookieAt]);
  const newBody = Buffer.concat([body.subarray(0, cookieAt), Buffer.from([cookie.length]), cookie, rest]);
  const hs = Buffer.alloc(HANDSHAKE);
  hs[0] = 1; // client_hello
  hs.writeUIntBE(newBody.length, 1, 3);
  hs.writeUInt16BE(1, 4); // message_seq 1: the second ClientHello
  hs.writeUIntBE(0, 6, 3);
  hs.writeUIntBE(newBody.length, 9, 3);
  const rec = Buffer.from(hello.subarray(0, RECORD));
  rec.writeUIntBE(1, 5, 6); // record sequence number 1
  rec.writeUInt16BE(HANDSHAKE + newBody.length, 11);
  return Buffer.concat([rec, hs, newBody]);
}
