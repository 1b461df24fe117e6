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
      'A lone leaf in `cert` is sent as given; OpenSSL completes it with its issuers from `ca` (the root too), so a Node peer may read `SELF_SIGNED_CERT_IN_CHAIN` where ours reads `UNABLE_TO_VERIFY_LEAF_SIGNATURE`',
    why: 'GnuTLS sends the chain it is given; give the whole chain in `cert` for the same result (completing it from `ca` is future work)',
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference:
      "A fatal TLS error after the handshake destroys the socket before `'error'` is emitted; Node's socket stays open until the application destroys it",
    why: 'a GnuTLS session cannot be used after a fatal error, so nothing is left to keep open',
    scenarios: /^$/,
    normalise: same,
  },
];
