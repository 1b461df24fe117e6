// Errors in the shape Node's own argument checks throw: a standard class (TypeError, RangeError,
// Error) with Node's `code` and message, as `require('tls')` reports the same mistake.
import { inspect } from 'util';

type Ctor = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

export function codedError(Class: Ctor, code: string, message: string): Error & { code: string } {
  const err = new Class(message) as Error & { code: string };
  err.code = code;
  return err;
}

/** How Node's ERR_INVALID_ARG_TYPE describes the value it got ("Received type string ('x')"). */
export function received(v: unknown): string {
  if (v === null || v === undefined) return `Received ${String(v)}`;
  if (typeof v === 'function') return `Received function ${(v as { name?: string }).name || '<anonymous>'}`;
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${inspect(v, { depth: -1 })}`;
  }
  let shown = inspect(v, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof v} (${shown})`;
}

/** Node's ERR_INVALID_ARG_TYPE for an argument (`what` is e.g. 'of type number'). */
export function invalidArgType(name: string, what: string, v: unknown): Error & { code: string } {
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${what}. ${received(v)}`);
}

/** What GnuTLS has no means for: a clear error naming the method, never a silent stand-in. */
export function unsupported(what: string, why: string): Error & { code: string } {
  return codedError(Error, 'ERR_GNUTLS_UNSUPPORTED', `${what} is not supported by node-gnutls: ${why}`);
}

/** Node's number display in range errors: 1_099_511_627_776. */
function separated(n: number): string {
  const s = String(n);
  if (!Number.isInteger(n) || Math.abs(n) < 1000) return s;
  const sign = n < 0 ? '-' : '';
  return sign + s.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}

/** Node's validateInt32: an integer in the int32 range, else ERR_OUT_OF_RANGE. */
export function checkInt32(name: string, v: number): void {
  if (!Number.isInteger(v)) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be an integer. Received ${String(v)}`);
  }
  if (v < -2147483648 || v > 2147483647) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= -2147483648 && <= 2147483647. Received ${separated(v)}`);
  }
}
