// SecureContext: credentials, trust and priorities parsed once and shared by many sockets.
import { X509Certificate, constants as cryptoConstants, createPrivateKey, createPublicKey } from 'crypto';
import { binding, NativeContext } from './native';
import { choicePriority, parseCiphers } from './ciphers/index';
import { TLSError, nodeError } from './errors';
import { tlsDefaults } from './defaults';
import { secureProtocolVersions } from './secure-protocol';
import { pairKeysWithCerts } from './key-pairing';
import { withPlainCertificates } from './pem';
import { NO_DHE, applyDhparam, dhparamEnablesDhe } from './dh-params';
import { completedChain, pemChain } from './served-chain';
import { Memo } from './memo';
import { BUFFER_LIKE, codedError, invalidArgType, validateObject, validateString } from './validate';

/** PEM text (a string or Buffer), or DER in a Buffer. */
export type BinaryLike = string | Buffer;
/** A private key with its own passphrase (Node's `{ pem, passphrase }` form of `key`). */
export interface KeyObjectLike {
  /** The key, PEM or DER. */
  pem: BinaryLike;
  /** Its passphrase (else the options' `passphrase`). */
  passphrase?: string;
}
/** A PKCS#12 bundle with its own passphrase (Node's `{ buf, passphrase }` form of `pfx`). */
export interface PxfObjectLike {
  /** The PKCS#12 bytes. */
  buf: BinaryLike;
  /** Its passphrase (else the options' `passphrase`). */
  passphrase?: string;
}
/** A TLS version by Node's name. */
export type TLSVersion = 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';

/** Node's `tls.createSecureContext()` options, and GnuTLS's own (`priority`, raw public keys, ...). */
export interface SecureContextOptions {
  /** Private keys (PEM or DER; encrypted ones with `passphrase`), one per certificate chain in `cert`. */
  key?: BinaryLike | Array<BinaryLike | KeyObjectLike>;
  /** Certificate chains (PEM or DER), leaf first; each pairs with the key of its public key. */
  cert?: BinaryLike | BinaryLike[];
  /** The passphrase of encrypted keys and PKCS#12 bundles. */
  passphrase?: string;
  /** Trusted CA certificates, replacing the system store (see `rootCertificates`). */
  ca?: BinaryLike | BinaryLike[];
  /** PKCS#12 bundles: key, certificate chain and CA certificates. */
  pfx?: BinaryLike | Array<BinaryLike | PxfObjectLike>;
  /** Certificate revocation lists (PEM or DER). */
  crl?: BinaryLike | BinaryLike[];
  /** The lowest TLS version to negotiate (default `DEFAULT_MIN_VERSION`). */
  minVersion?: TLSVersion | null;
  /** The highest TLS version to negotiate (default `DEFAULT_MAX_VERSION`). */
  maxVersion?: TLSVersion | null;
  /**
   * An OpenSSL method name (Node's option): 'TLS_method'/'SSLv23_method' (any version),
   * 'TLSv1_2_method', ... with their _server/_client variants. Not with minVersion/maxVersion.
   */
  secureProtocol?: string | null;
  /** OpenSSL-style cipher list (Node's option); mapped to GnuTLS where a mapping exists. */
  ciphers?: string | null;
  /** Node's `ecdhCurve`: 'auto' or a colon-separated list of OpenSSL curve names, in order. */
  ecdhCurve?: string;
  /** A raw GnuTLS priority string; wins over `ciphers`. */
  priority?: string | null;
  /** Permit renegotiation without RFC 5746 safe renegotiation (adds GnuTLS's %UNSAFE_RENEGOTIATION). */
  allowUnsafeRenegotiation?: boolean;
  /**
   * RFC 7250: present this bare public key instead of an X.509 certificate. The public key is
   * derived from `key` unless `publicKey` (SPKI, PEM) is given.
   */
  rawPublicKey?: {
    /** The private key. */
    key: BinaryLike;
    /** Its passphrase. */
    passphrase?: string;
    /** The public key (SPKI, PEM); derived from `key` when absent. */
    publicKey?: BinaryLike;
  };
  /**
   * Accept a peer that presents a raw public key (RFC 7250) when its SPKI SHA-256 pin
   * (`'sha256/<base64>'`, see `TLSSocket#getPeerPublicKey()`) is listed here.
   */
  pinnedPublicKeys?: string[];
  /** Server: a DER OCSP response stapled for this context's certificate when a client asks. */
  ocspResponse?: Buffer;
  /**
   * Server: choose by this context's order of suites (GnuTLS's %SERVER_PRECEDENCE). A server's own
   * context has it unless `false` is given, as Node's; other contexts only when `true`.
   */
  honorCipherOrder?: boolean;
  /** OpenSSL option bits; SSL_OP_CIPHER_SERVER_PREFERENCE is honoured, as `honorCipherOrder`. */
  secureOptions?: number;
  /**
   * Server: finite-field DHE for TLS 1.2 (Node's option). `'auto'`, or a PKCS#3 DH group (PEM or
   * DER); without it, or when it is no group, a server negotiates no DHE suite, as Node's.
   */
  dhparam?: string | Buffer | null;
}

