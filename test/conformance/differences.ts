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
      '`getTLSTicket()` on a client, `getSharedSigalgs()`, `enableTrace()` and `setKeyCert()` throw an `Error` with code `ERR_GNUTLS_UNSUPPORTED` (after close the getters return `null` as Node\'s do; a server\'s `getTLSTicket()` is `undefined`)',
    why: "GnuTLS exposes neither the raw session ticket nor the shared signature algorithms, has no per-connection protocol trace, and fixes a session's credentials when it is made",
    scenarios: /^socket surface: setMaxSendFragment/,
    when: (p) => p.client === 'gnutls',
    normalise: (l) => {
      const m = /^client (enableTrace\(\)|setKeyCert\(\)|getTLSTicket\(\) kind|getSharedSigalgs\(\) kind) (?:-> (?:undefined|"Buffer"|"Array")|threw Error\{name=Error code=ERR_GNUTLS_UNSUPPORTED .*)$/.exec(l);
      return m ? `client ${m[1]} (GnuTLS cannot)` : l;
    },
  },
  {
    difference: '`tls.rootCertificates` lists GnuTLS\'s system trust store, the default trust when no `ca` is given',
    why: "Node's is its bundled Mozilla store; ours reports what we actually trust",
    scenarios: /^$/,
    normalise: same,
  },
  {
    difference: "An `ALPNCallback` choosing no protocol fails the handshake with `ERR_SSL_NO_APPLICATION_PROTOCOL` and our message, not OpenSSL's error string",
    why: "the message of Node's error is OpenSSL's internal error text (with its source path)",
    scenarios: /^options: ALPNCallback picks none$/,
    when: (p) => p.server === 'gnutls',
    normalise: (l) => l.replace(/^(server tlsClientError code=ERR_SSL_NO_APPLICATION_PROTOCOL message=).*$/, '$1(differs)'),
  },
  {
    difference:
      "A `TRUSTED CERTIFICATE` in `ca` whose trust settings reject a purpose, or trust some but not TLS, is not trusted at all (`authorizationError` is then `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, Node's says `INVALID_PURPOSE`)",
    why: 'GnuTLS has no per-purpose trust: such a certificate is left out, never trusted for more than OpenSSL would',
    scenarios: /^options: a TRUSTED CERTIFICATE in ca with (-addtrust emailProtection|-addreject serverAuth)$/,
    when: (p) => p.client === 'gnutls',
    normalise: (l) => l.replace(/authorized=false authorizationError=(INVALID_PURPOSE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, 'authorized=false authorizationError=(untrusted)'),
  },
];
