// SecureContext: credentials, trust and priorities parsed once and shared by many sockets.
import { X509Certificate, createPrivateKey, createPublicKey } from 'crypto';
import { binding, NativeContext } from './native';
import { ciphersToPriority } from './ciphers';
import { TLSError, nodeError, opensslError } from './errors';
import { BUFFER_LIKE, codedError, invalidArgType, validateObject, validateString } from './validate';

export type BinaryLike = string | Buffer;
export interface KeyObjectLike {
  pem: BinaryLike;
  passphrase?: string;
}
export interface PxfObjectLike {
  buf: BinaryLike;
  passphrase?: string;
}
export type TLSVersion = 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';

export interface SecureContextOptions {
  key?: BinaryLike | Array<BinaryLike | KeyObjectLike>;
  cert?: BinaryLike | BinaryLike[];
  passphrase?: string;
  ca?: BinaryLike | BinaryLike[];
  pfx?: BinaryLike | Array<BinaryLike | PxfObjectLike>;
  crl?: BinaryLike | BinaryLike[];
  minVersion?: TLSVersion;
  maxVersion?: TLSVersion;
  /** OpenSSL-style cipher list (Node's option); mapped to GnuTLS where a mapping exists. */
  ciphers?: string;
  /** Node's `ecdhCurve`: 'auto' or a colon-separated list of OpenSSL curve names, in order. */
  ecdhCurve?: string;
  /** A raw GnuTLS priority string; wins over `ciphers`. */
  priority?: string;
  /** Permit renegotiation without RFC 5746 safe renegotiation (adds GnuTLS's %UNSAFE_RENEGOTIATION). */
  allowUnsafeRenegotiation?: boolean;
  /**
   * RFC 7250: present this bare public key instead of an X.509 certificate. The public key is
   * derived from `key` unless `publicKey` (SPKI, PEM) is given.
   */
  rawPublicKey?: { key: BinaryLike; passphrase?: string; publicKey?: BinaryLike };
  /**
   * Accept a peer that presents a raw public key (RFC 7250) when its SPKI SHA-256 pin
   * (`'sha256/<base64>'`, see `TLSSocket#getPeerPublicKey()`) is listed here.
   */
  pinnedPublicKeys?: string[];
  /** Server: a DER OCSP response stapled for this context's certificate when a client asks. */
  ocspResponse?: Buffer;
}

/** Socket and server options that also shape the context: a `pskCallback` makes PSK negotiable. */
type ContextInput = SecureContextOptions & { pskCallback?: unknown };

export const DEFAULT_MIN_VERSION: TLSVersion = 'TLSv1.2';
export const DEFAULT_MAX_VERSION: TLSVersion = 'TLSv1.3';
const VERSION_ORDER: TLSVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const VERSION_TOKEN: Record<TLSVersion, string> = {
  TLSv1: 'VERS-TLS1.0',
  'TLSv1.1': 'VERS-TLS1.1',
  'TLSv1.2': 'VERS-TLS1.2',
  'TLSv1.3': 'VERS-TLS1.3',
};

/** Node's ERR_TLS_INVALID_PROTOCOL_VERSION, a TypeError. */
function invalidVersion(v: unknown, which: string): TypeError {
  return codedError(TypeError, 'ERR_TLS_INVALID_PROTOCOL_VERSION', `${JSON.stringify(v) ?? String(v)} is not a valid ${which} TLS protocol version`);
}

/** The versions a context enables, bit n for TLS 1.n (all when a raw `priority` says which). */
export function enabledVersions(o: SecureContextOptions): number {
  if (o.priority !== undefined && o.minVersion === undefined && o.maxVersion === undefined) return 0b1111;
  const lo = VERSION_ORDER.indexOf(o.minVersion ?? DEFAULT_MIN_VERSION);
  const hi = VERSION_ORDER.indexOf(o.maxVersion ?? DEFAULT_MAX_VERSION);
  let bits = 0;
  for (let i = lo; i <= hi; i++) bits |= 1 << i;
  return bits;
}

function versionTokens(min: TLSVersion, max: TLSVersion): string {
  const lo = VERSION_ORDER.indexOf(min);
  const hi = VERSION_ORDER.indexOf(max);
  if (lo < 0) throw invalidVersion(min, 'minimum');
  if (hi < 0) throw invalidVersion(max, 'maximum');
  if (lo > hi) throw nodeError('ERR_TLS_PROTOCOL_VERSION_CONFLICT', `minVersion ${min} is above maxVersion ${max}`);
  const toks = ['-VERS-ALL'];
  for (let i = hi; i >= lo; i--) toks.push(`+${VERSION_TOKEN[VERSION_ORDER[i]]}`);
  return toks.join(':');
}