/**
 * Socket and server options that also shape the context: a `pskCallback` makes PSK negotiable;
 * `honorCipherOrder` (or SSL_OP_CIPHER_SERVER_PREFERENCE in `secureOptions`) makes a server
 * choose by its own order of suites.
 */
type ContextInput = SecureContextOptions & { pskCallback?: unknown };

const SERVER_PREFERENCE = cryptoConstants.SSL_OP_CIPHER_SERVER_PREFERENCE;

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
  const method = secureProtocolVersions(o);
  if (o.priority != null && method === null && o.minVersion == null && o.maxVersion == null) return 0b1111;
  const [min, max] = method ?? [o.minVersion ?? tlsDefaults.minVersion, o.maxVersion ?? tlsDefaults.maxVersion];
  const lo = VERSION_ORDER.indexOf(min);
  const hi = VERSION_ORDER.indexOf(max);
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
  const serverOrder = o.honorCipherOrder === true || ((o.secureOptions ?? 0) & SERVER_PREFERENCE) !== 0;
  const groups = groupTokens(o.ecdhCurve);
  // Choosing by its own order, GnuTLS picks the group too, and asks a client that sent no key share
  // for it for another (a HelloRetryRequest). OpenSSL's default order puts X25519, the share
  // OpenSSL's and GnuTLS's clients send, first.
  p += groups === '' && serverOrder && o.priority == null ? OPENSSL_GROUP_ORDER : groups;
  // Raw public keys first, X.509 still accepted from peers that do not do RFC 7250.
  if (usesRawPublicKeys(o)) p += ':-CTYPE-ALL:+CTYPE-RAWPK:+CTYPE-X509';
  if (serverOrder) p += ':%SERVER_PRECEDENCE';
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

/** OpenSSL's default groups in its order (X25519, P-256, X448, P-521, P-384), then GnuTLS's FFDHE groups. */
const OPENSSL_GROUP_ORDER =
  ':-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:+GROUP-SECP521R1:+GROUP-SECP384R1:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192';

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

const PSK_KX = ':+ECDHE-PSK:+DHE-PSK:+PSK';

