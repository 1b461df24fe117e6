// Command-line parsing for the node-gnutls tool: node:util parseArgs, usage texts, validation.
import { ParseArgsConfig, parseArgs } from 'node:util';
import * as fs from 'fs';
import { CONNECT_EXTRA_OPTIONS, CONNECT_EXTRA_USAGE, ExtraArgs, SERVE_EXTRA_OPTIONS, SERVE_EXTRA_USAGE, parseExtras } from './extras';

/** The protocol versions --min-version/--max-version accept (Node's names). */
export type TLSVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** A mistake in the command line: printed with the usage hint, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage applies ('' for the top level). */
    readonly command: string = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const TOP_USAGE = `Usage: node-gnutls <command> [options]

TLS tools built on node-gnutls (GnuTLS behind Node's tls API).

Commands:
  serve     run a TLS echo server (default) or a tiny HTTPS server
  connect   connect to a TLS server, pipe stdin/stdout through the connection

Run 'node-gnutls <command> --help' for the options of a command.
Options:
  -h, --help      show this help
  -v, --version   print the node-gnutls and GnuTLS versions
`;

export const SERVE_USAGE = `Usage: node-gnutls serve [--port P] [--cert FILE --key FILE] [options]

Accepts TLS connections and echoes each received line back (--echo, the default) or answers
HTTP GET requests with a short text description of the TLS session (--http).

In echo mode a line starting with one of these commands acts on the connection first (as in
gnutls-serv --echo); the command line is echoed back afterwards:
  **REAUTH**        re-authenticate the client: socket.reauth() (TLS 1.3 post-handshake auth,
                    TLS 1.2 re-handshake asking for the certificate); as gnutls-serv, the
                    certificate is required and must be trusted only with --require-client-cert,
                    otherwise its identity and verification status are reported
  **REHANDSHAKE**   socket.rehandshake() (TLS 1.2 re-handshake; TLS 1.3: key update asking the peer)
  **KEYUPDATE**     socket.keyUpdate(): a TLS 1.3 key update of our sending keys

Options:
  -p, --port P                 port to listen on (default 5556 as gnutls-serv; 0 picks a free one)
      --host H                 address to listen on (default 127.0.0.1)
      --cert FILE              server certificate chain (PEM); without --cert/--key (and without
                               --rawpkkeyfile/--pskpasswd) a throw-away self-signed certificate
                               for localhost is made with certtool and its fingerprint printed
      --key FILE               server private key (PEM)
      --ca FILE                CA certificates for verifying client certificates (PEM);
                               default: the system trust store
      --echo                   echo server (default)
      --http                   HTTP/1.1 server answering GET requests (ALPN http/1.1 offered)
      --require-client-cert    the handshake fails without a trusted client certificate
      --request-client-cert    ask for a client certificate, accept any outcome and report it
      --priority S             GnuTLS priority string (e.g. NORMAL:-VERS-TLS1.3)
      --alpn P1,P2             ALPN protocols, in the server's order of preference
      --min-version V          lowest TLS version: TLSv1, TLSv1.1, TLSv1.2 (default), TLSv1.3
      --max-version V          highest TLS version (default TLSv1.3)
      --timeout MS             limit for each in-band command (default 30000)
      --json                   one JSON object per line instead of readable lines
  -u, --udp                    DTLS 1.2 over UDP: every datagram is echoed back (needs --cert/--key
                               or --pskpasswd; not with --http, raw public keys or OCSP)
${SERVE_EXTRA_USAGE}  -h, --help                   show this help

Everything that happens (listening address, connections, handshake results, command results,
HTTP requests, errors, closes) is printed on stdout.
`;

