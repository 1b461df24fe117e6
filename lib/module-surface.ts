// Module-level helpers of Node's tls: rootCertificates, convertALPNProtocols, createSecurePair.
import { X509Certificate } from 'crypto';
import { binding } from './native';
import { SecureContext } from './secure-context';
import { codedError } from './validate';
import { SecurePair } from './secure-pair';
import type { TLSSocketOptions } from './socket-options';

let roots: readonly string[] | undefined;

/**
 * The CA certificates a context trusts when given no `ca`: GnuTLS's system trust store, as PEM
 * strings in a frozen array (Node's is its bundled Mozilla store).
 */
export function rootCertificates(): readonly string[] {
  roots ??= Object.freeze(binding.systemTrust().map((der) => new X509Certificate(der).toString()));
  return roots;
}

/** Node's convertALPNProtocols: sets `out.ALPNProtocols` to the wire format of `protocols`. */
export function convertALPNProtocols(protocols: unknown, out: { ALPNProtocols?: Buffer | Uint8Array }): void {
  if (Array.isArray(protocols)) {
    const parts: Buffer[] = [];
    protocols.forEach((p: unknown, i) => {
      const name = typeof p === 'string' ? Buffer.from(p) : Buffer.from(p as Uint8Array);
      if (name.length > 255) {
        throw codedError(
          RangeError,
          'ERR_OUT_OF_RANGE',
          `The byte length of the protocol at index ${i} exceeds the maximum length. It must be <= 255. Received ${name.length}`,
        );
      }
      parts.push(Buffer.from([name.length]), name);
    });
    out.ALPNProtocols = Buffer.concat(parts);
  } else if (protocols instanceof Uint8Array) {
    out.ALPNProtocols = Buffer.from(protocols);
  }
}

/** Node's deprecated createSecurePair (DEP0064): a TLSSocket over an in-memory duplex pair. */
export function createSecurePair(
  context?: SecureContext,
  isServer?: boolean,
  requestCert?: boolean,
  rejectUnauthorized?: boolean,
  options?: TLSSocketOptions,
): SecurePair {
  if (context !== undefined && !(context instanceof SecureContext)) {
    throw codedError(TypeError, 'ERR_TLS_INVALID_CONTEXT', 'context must be a SecureContext');
  }
  warnOnce();
  return new SecurePair(context, isServer, requestCert, rejectUnauthorized, options);
}

let warned = false;
function warnOnce(): void {
  if (warned) return;
  warned = true;
  process.emitWarning('tls.createSecurePair() is deprecated. Please use tls.TLSSocket instead.', 'DeprecationWarning', 'DEP0064');
}

/** `C` that may also be called without `new` (as Node's tls.Server may), constructing all the same. */
export function callableClass<C extends new (...args: never[]) => unknown>(
  C: C,
): C & ((...args: ConstructorParameters<C>) => InstanceType<C>) {
  return new Proxy(C, {
    apply: (target, _self, args: unknown[]) => Reflect.construct(target, args),
  }) as C & ((...args: ConstructorParameters<C>) => InstanceType<C>);
}
