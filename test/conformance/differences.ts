// The one list of what a program can observe differently from Node's tls, and why. The README's
// "Differences from Node's tls" table is checked against it (readme.test.ts): each entry is one row,
// `difference | why`, verbatim. The differential harness applies an entry's `normalise` to both
// traces of the scenarios it names, so a difference nobody listed fails its scenario.
import type { Pair } from './harness';

export interface Difference {
  /** The README row's first cell. */
  difference: string;
  /** The README row's second cell: GnuTLS cannot, or we deliberately do better. */
  why: string;
  /** The scenarios (by name) whose traces it touches; /^$/ when no scenario observes it. */
  scenarios: RegExp;
  /** In which pairings it shows (default: all). */
  when?: (p: Pair) => boolean;
  /** Maps a trace line to what is compared (null drops it). */
  normalise: (line: string) => string | null;
}

const same = (l: string): string => l;

export const DIFFERENCES: Difference[] = [
  {
    difference:
      "`socket instanceof tls.TLSSocket` is false (it is a `net.Socket`); so Node's `http2` client, which waits for `'secureConnect'` only on a `tls.TLSSocket`, sets up before the handshake and sees no `alpnProtocol`",
    why: "our socket is not built on Node's TLS handle; making the check pass is future work",
    scenarios: /^instanceof /,
    normalise: (l) => l.replace(/instanceof tls\.TLSSocket = (true|false)/, 'instanceof tls.TLSSocket = (differs)'),
  },
  {
    difference: '`_parent` is `null` when the transport is not a `net.Socket` (a `PassThrough`, a tunnel); the transport is `socket.socket`',
    why: "net.Socket's timers walk `_parent` expecting a `net.Socket`",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: '`getPeerX509Certificate()` has no `issuerCertificate`',
    why: '`crypto.X509Certificate` made from DER cannot carry one; `getPeerCertificate(true)` has the chain',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "An OpenSSL-form error message (`<thread>:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:<file>:<line>:SSL alert number 40`) names our thread identifier and, for file and line, `gnutls` and the GnuTLS error code",
    why: "OpenSSL's thread id and source position have no GnuTLS counterpart; the code, function, reason and data fields are OpenSSL's",
    scenarios: /^errors: /,
    // Only the thread field and the file:line pair are masked; every other field is compared.
    normalise: (l) =>
      l.replace(/\b[0-9A-F]{16}:error:([0-9A-F]{8}):SSL routines:([^:"]*):([^:"]*):[^:"]*:-?\d+:/g, '<thread>:error:$1:SSL routines:$2:$3:<file>:<line>:'),
  },
];
