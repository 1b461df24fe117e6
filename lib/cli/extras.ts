// The CLI options for GnuTLS capabilities beyond Node's tls: raw public keys, PSK, OCSP stapling.
import * as fs from 'fs';
import type { ConnectionOptions, TlsOptions } from '../index';

export interface ExtraArgs {
  /** RFC 7250: our raw key (private key PEM) and, optionally, its public key file. */
  rawpkKey?: Buffer;
  rawpkPublic?: Buffer;
  /** SPKI pins accepted from peers presenting raw public keys. */
  pins: string[];
  /** serve: identity → key, from a gnutls-serv style password file (`name:hexkey` lines). */
  pskKeys?: Map<string, Buffer>;
  pskHint?: string;
  /** connect: the identity and key (hex) to use. */
  pskUsername?: string;
  pskKey?: Buffer;
  /** serve: a DER OCSP response to staple. */
  ocspResponse?: Buffer;
  /** connect: ask for a stapled OCSP response (and save it to this file when given). */
  requestOcsp: boolean;
  saveOcsp?: string;
}

export const EXTRA_OPTIONS = {
  rawpkkeyfile: { type: 'string' },
  rawpkfile: { type: 'string' },
  pin: { type: 'string', multiple: true },
} as const;
export const SERVE_EXTRA_OPTIONS = {
  ...EXTRA_OPTIONS,
  pskpasswd: { type: 'string' },
  pskhint: { type: 'string' },
  'ocsp-response': { type: 'string' },
} as const;
export const CONNECT_EXTRA_OPTIONS = {
  ...EXTRA_OPTIONS,
  pskusername: { type: 'string' },
  pskkey: { type: 'string' },
  'request-ocsp': { type: 'boolean' },
  'save-ocsp': { type: 'string' },
} as const;

export const EXTRA_USAGE = `      --rawpkkeyfile FILE      present a raw public key (RFC 7250) made from this private key
      --rawpkfile FILE         its public key (default: derived from the private key)
      --pin sha256/B64         accept a peer's raw public key with this SPKI pin (repeatable)
`;
export const SERVE_EXTRA_USAGE = `${EXTRA_USAGE}      --pskpasswd FILE         PSK identities and keys, one 'name:hexkey' per line (gnutls-serv's format)
      --pskhint H              PSK identity hint (TLS 1.2)
      --ocsp-response FILE     staple this DER OCSP response when a client asks
`;
export const CONNECT_EXTRA_USAGE = `${EXTRA_USAGE}      --pskusername U          PSK identity
      --pskkey HEX             PSK key in hex (with --pskusername)
      --request-ocsp           ask the server to staple an OCSP response, report it
      --save-ocsp FILE         save the stapled OCSP response (DER); implies --request-ocsp
`;

type Values = Record<string, string | boolean | string[] | undefined>;

function hexKey(text: string, what: string): Buffer {
  if (!/^([0-9a-fA-F]{2})+$/.test(text)) throw new Error(`${what} must be an even number of hex digits`);
  return Buffer.from(text, 'hex');
}

/** Reads the extra options (files are read here; a bad value throws with a message). */
export function parseExtras(values: Values, read: (what: string, file: string | undefined) => Buffer | undefined): ExtraArgs {
  const e: ExtraArgs = {
    rawpkKey: read('raw private key', values.rawpkkeyfile as string | undefined),
    rawpkPublic: read('raw public key', values.rawpkfile as string | undefined),
    pins: (values.pin as string[] | undefined) ?? [],
    pskHint: values.pskhint as string | undefined,
    ocspResponse: read('OCSP response', values['ocsp-response'] as string | undefined),
    saveOcsp: values['save-ocsp'] as string | undefined,
    requestOcsp: values['request-ocsp'] === true || values['save-ocsp'] !== undefined,
  };
  if (e.rawpkPublic && !e.rawpkKey) throw new Error('--rawpkfile needs --rawpkkeyfile');
  const passwd = read('PSK password', values.pskpasswd as string | undefined);
  if (passwd) {
    e.pskKeys = new Map();
    for (const line of passwd.toString().split(/\r?\n/)) {
      if (!line.trim()) continue;
      const i = line.indexOf(':');
      if (i <= 0) throw new Error(`bad line in the PSK password file: '${line}'`);
      e.pskKeys.set(line.slice(0, i), hexKey(line.slice(i + 1).trim(), 'a PSK key'));
    }
  }
  if ((values.pskusername === undefined) !== (values.pskkey === undefined)) throw new Error('--pskusername and --pskkey go together');
  if (values.pskusername !== undefined) {
    e.pskUsername = values.pskusername as string;
    e.pskKey = hexKey(values.pskkey as string, '--pskkey');
  }
  return e;
}

/** Library options for the extras (shared by serve and connect). */
type Both = Omit<TlsOptions, 'pskCallback'> & Omit<ConnectionOptions, 'pskCallback'> & { pskCallback?: never };

export function extraOptions(a: { extra: ExtraArgs }): Both {
  const e = a.extra;
  const o: Omit<Both, 'pskCallback'> & { pskCallback?: unknown } = {};
  if (e.rawpkKey) o.rawPublicKey = { key: e.rawpkKey, publicKey: e.rawpkPublic };
  if (e.pins.length > 0) o.pinnedPublicKeys = e.pins;
  if (e.pskKeys) {
    const keys = e.pskKeys;
    o.pskCallback = (_socket: unknown, identity: string) => keys.get(identity) ?? null;
    if (e.pskHint !== undefined) o.pskIdentityHint = e.pskHint;
  }
  if (e.pskUsername !== undefined) {
    const identity = e.pskUsername;
    const psk = e.pskKey as Buffer;
    o.pskCallback = () => ({ identity, psk });
  }
  if (e.ocspResponse) o.ocspResponse = e.ocspResponse;
  if (e.requestOcsp) o.requestOCSP = true;
  return o as Both; // serve passes a server callback, connect a client one
}

/** connect: saves the stapled response where --save-ocsp says. */
export function saveOcsp(a: { extra: ExtraArgs }, response: Buffer): void {
  if (a.extra.saveOcsp) fs.writeFileSync(a.extra.saveOcsp, response);
}
