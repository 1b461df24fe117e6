// Node's `secureProtocol` option: an OpenSSL method name, mapped to the versions it allows.
import type { TLSVersion } from './secure-context';
import { codedError } from './validate';

/** Versions each method family allows ([min, max]; undefined: the widest GnuTLS supports). */
const METHODS: Record<string, [TLSVersion, TLSVersion] | undefined> = {
  TLS: undefined,
  // As Node's: the SSLv23 names stop at TLS 1.2.
  SSLv23: ['TLSv1', 'TLSv1.2'],
  TLSv1: ['TLSv1', 'TLSv1'],
  TLSv1_1: ['TLSv1.1', 'TLSv1.1'],
  TLSv1_2: ['TLSv1.2', 'TLSv1.2'],
};
const WIDEST: [TLSVersion, TLSVersion] = ['TLSv1', 'TLSv1.3'];

/**
 * The [min, max] versions of `secureProtocol`, or null when it is not set. Throws as Node does for
 * SSLv2/SSLv3, unknown names, and a minVersion/maxVersion given with it.
 */
export function secureProtocolVersions(o: { secureProtocol?: unknown; minVersion?: unknown; maxVersion?: unknown }): [TLSVersion, TLSVersion] | null {
  const method = o.secureProtocol;
  if (method === undefined || method === null || typeof method !== 'string') return null;
  for (const v of [o.minVersion, o.maxVersion]) {
    if (v !== undefined && v !== null) {
      throw codedError(TypeError, 'ERR_TLS_PROTOCOL_VERSION_CONFLICT', `TLS protocol version ${JSON.stringify(v)} conflicts with secureProtocol ${JSON.stringify(method)}`);
    }
  }
  if (/^SSLv2_/.test(method)) throw codedError(TypeError, 'ERR_TLS_INVALID_PROTOCOL_METHOD', 'SSLv2 methods disabled');
  if (/^SSLv3_/.test(method)) throw codedError(TypeError, 'ERR_TLS_INVALID_PROTOCOL_METHOD', 'SSLv3 methods disabled');
  const m = /^(TLS|SSLv23|TLSv1|TLSv1_1|TLSv1_2)_(?:server_|client_)?method$/.exec(method);
  if (!m) throw codedError(TypeError, 'ERR_TLS_INVALID_PROTOCOL_METHOD', `Unknown method: ${method}`);
  return METHODS[m[1]] ?? WIDEST;
}
