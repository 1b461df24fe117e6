// Node-shaped errors that lib/validate.ts has no rule for: what GnuTLS cannot do, and Node's
// validateInt32 wording.
import { codedError } from './validate';

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