/** The GnuTLS priority string that the options describe. */
export function priorityFor(o: ContextInput): string {
  let p = basePriority(o);
  if (o.pskCallback) p += ':+ECDHE-PSK:+DHE-PSK:+PSK';
  p += groupTokens(o.ecdhCurve);
  // Raw public keys first, X.509 still accepted from peers that do not do RFC 7250.
  if (usesRawPublicKeys(o)) p += ':-CTYPE-ALL:+CTYPE-RAWPK:+CTYPE-X509';
  return o.allowUnsafeRenegotiation ? `${p}:%UNSAFE_RENEGOTIATION` : p;
}

function usesRawPublicKeys(o: SecureContextOptions): boolean {
  return o.rawPublicKey !== undefined || (o.pinnedPublicKeys?.length ?? 0) > 0;
}

/** OpenSSL's curve names (as `ecdhCurve` lists them) and GnuTLS's groups. */
const GROUPS: Record<string, string> = {
  prime256v1: 'SECP256R1', secp256r1: 'SECP256R1', 'P-256': 'SECP256R1',
  secp384r1: 'SECP384R1', 'P-384': 'SECP384R1',
  secp521r1: 'SECP521R1', 'P-521': 'SECP521R1',
  X25519: 'X25519', x25519: 'X25519', X448: 'X448', x448: 'X448',
  ffdhe2048: 'FFDHE2048', ffdhe3072: 'FFDHE3072', ffdhe4096: 'FFDHE4096', ffdhe6144: 'FFDHE6144', ffdhe8192: 'FFDHE8192',
};

/** The priority tokens for Node's `ecdhCurve` ('auto' or none: GnuTLS's defaults). */
function groupTokens(curves: unknown): string {
  if (curves === undefined) return '';
  validateString(curves, 'options.ecdhCurve');
  if (curves === 'auto') return '';
  const groups = curves.split(':').map((c) => GROUPS[c]);
  if (groups.length === 0 || groups.some((g) => g === undefined)) throw new TLSError('Failed to set ECDH curve', { code: 'ERR_CRYPTO_OPERATION_FAILED' });
  return `:-GROUP-ALL:${groups.map((g) => `+GROUP-${g}`).join(':')}`;
}

const PKCS11_URL = /^pkcs11:/i;

function basePriority(o: SecureContextOptions): string {
  const explicitVersions = o.minVersion !== undefined || o.maxVersion !== undefined;
  const versions = versionTokens(o.minVersion ?? DEFAULT_MIN_VERSION, o.maxVersion ?? DEFAULT_MAX_VERSION);
  if (o.priority !== undefined) {
    validateString(o.priority, 'options.priority');
    return explicitVersions ? `${o.priority}:${versions}` : o.priority;
  }
  let base = 'NORMAL';
  // As Node, a null `ciphers` is the default list.
  if (o.ciphers !== undefined && o.ciphers !== null) {
    validateString(o.ciphers, 'options.ciphers');
    const mapped = ciphersToPriority(o.ciphers);
    if (!mapped) throw opensslError('NO_CIPHER_MATCH');
    base += `:${mapped}`;
  }
  return `${base}:${versions}`;
}

function toBuffer(v: unknown, name: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw invalidArgType(`options.${name}`, ['string', ...BUFFER_LIKE], v);
}

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** The first PEM block in `b` (certtool puts a text description before it), or `b` itself. */
function pemBlock(b: Buffer): Buffer {
  const m = /-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/.exec(b.toString('latin1'));
  return m ? Buffer.from(m[0], 'latin1') : b;
}

/** PEM (one or many) or DER certificates → DER Buffers. PKCS#11 URLs yield nothing. */
function derCertificates(input: BinaryLike): Buffer[] {
  if (typeof input === 'string' && PKCS11_URL.test(input)) return [];
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (pems) return pems.map((pem) => new X509Certificate(pem).raw);
  return typeof input === 'string' ? [] : [Buffer.from(input)];
}

/** A `key` entry (PEM/DER, or `{ pem, passphrase }`) and its passphrase, of the types Node takes. */
function checkKeyOption(k: unknown, passphrase: unknown): void {
  const isObj = typeof k === 'object' && k !== null && !ArrayBuffer.isView(k);
  const pem = isObj ? (k as KeyObjectLike).pem : k;
  if (typeof pem !== 'string' && !ArrayBuffer.isView(pem)) throw invalidArgType('options.key', ['string', ...BUFFER_LIKE], pem);
  const pass = (isObj ? (k as KeyObjectLike).passphrase : undefined) ?? passphrase;
  if (pass !== undefined && pass !== null) validateString(pass, 'options.passphrase');
}

