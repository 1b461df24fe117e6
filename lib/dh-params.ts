// Node's `dhparam` option: finite-field Diffie-Hellman for TLS 1.2 DHE suites. Without it (or with
// input that is no DH group) a context has no DHE, as Node's; 'auto' uses GnuTLS's 2048-bit group
// (and any RFC 7919 group the client names); a PEM/DER PKCS#3 group is used for clients that name
// none. A group under 1024 bits is refused, one under 2048 bits warned about, with Node's words.
import type { NativeContext } from './native';
import { BUFFER_LIKE, codedError, invalidArgType } from './validate';

/** The priority tokens that leave DHE out of TLS 1.2 (the certificate key exchanges). */
export const NO_DHE = ':-DHE-RSA:-DHE-DSS';

/** Whether the option enables DHE at all: 'auto', or input to be parsed as a group. */
export function dhparamEnablesDhe(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'string' && !ArrayBuffer.isView(v)) throw invalidArgType('options.dhparam', ['string', ...BUFFER_LIKE], v);
  return true;
}

/**
 * Gives the context the group of a dhparam other than 'auto'; false when it is no group (DHE is
 * then left out, as Node silently discards it).
 */
export function applyDhparam(ctx: NativeContext, v: string | ArrayBufferView): boolean {
  if (v === 'auto') return true;
  const buf = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const bits = ctx.setDhParams(buf);
  if (bits === 0) return false;
  if (bits < 1024) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'DH parameter is less than 1024 bits');
  if (bits < 2048) process.emitWarning('DH parameter is less than 2048 bits', 'SecurityWarning');
  return true;
}