export const CONNECT_USAGE = `Usage: node-gnutls connect HOST:PORT [options]

Connects to a TLS server, prints the session (protocol, cipher, ALPN, verification result, the
peer's certificate chain) on stderr, then sends stdin to the server and writes what the server
sends to stdout. Re-authentication requests (TLS 1.3 post-handshake auth) and re-handshake
requests (TLS 1.2 HelloRequest) from the server are answered and reported on stderr.
End of stdin closes the connection (close_notify); the command exits when the server has closed.

Options:
      --cert FILE              client certificate chain (PEM)
      --key FILE               client private key (PEM)
      --ca FILE                CA certificates for verifying the server (PEM);
                               default: the system trust store
      --servername N           SNI name and the name to verify (default: HOST unless an IP address)
      --post-handshake-auth    offer TLS 1.3 post-handshake authentication
      --rehandshake            start a re-handshake right after connecting (TLS 1.2;
                               under TLS 1.3 a key update asking the server to update too)
      --alpn P1,P2             ALPN protocols to offer
      --priority S             GnuTLS priority string
      --min-version V          lowest TLS version (default TLSv1.2)
      --max-version V          highest TLS version (default TLSv1.3)
      --insecure               continue when the server's certificate does not verify
      --timeout MS             limit for the handshake and for --rehandshake (default 30000)
      --json                   session details and events as JSON lines on stderr
  -u, --udp                    DTLS 1.2 over UDP: each line of stdin is sent as one datagram, each
                               datagram received is written to stdout
${CONNECT_EXTRA_USAGE}  -h, --help                   show this help

Exit status: 0 after a clean close, 1 on a connection, handshake or verification error
(the error's code and GnuTLS name are printed), 2 on a usage error.
`;

export const USAGE: Record<string, string> = { '': TOP_USAGE, serve: SERVE_USAGE, connect: CONNECT_USAGE };

/** gnutls-serv's default port. */
export const DEFAULT_PORT = 5556;

const VERSIONS: readonly TLSVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Options shared by both commands. */
const COMMON = {
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  priority: { type: 'string' },
  alpn: { type: 'string' },
  'min-version': { type: 'string' },
  'max-version': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  udp: { type: 'boolean', short: 'u' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SERVE_OPTIONS = {
  ...COMMON,
  ...SERVE_EXTRA_OPTIONS,
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  echo: { type: 'boolean' },
  http: { type: 'boolean' },
  'require-client-cert': { type: 'boolean' },
  'request-client-cert': { type: 'boolean' },
} as const;

const CONNECT_OPTIONS = {
  ...COMMON,
  ...CONNECT_EXTRA_OPTIONS,
  servername: { type: 'string' },
  'post-handshake-auth': { type: 'boolean' },
  rehandshake: { type: 'boolean' },
  insecure: { type: 'boolean' },
} as const;

/** What both commands share after parsing. */
export interface CommonArgs {
  json: boolean;
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  priority?: string;
  alpn?: string[];
  minVersion?: TLSVersion;
  maxVersion?: TLSVersion;
  /** Milliseconds for in-band commands / the handshake and --rehandshake. */
  timeout: number;
  /** Raw public keys, PSK, OCSP. */
  extra: ExtraArgs;
  /** DTLS 1.2 over UDP (node-gnutls/dtls) instead of TLS over TCP. */
  udp: boolean;
}

export interface ServeArgs extends CommonArgs {
  port: number;
  host: string;
  mode: 'echo' | 'http';
  clientCert: 'none' | 'request' | 'require';
}

export interface ConnectArgs extends CommonArgs {
  host: string;
  port: number;
  servername?: string;
  postHandshakeAuth: boolean;
  rehandshake: boolean;
  insecure: boolean;
}

export type Parsed =
  | { command: 'help'; topic: string }
  | { command: 'version' }
  | { command: 'serve'; args: ServeArgs }
  | { command: 'connect'; args: ConnectArgs };

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(command: string, options: ParseArgsConfig['options'], argv: string[]): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    // parseArgs names the option ("Unknown option '--x'. To specify a positional argument ...").
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option '${unknown[1]}'` : message, command);
  }
}

function readFile(what: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
}

function version(name: string, v: string | undefined, command: string): TLSVersion | undefined {
  if (v === undefined) return undefined;
  if (!(VERSIONS as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${VERSIONS.join(', ')} (got '${v}')`, command);
  }
  return v as TLSVersion;
}

function port(text: string, command: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`${what} must be a port number 0-65535 (got '${text}')`, command);
  return Number(text);
}

