// Helpers for what node-gnutls offers beyond Node's tls: PSK callbacks, raw public keys, channel
// bindings, key-log files. The socket calls them; GnuTLS does the protocol work.
import { X509Certificate, createHash, createPublicKey } from 'crypto';
import * as fs from 'fs';
import { TLSError } from './errors';
import { BUFFER_LIKE, invalidArgType, validateBufferLike, validateObject, validateString } from './validate';
import type { TLSSocket } from './tls-socket';

/** Node's server `pskCallback`: the key for `identity`, or null to refuse. */
export type ServerPskCallback = (socket: TLSSocket, identity: string) => NodeJS.ArrayBufferView | null | undefined;
/** Node's client `pskCallback`: the identity and key to use (the server's hint under TLS 1.2). */
export type ClientPskCallback = (hint: string | null) => {
  /** The key. */
  psk: NodeJS.ArrayBufferView;
  /** The identity sent to the server. */
  identity: string;
} | null | undefined;

function bytes(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Wraps a user PSK callback for the native session: never throws into GnuTLS, keeps the error. */
export function pskBridge(
  isServer: boolean,
  cb: ServerPskCallback | ClientPskCallback,
  socket: unknown,
  onError: (err: Error) => void,
): (arg: string | null) => unknown {
  return (arg) => {
    try {
      if (isServer) {
        // As Node: a Buffer-like, or an object with one as `psk`.
        const key: unknown = (cb as ServerPskCallback)(socket as TLSSocket, arg ?? '');
        if (key == null) return null;
        if (ArrayBuffer.isView(key)) return bytes(key);
        if (typeof key !== 'object') throw invalidArgType('ret', ['Object', ...BUFFER_LIKE], key);
        const psk = (key as { psk?: unknown }).psk;
        validateBufferLike(psk, 'psk');
        return bytes(psk);
      }
      const r: unknown = (cb as ClientPskCallback)(arg);
      if (r == null) return null;
      validateObject(r, 'ret');
      const { psk, identity } = r as { psk?: unknown; identity?: unknown };
      validateBufferLike(psk, 'psk');
      validateString(identity, 'identity');
      return { identity, psk: bytes(psk) };
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
      return null;
    }
  };
}

/** What `getPeerPublicKey()` returns: the peer's public key, from a certificate or a raw key. */
export interface PeerPublicKey {
  /** 'X.509' or 'Raw Public Key' (RFC 7250), as GnuTLS names the certificate type. */
  certificateType: string;
  /** SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  /** `'sha256/' + base64(SHA-256(spki))`, the form `pinnedPublicKeys` takes. */
  pin: string;
}

/** The pin of a SubjectPublicKeyInfo (DER): `'sha256/' + base64(SHA-256(spki))`, as `pinnedPublicKeys` lists them. */
export function publicKeyPin(spki: Buffer): string {
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

/** The peer's public key from what GnuTLS returned as the peer's "certificates". */
export function peerPublicKey(type: string | null, first: Buffer | undefined): PeerPublicKey | null {
  if (!first || !type) return null;
  let spki: Buffer;
  if (type === 'X.509') {
    spki = new X509Certificate(first).publicKey.export({ type: 'spki', format: 'der' });
  } else {
    spki = createPublicKey({ key: first, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
  }
  return { certificateType: type, spki, pin: publicKeyPin(spki) };
}

/** RFC 7250 peers are authenticated by pin: null when `pin` is listed. */
export function rawKeyFailure(pin: string, pinned: readonly string[]): TLSError | null {
  if (pinned.includes(pin)) return null;
  return new TLSError(`the peer's raw public key ${pin} is not in pinnedPublicKeys`, { code: 'ERR_TLS_RAW_PUBLIC_KEY_NOT_PINNED' });
}

/** @internal The channel binding types and GnuTLS's numbers for them. */
export const CHANNEL_BINDINGS = { 'tls-unique': 0, 'tls-server-end-point': 1, 'tls-exporter': 2 } as const;
/** A channel binding type of `getChannelBinding()`: 'tls-unique', 'tls-server-end-point' or 'tls-exporter'. */
export type ChannelBindingType = keyof typeof CHANNEL_BINDINGS;

/** Appends NSS key-log lines to $SSLKEYLOGFILE (read when each socket starts). */
export function keylogFile(): string | undefined {
  const f = process.env.SSLKEYLOGFILE;
  return f ? f : undefined;
}

export function appendKeylog(file: string, line: Buffer): void {
  try {
    fs.appendFileSync(file, line, { mode: 0o600 });
  } catch {
    // An unwritable key-log file must not break the connection.
  }
}
