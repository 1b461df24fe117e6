// Node's `ciphers` option: split into the TLS 1.2 cipher list (OpenSSL's grammar) and the TLS 1.3
// suites as Node splits it, each evaluated as OpenSSL would, then said as a GnuTLS priority.
import { opensslError, TLSError } from '../errors';
import { invalidArgValue, validateString } from '../validate';
import { allowedAtLevel, CipherListError, evaluateCipherList } from './grammar';
import { Suite, TLS13_SUITES } from './suites';

export { opensslName, gnutlsSuiteToIana, cipherVersion } from './names';
export { evaluateCipherList, allowedAtLevel } from './grammar';
export { allSuites } from './suites';

/** OpenSSL's TLS 1.3 suites when a string names none (TLS_AES_128_CCM_SHA256 is not among them). */
export const DEFAULT_TLS13 = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

export interface CipherChoice {
  /** TLS 1.2 suites OpenSSL would offer, in its order (after the security level). */
  tls12: Suite[];
  /** TLS 1.3 suites by IANA name, in order. */
  tls13: string[];
  /** The string held no TLS 1.2 list: the context is TLS 1.3-only (Node raises minVersion). */
  tls13Only: boolean;
}

/** OpenSSL's errors for a cipher list, in Node's shape (lib/errors.ts). */
function cipherListError(reason: 'no cipher match' | 'invalid command'): TLSError {
  return opensslError(reason === 'no cipher match' ? 'NO_CIPHER_MATCH' : 'INVALID_COMMAND');
}

/**
 * Node's `ciphers` as OpenSSL makes it: undefined for the defaults (`undefined`, `null`, `''`),
 * else the TLS 1.2 and TLS 1.3 suites it enables. Throws Node's errors for a wrong type, for a
 * string with no suites at all (ERR_INVALID_ARG_VALUE) and for lists nothing matches.
 */
export function parseCiphers(ciphers: unknown, name = 'options.ciphers'): CipherChoice | undefined {
  if (ciphers === undefined || ciphers === null || ciphers === '') return undefined;
  validateString(ciphers, name);
  const known = recent.get(ciphers);
  if (known) return known;
  const choice = evaluate(ciphers, name);
  if (recent.size >= 64) recent.delete(recent.keys().next().value as string);
  recent.set(ciphers, choice);
  return choice;
}

/** The strings evaluated last (a client often makes one context per connection). */
const recent = new Map<string, CipherChoice>();

function evaluate(ciphers: string, name: string): CipherChoice {
  const parts = ciphers.split(':');
  const isTls13 = (c: string): boolean => c.startsWith('TLS_') || c.startsWith('!TLS_');
  const list = parts.filter((c) => c.length > 0 && !isTls13(c)).join(':');
  const suites = parts.filter((c) => c.length > 0 && isTls13(c));
  if (list === '' && suites.length === 0) {
    throw invalidArgValue(name, parts);
  }
  let tls13 = DEFAULT_TLS13;
  if (suites.length > 0) {
    tls13 = [...new Set(suites.filter((s) => TLS13_SUITES[s] !== undefined))];
    if (tls13.length === 0) throw cipherListError('no cipher match');
  }
  if (list === '') return { tls12: [], tls13, tls13Only: true };
  let result;
  try {
    result = evaluateCipherList(list);
  } catch (e) {
    if (e instanceof CipherListError) throw cipherListError(e.reason);
    throw e;
  }
  if (result.suites.length === 0) throw cipherListError('no cipher match');
  const level = result.secLevel;
  return { tls12: result.suites.filter((s) => allowedAtLevel(s, level)), tls13, tls13Only: false };
}

const uniq = <T>(v: T[]): T[] => [...new Set(v)];

/**
 * The GnuTLS priority keywords (after NORMAL) that enable a choice: one list of key exchanges,
 * one of ciphers and one of MACs, whose product GnuTLS enables, for TLS 1.2 and TLS 1.3 alike.
 * `tls13` says whether TLS 1.3 can be negotiated: RSA-PSK is then left out (in GnuTLS 3.7 it
 * stops TLS 1.3 PSK), and with `psk` (a PSK callback) the PSK key exchanges that TLS 1.3 PSK needs
 * are added whether the list has PSK suites or not.
 */
export function choicePriority(c: CipherChoice, tls13: boolean, psk = false): string {
  const ciphers = uniq([...(tls13 ? c.tls13.map((n) => TLS13_SUITES[n]) : []), ...c.tls12.map((s) => s.gnutls.cipher)]);
  // SHA-256 before SHA-384: GnuTLS takes the first MAC as the hash of TLS 1.3 external PSKs.
  const macOrder = ['AEAD', 'SHA256', 'SHA384', 'SHA1'];
  const macs = uniq([...(tls13 ? ['AEAD'] : []), ...c.tls12.map((s) => s.gnutls.mac)]).sort(
    (a, b) => macOrder.indexOf(a) - macOrder.indexOf(b),
  );
  const listed = c.tls12.map((s) => s.gnutls.kx);
  const kx = uniq([...listed, ...(tls13 && psk ? ['ECDHE-PSK', 'DHE-PSK', 'PSK'] : [])]).filter((k) => !(tls13 && k === 'RSA-PSK'));
  return ['-CIPHER-ALL', '-MAC-ALL', '-KX-ALL', ...ciphers.map((x) => `+${x}`), ...macs.map((x) => `+${x}`), ...kx.map((x) => `+${x}`)].join(':');
}