function common(values: Values, command: string): CommonArgs {
  const cert = readFile('certificate', values.cert as string | undefined);
  const key = readFile('key', values.key as string | undefined);
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together', command);
  let timeout = 30000;
  if (values.timeout !== undefined) {
    const t = String(values.timeout);
    if (!/^\d+$/.test(t) || Number(t) === 0) throw new UsageError(`--timeout must be a positive number of milliseconds (got '${t}')`, command);
    timeout = Number(t);
  }
  const alpnText = values.alpn as string | undefined;
  const alpn = alpnText?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (alpnText !== undefined && alpn!.length === 0) throw new UsageError('--alpn needs at least one protocol name', command);
  let extra: ExtraArgs;
  try {
    extra = parseExtras(values, readFile);
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
  if (values.udp) udpChecks(values, command);
  return {
    extra,
    udp: values.udp === true,
    json: values.json === true,
    cert,
    key,
    ca: readFile('CA', values.ca as string | undefined),
    priority: values.priority as string | undefined,
    alpn,
    minVersion: version('min-version', values['min-version'] as string | undefined, command),
    maxVersion: version('max-version', values['max-version'] as string | undefined, command),
    timeout,
  };
}

/** What --udp (DTLS) does not do: refused by name rather than ignored. */
function udpChecks(values: Values, command: string): void {
  const tcpOnly = ['http', 'rehandshake', 'post-handshake-auth', 'min-version', 'max-version', 'rawpkkeyfile', 'rawpkfile', 'pin', 'ocsp-response', 'request-ocsp', 'save-ocsp'];
  const used = tcpOnly.find((o) => values[o] !== undefined);
  if (used) throw new UsageError(`--${used} is not supported with --udp (DTLS)`, command);
  if (command === 'serve' && values.cert === undefined && values.pskpasswd === undefined) {
    throw new UsageError('--udp needs --cert/--key or --pskpasswd', command);
  }
}

/** HOST:PORT, [IPv6]:PORT. */
export function hostPort(text: string, command = 'connect'): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`expected HOST:PORT (or [IPv6]:PORT), got '${text}'`, command);
  const p = port(m[2], command, 'PORT');
  if (p === 0) throw new UsageError('PORT must not be 0', command);
  return { host: m[1], port: p };
}

/** Parses the whole command line (without node and the script). */
export function parseCommandLine(argv: string[]): Parsed {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    return { command: 'help', topic: command === 'help' && rest[0] ? rest[0] : '' };
  }
  if (command === '-v' || command === '--version') return { command: 'version' };
  if (command === 'serve') {
    const { values, positionals } = parse('serve', SERVE_OPTIONS, rest);
    if (values.help) return { command: 'help', topic: 'serve' };
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'serve');
    if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together', 'serve');
    if (values.echo && values.http) throw new UsageError('--echo and --http exclude each other', 'serve');
    if (values['require-client-cert'] && values['request-client-cert']) {
      throw new UsageError('--require-client-cert and --request-client-cert exclude each other', 'serve');
    }
    const shared = common(values, 'serve');
    if (values.http) {
      // The HTTP mode speaks HTTP/1.x only: h2 is not offered.
      if (shared.alpn?.some((p) => !/^http\/1\.[01]$/.test(p))) {
        throw new UsageError('--http speaks HTTP/1.1 only: --alpn may list http/1.1 and http/1.0', 'serve');
      }
      shared.alpn ??= ['http/1.1'];
    }
    return {
      command: 'serve',
      args: {
        ...shared,
        port: values.port === undefined ? DEFAULT_PORT : port(String(values.port), 'serve', '--port'),
        host: (values.host as string | undefined) ?? '127.0.0.1',
        mode: values.http ? 'http' : 'echo',
        clientCert: values['require-client-cert'] ? 'require' : values['request-client-cert'] ? 'request' : 'none',
      },
    };
  }
  if (command === 'connect') {
    const { values, positionals } = parse('connect', CONNECT_OPTIONS, rest);
    if (values.help) return { command: 'help', topic: 'connect' };
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'HOST:PORT is required' : `unexpected argument '${positionals[1]}'`, 'connect');
    }
    const { host, port: p } = hostPort(positionals[0]);
    return {
      command: 'connect',
      args: {
        ...common(values, 'connect'),
        host,
        port: p,
        servername: values.servername as string | undefined,
        postHandshakeAuth: values['post-handshake-auth'] === true,
        rehandshake: values.rehandshake === true,
        insecure: values.insecure === true,
      },
    };
  }
  throw new UsageError(command.startsWith('-') ? `unknown option '${command}'` : `unknown command '${command}'`);
}