function basePriority(o: ContextInput): string {
  const psk = Boolean(o.pskCallback);
  // null means "not set", as with Node.
  const method = secureProtocolVersions(o);
  const explicitVersions = method !== null || o.minVersion != null || o.maxVersion != null;
  let [min, max] = method ?? [o.minVersion ?? tlsDefaults.minVersion, o.maxVersion ?? tlsDefaults.maxVersion];
  if (o.priority != null) {
    validateString(o.priority, 'options.priority');
    const p = psk ? `${o.priority}${PSK_KX}` : o.priority;
    return explicitVersions ? `${p}:${versionTokens(min, max)}` : p;
  }
  versionTokens(min, max); // validates the versions before the ciphers, as Node does
  const choice = parseCiphers(o.ciphers);
  if (!choice) return `NORMAL:${versionTokens(min, max)}${psk ? PSK_KX : ''}`;
  const canTls13 = max === 'TLSv1.3';
  // A string without TLS 1.2 suites makes the context TLS 1.3-only, as Node does; so does one
  // whose TLS 1.2 suites the security level all forbids (Node's then fail TLS 1.2 handshakes).
  if (choice.tls12.length === 0 && canTls13) min = 'TLSv1.3';
  else if (choice.tls12.length === 0) {
    // No suite at all for the versions allowed: the context is made and every handshake fails,
    // as Node's does. (A priority must name a cipher; with no key exchange it enables no suite.)
    return `NORMAL:-CIPHER-ALL:-MAC-ALL:-KX-ALL:+AES-128-GCM:+AEAD:${versionTokens(min, max)}`;
  }
  return `NORMAL:${choicePriority(choice, canTls13, psk)}:${versionTokens(min, max)}`;
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

const pemDers = new Memo<readonly Buffer[] | null>(128);

/** A live context parsed with each priority pair: new contexts share its parse (8 KiB each). */
const parsedPriorities = new Map<string, WeakRef<NativeContext>>();

/** `context` takes `client` (and `server`, for its server sessions), parsed once while in use. */
function usePriority(context: NativeContext, client: string, server: string | undefined): void {
  const key = `${client}\0${server ?? ''}`;
  const other = parsedPriorities.get(key)?.deref();
  if (other) return context.sharePriority(other);
  context.setPriority(client, server);
  if (parsedPriorities.size >= 64) parsedPriorities.delete(parsedPriorities.keys().next().value as string);
  parsedPriorities.set(key, new WeakRef(context));
}

/** PEM (one or many) or DER certificates → DER Buffers. PKCS#11 URLs yield nothing. */
function derCertificates(input: BinaryLike): readonly Buffer[] {
  if (typeof input === 'string' && PKCS11_URL.test(input)) return [];
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const ders = text.includes('-----BEGIN CERTIFICATE-----')
    ? pemDers.get(text, () => {
        const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        return pems ? Object.freeze(pems.map((pem) => new X509Certificate(pem).raw)) : null;
      })
    : null;
  if (ders) return ders;
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

/** Credentials, trust and priorities parsed once, shared by the sockets made from it (Node's SecureContext). */
export class SecureContext {
  /** The native credentials object (GnuTLS certificate credentials + priority cache). */
  readonly context: NativeContext;
  /** The GnuTLS priority string sessions of this context use (a server's may leave DHE out, see `dhparam`). */
  readonly priority: string;
  /** Whether this context holds a certificate of its own (key + cert, pfx, or a raw public key). */
  readonly hasCertificate: boolean;
  /** Sessions made from this context negotiate raw public keys (GNUTLS_ENABLE_RAWPK). */
  readonly rawPublicKeys: boolean;
  /** The raw public key pins a peer's key is accepted by (`pinnedPublicKeys`). */
  readonly pinnedPublicKeys: readonly string[];
  /** The OCSP response stapled for this context's certificate (`ocspResponse`). */
  readonly ocspResponse: Buffer | undefined;
  /** The versions enabled, bit n for TLS 1.n. */
  readonly versions: number;
  private readonly _certInput: BinaryLike[];
  private readonly _caInput: BinaryLike[];
  private _trusted: Buffer[] | null = null;
  private _own: readonly Buffer[] | null = null;

  /** @internal Use {@link createSecureContext}. */
  constructor(options: ContextInput = {}) {
    validateObject(options, 'options');
    this.context = new binding.Context();
    this.priority = priorityFor(options);
    const dhe = dhparamEnablesDhe(options.dhparam) && applyDhparam(this.context, options.dhparam!);
    // A server without DH parameters has no DHE (Node's servers have none without dhparam); a
    // client still offers it. A raw priority is taken as written.
    usePriority(this.context, this.priority, dhe || options.priority != null ? undefined : this.priority + NO_DHE);

    // A `ca` whose every certificate is dropped (see pem.ts) trusts nothing: no system store either.
    const given = list(options.ca);
    const cas = given.map((c) => (typeof c === 'string' || c instanceof Uint8Array ? withPlainCertificates(c) : c)).filter((c): c is BinaryLike => c !== null);
    this._caInput = cas;
    if (given.length === 0) {
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
    const keyInputs = keys.map((k) => {
      const isObj = typeof k === 'object' && !Buffer.isBuffer(k) && !(k instanceof Uint8Array);
      const pem = isObj ? (k as KeyObjectLike).pem : (k as BinaryLike);
      return { pem, passphrase: (isObj ? (k as KeyObjectLike).passphrase : undefined) ?? options.passphrase ?? undefined };
    });
    const local = (v: BinaryLike): boolean => !(typeof v === 'string' && PKCS11_URL.test(v));
    const pairing = keyInputs.every((k) => local(k.pem)) && certs.every(local) ? pairKeysWithCerts(keyInputs, certs) : null;
    keyInputs.forEach(({ pem, passphrase: pass }, i) => {
      const cert = certs[pairing ? pairing[i] : Math.min(i, certs.length - 1)];
      if (typeof pem === 'string' && PKCS11_URL.test(pem)) {
        // The key stays in the token; `passphrase` is its PIN (or put pin-value in the URL).
        const c = typeof cert === 'string' && PKCS11_URL.test(cert) ? cert : toBuffer(cert, 'cert');
        this.context.addUrlKeyPair(c, pem, pass);
      } else {
        this.context.addKeyPair(this.servedChain(toBuffer(cert, 'cert')), toBuffer(pem, 'key'), pass);
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

  /** This context's own certificate chain as served (from `cert`), DER, leaf first (parsed on first use). */
  ownChain(): readonly Buffer[] {
    if (!this._own) {
      const first = this._certInput.length > 0 ? derCertificates(this._certInput[0]) : [];
      this._own = completedChain(first, this.trustedCertificates()) ?? this._certInput.flatMap((c) => derCertificates(c));
    }
    return this._own;
  }

  /** A lone leaf completed with its issuers from `ca`, as OpenSSL serves it; else `cert` as given. */
  private servedChain(cert: Buffer): Buffer {
    const chain = completedChain(derCertificates(cert), this.trustedCertificates());
    return chain ? pemChain(chain) : cert;
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

/** Node's `tls.createSecureContext()`: parses credentials, trust and priorities once. */
export function createSecureContext(options?: SecureContextOptions): SecureContext {
  return new SecureContext(options);
}

/** Anything typed as a secure context, ours or @types/node's (`{ context }`); only ours works. */
export type SecureContextLike =
  | SecureContext
  | {
      /** A native context: only ours (a SecureContext's) works. */
      context: unknown;
    };

/** The context `given` (ours, checked as Node checks it), or one made from `options`. */
export function contextFor(given: SecureContextLike | null | undefined, options: SecureContextOptions): SecureContext {
  if (given === undefined || given === null) return createSecureContext(options);
  if (given instanceof SecureContext) return given;
  throw codedError(TypeError, 'ERR_TLS_INVALID_CONTEXT', 'context must be a SecureContext');
}
