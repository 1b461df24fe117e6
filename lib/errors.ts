// The error class of TLS failures, and the helpers that build it in Node's shape: OpenSSL's
// `library`, `reason`, `code` and message where Node reports an OpenSSL error, Node's own
// `ERR_*` codes elsewhere; the GnuTLS code and alert behind it as extra fields.
import { binding } from './native';
import { E } from './constants';
import { codeInStack } from './validate';
import { LocalReason, libraryOf, OpenSSLError, Situation, local, localReason, message, nodeCode, receivedAlert, shortMessage } from './openssl-errors';

/** @internal What a TLSError is built from. */
export interface TLSErrorDetails {
  code?: string;
  gnutlsCode?: number;
  gnutlsName?: string | null;
  alert?: string;
  alertCode?: number;
  cause?: unknown;
  /** The OpenSSL error Node reports for this failure: sets library, reason and code. */
  openssl?: OpenSSLError;
}

/** Errors whose stack and String() read `Error [CODE]: message`, as Node's own coded errors. */
const nodeCoded = new WeakSet<TLSError>();

/**
 * Every TLS failure this package raises. Like Node's, its `name` is 'Error' and `code` is Node's:
 * `ERR_SSL_*` with `library` and `reason` where Node reports an OpenSSL error, `ERR_TLS_*` and
 * the like where Node has its own. `gnutlsCode`/`gnutlsName` are the GnuTLS error behind it and
 * `alert`/`alertCode` the TLS alert received; a GnuTLS failure Node has no code for keeps the
 * GnuTLS name (`GNUTLS_E_...`) as its code.
 */
export class TLSError extends Error {
  // Declared only: an own property exists when it has a value, as on Node's errors.
  /** OpenSSL's library name ('SSL routines'), where Node reports an OpenSSL error. */
  declare library?: string;
  /** OpenSSL's reason text, e.g. 'tlsv1 alert unknown ca', where Node reports an OpenSSL error. */
  declare reason?: string;
  /** Node's code (`ERR_SSL_*`, `ERR_TLS_*`, ...), else the GnuTLS name, e.g. 'GNUTLS_E_CERTIFICATE_REQUIRED'. */
  declare code: string;
  /** The GnuTLS error number (negative), when a GnuTLS call failed. */
  declare gnutlsCode?: number;
  /** The GnuTLS error name, e.g. 'GNUTLS_E_FATAL_ALERT_RECEIVED'. */
  declare gnutlsName?: string;
  /** The name of the TLS alert received, e.g. 'unknown_ca'. */
  declare alert?: string;
  /** The number of the TLS alert received. */
  declare alertCode?: number;

  /** @internal Raised by the library, not by applications. */
  constructor(message: string, details?: TLSErrorDetails | number, gnutlsName?: string | null) {
    super(message);
    // Native code calls new TLSError(message, gnutlsCode, gnutlsName).
    const d: TLSErrorDetails = typeof details === 'number' ? { gnutlsCode: details, gnutlsName } : details ?? {};
    if (d.openssl) {
      this.library = libraryOf(d.openssl);
      this.reason = d.openssl.text;
    }
    let name: string | undefined;
    if (d.gnutlsName ?? undefined) name = d.gnutlsName!;
    else if (d.gnutlsCode !== undefined) name = binding.errorName(d.gnutlsCode) ?? undefined;
    this.code = d.code ?? (d.openssl ? nodeCode(d.openssl) : undefined) ?? name ?? 'ERR_TLS_GNUTLS';
    if (d.gnutlsCode !== undefined) this.gnutlsCode = d.gnutlsCode;
    if (name !== undefined) this.gnutlsName = name;
    if (d.alert !== undefined) this.alert = d.alert;
    if (d.alertCode !== undefined) this.alertCode = d.alertCode;
    if (d.cause !== undefined) (this as { cause?: unknown }).cause = d.cause;
  }

  toString(): string {
    return nodeCoded.has(this) ? `${this.name} [${this.code}]: ${this.message}` : super.toString();
  }
}

// As on Node's own errors, `constructor` reads as the standard class, so util.inspect() and
// loggers print `Error: ...` (instanceof TLSError still holds).
Object.defineProperty(TLSError.prototype, 'constructor', { get: () => Error, configurable: true });

binding.setErrorClass(TLSError);

/** The TLS name of an alert ('certificate_required', 'bad_certificate', 'unknown_ca', ...). */
export function alertName(alert: number): string {
  const name = binding.alertName(alert); // GnuTLS spells it GNUTLS_A_CERTIFICATE_REQUIRED
  return name ? name.replace(/^GNUTLS_A_/, '').toLowerCase() : `alert_${alert}`;
}

/**
 * A TLSError for a GnuTLS failure code. A received fatal alert, and the local failures Node has
 * a code for (see openssl-errors.ts; `situation` picks among them), are reported as Node does;
 * any other keeps GnuTLS's name and text (after `context`).
 */
export function gnutlsError(code: number, lastAlert: number, context?: string, situation?: Situation): TLSError {
  const gnutlsName = binding.errorName(code);
  const details: TLSErrorDetails = { gnutlsCode: code, gnutlsName };
  if (code === E.FATAL_ALERT_RECEIVED || code === E.WARNING_ALERT_RECEIVED) {
    details.alert = alertName(lastAlert);
    details.alertCode = lastAlert;
  }
  const r = situation && localReason(code, situation);
  if (r) details.openssl = local(r);
  else if (code === E.FATAL_ALERT_RECEIVED) details.openssl = receivedAlert(lastAlert);
  if (details.openssl) return new TLSError(message(details.openssl, code), details);
  let msg = binding.strerror(code);
  if (details.alert) msg += ` (${details.alert})`;
  if (context) msg = `${context}: ${msg}`;
  return new TLSError(msg, details);
}

/** The error Node reports for a local failure it names itself (no GnuTLS code behind it). */
export function opensslError(r: LocalReason, extra?: TLSErrorDetails): TLSError {
  const o = local(r);
  return new TLSError(shortMessage(o), { ...extra, openssl: o });
}

/** `err` as a TLSError: itself when it is one, else wrapped (its message, `code`, itself as `cause`). */
export function asTLSError(err: unknown, code?: string): TLSError {
  if (err instanceof TLSError) return err;
  return new TLSError(String((err as Error | undefined)?.message ?? err), code === undefined ? { cause: err } : { code, cause: err });
}

/**
 * An error with Node's own code (`ERR_TLS_*`, `ECONNRESET`, ...) and no GnuTLS code behind it.
 * `ERR_*` codes read `Error [CODE]: message` in the stack and String(), as Node's NodeErrors do.
 */
export function nodeError(code: string, message: string, extra?: TLSErrorDetails): TLSError {
  const err = new TLSError(message, { ...extra, code });
  if (code.startsWith('ERR_')) {
    nodeCoded.add(err);
    codeInStack(err, code);
  }
  return err;
}
