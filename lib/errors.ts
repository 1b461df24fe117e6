// The one error class of the package, and the helpers that build it from GnuTLS codes.
import { binding } from './native';
import { E } from './constants';

export interface TLSErrorDetails {
  code?: string;
  gnutlsCode?: number;
  gnutlsName?: string | null;
  alert?: string;
  alertCode?: number;
  cause?: unknown;
}

/**
 * Every error this package raises. `code` is Node's `ERR_TLS_*` name where Node has one,
 * otherwise the GnuTLS error name (`GNUTLS_E_...`); `gnutlsCode` is the numeric GnuTLS error and
 * `alert` the TLS alert name when an alert caused it.
 */
export class TLSError extends Error {
  code: string;
  gnutlsCode?: number;
  gnutlsName?: string;
  alert?: string;
  alertCode?: number;

  constructor(message: string, details?: TLSErrorDetails | number, gnutlsName?: string | null) {
    super(message);
    this.name = 'TLSError';
    // Native code calls new TLSError(message, gnutlsCode, gnutlsName).
    const d: TLSErrorDetails = typeof details === 'number' ? { gnutlsCode: details, gnutlsName } : details ?? {};
    this.gnutlsCode = d.gnutlsCode;
    if (d.gnutlsName ?? undefined) this.gnutlsName = d.gnutlsName!;
    else if (d.gnutlsCode !== undefined) this.gnutlsName = binding.errorName(d.gnutlsCode) ?? undefined;
    this.code = d.code ?? this.gnutlsName ?? 'ERR_TLS_GNUTLS';
    if (d.alert !== undefined) this.alert = d.alert;
    if (d.alertCode !== undefined) this.alertCode = d.alertCode;
    if (d.cause !== undefined) (this as { cause?: unknown }).cause = d.cause;
  }
}

binding.setErrorClass(TLSError);

/** The TLS name of an alert ('certificate_required', 'bad_certificate', 'unknown_ca', ...). */
export function alertName(alert: number): string {
  const name = binding.alertName(alert); // GnuTLS spells it GNUTLS_A_CERTIFICATE_REQUIRED
  return name ? name.replace(/^GNUTLS_A_/, '').toLowerCase() : `alert_${alert}`;
}

/** A TLSError for a GnuTLS failure code, naming the alert when one was received. */
export function gnutlsError(code: number, lastAlert: number, context?: string): TLSError {
  const name = binding.errorName(code);
  const details: TLSErrorDetails = { gnutlsCode: code, gnutlsName: name };
  let msg = binding.strerror(code);
  if (code === E.FATAL_ALERT_RECEIVED || code === E.WARNING_ALERT_RECEIVED) {
    details.alert = alertName(lastAlert);
    details.alertCode = lastAlert;
    msg += ` (${details.alert})`;
  }
  if (context) msg = `${context}: ${msg}`;
  return new TLSError(msg, details);
}

/** An error with a Node-style code and no GnuTLS code behind it. */
export function nodeError(code: string, message: string, extra?: TLSErrorDetails): TLSError {
  return new TLSError(message, { ...extra, code });
}