export class SecureContext {
  /** The native credentials object (GnuTLS certificate credentials + priority cache). */
  readonly context: NativeContext;
  readonly priority: string;
  /** Whether this context holds a certificate of its own (key + cert, pfx, or a raw public key). */
  readonly hasCertificate: boolean;
  /** Sessions made from this context negotiate raw public keys (GNUTLS_ENABLE_RAWPK). */
  readonly rawPublicKeys: boolean;
  readonly pinnedPublicKeys: readonly string[];
  readonly ocspResponse: Buffer | undefined;
  /** The versions enabled, bit n for TLS 1.n. */
  readonly versions: number;
  private readonly _certInput: BinaryLike[];
  private readonly _caInput: BinaryLike[];
  private _trusted: Buffer[] | null = null;
  private _own: Buffer[] | null = null;

  constructor(options: ContextInput = {}) {
    validateObject(options, 'options');
    this.context = new binding.Context();
    this.priority = priorityFor(options);
    this.context.setPriority(this.priority);

    const cas = list(options.ca);
    this._caInput = cas;
    if (cas.length === 0) {
      try {
        this.context.useSystemTrust();
      } catch {
        // No system store on this machine: nothing is trusted, verification will say so.
      }
    }
    for (const ca of cas) this.context.addTrust(toBuffer(ca, 'ca'));
    for (const crl of list(options.crl)) this.context.addCrl(toBuffer(crl, 'crl'));

    const certs = list(options.cert);
    const keys = list(options.key);
    this._certInput = certs;
    this.rawPublicKeys = usesRawPublicKeys(options);
    this.pinnedPublicKeys = [...(options.pinnedPublicKeys ?? [])];
    if (options.ocspResponse !== undefined) this.ocspResponse = toBuffer(options.ocspResponse, 'ocspResponse');
    this.versions = enabledVersions(options);
    // Node checks the key's type before anything else about it.
    for (const k of keys) checkKeyOption(k, options.passphrase);
    for (const c of certs) if (typeof c !== 'string' && !ArrayBuffer.isView(c)) throw invalidArgType('options.cert', ['string', ...BUFFER_LIKE], c);
    this.hasCertificate = keys.length > 0 || list(options.pfx).length > 0 || options.rawPublicKey !== undefined;
    if (keys.length > 0 && certs.length === 0) {
      throw nodeError('ERR_TLS_KEY_WITHOUT_CERT', 'A private key was given without a certificate (`cert`)');
    }
    keys.forEach((k, i) => {
      const isObj = typeof k === 'object' && !Buffer.isBuffer(k) && !(k instanceof Uint8Array);
      const pem = isObj ? (k as KeyObjectLike).pem : (k as BinaryLike);
      const pass = (isObj ? (k as KeyObjectLike).passphrase : undefined) ?? options.passphrase;
      const cert = certs[Math.min(i, certs.length - 1)];
      if (typeof pem === 'string' && PKCS11_URL.test(pem)) {
        // The key stays in the token; `passphrase` is its PIN (or put pin-value in the URL).
        const c = typeof cert === 'string' && PKCS11_URL.test(cert) ? cert : toBuffer(cert, 'cert');
        this.context.addUrlKeyPair(c, pem, pass);
      } else {
        this.context.addKeyPair(toBuffer(cert, 'cert'), toBuffer(pem, 'key'), pass);
      }
    });
    if (options.rawPublicKey !== undefined) {
      const rpk = options.rawPublicKey;
      const key = toBuffer(rpk.key, 'rawPublicKey.key');
      const pass = rpk.passphrase ?? options.passphrase;
      const spki =
        rpk.publicKey !== undefined
          ? toBuffer(rpk.publicKey, 'rawPublicKey.publicKey')
          : Buffer.from(
              createPublicKey(createPrivateKey({ key: pemBlock(key), passphrase: pass, format: 'pem' })).export({
                type: 'spki',
                format: 'pem',
              }),
            );
      this.context.addRawPublicKey(spki, key, pass);
    }
    for (const p of list(options.pfx)) {
      const isObj = typeof p === 'object' && !Buffer.isBuffer(p) && !(p instanceof Uint8Array);
      const buf = isObj ? (p as PxfObjectLike).buf : (p as BinaryLike);
      const pass = (isObj ? (p as PxfObjectLike).passphrase : undefined) ?? options.passphrase;
      this.context.addPkcs12(toBuffer(buf, 'pfx'), pass);
    }
  }

  /** This context's own certificate chain from `cert`, DER, leaf first (parsed on first use). */
  ownChain(): readonly Buffer[] {
    this._own ??= this._certInput.flatMap((c) => derCertificates(c));
    return this._own;
  }

  /** The CA certificates given in `ca`, one DER Buffer each (parsed on first use). */
  trustedCertificates(): readonly Buffer[] {
    if (!this._trusted) {
      const out: Buffer[] = [];
      for (const ca of this._caInput) out.push(...derCertificates(ca));
      this._trusted = out;
    }
    return this._trusted;
  }
}

export function createSecureContext(options?: SecureContextOptions): SecureContext {
  return new SecureContext(options);
}
