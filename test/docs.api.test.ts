// The API reference (`npm run docs`, TypeDoc): it builds with no warning (an undocumented export is
// one), and every option, event and error code the README names is in it, with a type.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDir } from './helpers';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

interface Reflection {
  name: string;
  kind: number;
  type?: unknown;
  children?: Reflection[];
}

let output = '';
let status: number | null = null;
let modules: Record<string, Reflection> = {};

beforeAll(() => {
  const dir = tmpDir('node-gnutls-docs-');
  const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'); // its package exports no bin path
  // The project's typedoc.json, written elsewhere so the run leaves docs/api/ alone.
  const r = spawnSync(process.execPath, [typedoc, '--out', path.join(dir, 'html'), '--json', path.join(dir, 'api.json')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  output = `${r.stdout}${r.stderr}`;
  status = r.status;
  if (status === 0) {
    const project = JSON.parse(fs.readFileSync(path.join(dir, 'api.json'), 'utf8')) as Reflection;
    modules = Object.fromEntries((project.children ?? []).map((m) => [m.name, m]));
  }
  fs.rmSync(dir, { recursive: true, force: true });
}, 120000);

/** The member `name` of module `mod`. */
function member(mod: string, name: string): Reflection {
  const found = modules[mod]?.children?.find((c) => c.name === name && c.children);
  if (!found) throw new Error(`${mod}.${name} is not in the reference`);
  return found;
}
/** The names of the properties of these interfaces that have a type. */
function typedProperties(mod: string, ...names: string[]): Set<string> {
  return new Set(names.flatMap((n) => (member(mod, n).children ?? []).filter((c) => c.type !== undefined).map((c) => c.name)));
}

/** The README's text from `heading` to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const level = heading.match(/^#+/)![0];
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end < 0 ? rest : rest.slice(0, end);
}
/** The identifiers that begin the backticked spans of `text`: `ALPNCallback({ ... })` → ALPNCallback. */
function identifiers(text: string): string[] {
  return [...text.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)[^`]*`/g)].map((m) => m[1]);
}
/** The event names after each "Event"/"Events" in `text`, up to the end of that list. */
function eventsNamed(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\bEvents?\b:?/g)) {
    const after = text.slice(m.index! + m[0].length);
    // The list ends at a colon, a full stop or "Methods"/"when" outside backticks.
    const masked = after.replace(/`[^`]*`/g, (s) => 'x'.repeat(s.length));
    const end = masked.search(/:|\.(\s|$)|\bMethods\b|\bwhen\b/);
    let list = end < 0 ? after : after.slice(0, end);
    // Asides in parentheses outside backticks, "(client with `requestOCSP`)", name no event.
    for (const p of masked.slice(0, list.length).matchAll(/\([^()]*\)/g)) {
      list = list.slice(0, p.index) + ' '.repeat(p[0].length) + list.slice(p.index! + p[0].length);
    }
    names.push(...identifiers(list));
  }
  return names;
}

test('npm run docs: TypeDoc builds the reference with no warning', () => {
  expect({ status, warnings: output.split('\n').filter((l) => /warning|error/i.test(l) && !/Found 0 errors and 0 warnings/.test(l)) }).toEqual({
    status: 0,
    warnings: [],
  });
  expect(Object.keys(modules).sort()).toEqual(['dtls', 'https', 'index']);
});

test("every option of the README's options table is a typed property of the options interfaces", () => {
  const table = section('### Options (`createSecureContext`, `createServer`, `connect`, `new TLSSocket`)');
  const options = table
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => identifiers(l.split('|')[1]));
  expect(options.length).toBeGreaterThan(30);
  const documented = typedProperties('index', 'TLSSocketOptions', 'ConnectionOptions', 'TlsOptions', 'SecureContextOptions');
  expect(options.filter((o) => !documented.has(o))).toEqual([]);
});

test('every event the README names is in its event map, with its listener type', () => {
  const server = section('### `Server` (a `net.Server`)');
  const serverEvents = eventsNamed(server);
  const socketEvents = eventsNamed(section('## API').replace(server, ''));
  expect(serverEvents).toEqual(expect.arrayContaining(['secureConnection', 'tlsClientError', 'OCSPRequest']));
  expect(socketEvents).toEqual(expect.arrayContaining(['secureConnect', 'session', 'reauthRequest', 'rehandshakeRequest', 'renegotiated']));
  const socketMap = typedProperties('index', 'TLSSocketEvents');
  const serverMap = typedProperties('index', 'ServerEvents');
  expect(socketEvents.filter((e) => !socketMap.has(e))).toEqual([]);
  expect(serverEvents.filter((e) => !serverMap.has(e))).toEqual([]);
  // The HTTP adapters section quotes the HTTPS server's events: 'clientError', ...
  const httpsEvents = [...section('## HTTP adapters').matchAll(/`'([A-Za-z]+)'`/g)].map((m) => m[1]);
  expect(httpsEvents.length).toBeGreaterThan(2);
  const httpsMap = typedProperties('https', 'HttpsServerEvents');
  expect(httpsEvents.filter((e) => !httpsMap.has(e))).toEqual([]);
});

test("the README's table of codes and the reference's ErrorCodes list the same codes", () => {
  const table = readme.slice(readme.indexOf('Codes raised by node-gnutls itself'), readme.indexOf('## Differences'));
  const codes = new Set([...table.matchAll(/`((?:ERR|GNUTLS_E)_[A-Z0-9_]+)`/g)].map((m) => m[1]));
  expect(codes.size).toBeGreaterThan(30);
  expect([...typedProperties('index', 'ErrorCodes')].sort()).toEqual([...codes].sort());
});

test("the HTTP adapters and their options are in the node-gnutls/https reference", () => {
  const names = (modules.https.children ?? []).map((c) => c.name);
  expect(names).toEqual(expect.arrayContaining(['createServer', 'Server', 'Agent', 'undiciConnector', 'ServerOptions', 'AgentOptions', 'UndiciConnectorOptions']));
  expect(typedProperties('https', 'AgentOptions').has('maxCachedSessions')).toBe(true);
  const connector = typedProperties('https', 'UndiciConnectorOptions');
  expect(['allowH2', 'maxCachedSessions', 'timeout'].filter((o) => !connector.has(o))).toEqual([]);
});

test('the DTLS classes, their options and events are in the node-gnutls/dtls reference', () => {
  const names = (modules.dtls.children ?? []).map((c) => c.name);
  expect(names).toEqual(expect.arrayContaining(['DTLSServer', 'DTLSSocket', 'connect', 'createServer', 'DTLSConnectOptions', 'DTLSServerOptions']));
  const client = typedProperties('dtls', 'DTLSConnectOptions');
  expect(['host', 'port', 'servername', 'mtu', 'retransmitTimeout', 'handshakeTimeout', 'srtpProfiles'].filter((o) => !client.has(o))).toEqual([]);
  const server = typedProperties('dtls', 'DTLSServerOptions');
  expect(['requestCert', 'maxHalfOpen', 'cookieRotation', 'type', 'mtu'].filter((o) => !server.has(o))).toEqual([]);
  // The README's DTLS section quotes each class's events after "Events:": 'listening', ...
  const dtls = section('## DTLS');
  const quoted = (from: string, to: string): string[] => {
    const text = dtls.slice(dtls.indexOf(from), dtls.indexOf(to));
    return [...text.slice(text.indexOf('Events:')).matchAll(/`'([A-Za-z]+)'`/g)].map((m) => m[1]);
  };
  const serverEvents = quoted('**`DTLSServer`**', '**`DTLSSocket`**');
  const socketEvents = quoted('**`DTLSSocket`**', '**Errors**');
  expect(serverEvents).toEqual(expect.arrayContaining(['secureConnection', 'clientError']));
  expect(socketEvents).toEqual(expect.arrayContaining(['secureConnect', 'message']));
  const serverMap = typedProperties('dtls', 'DTLSServerEvents');
  const socketMap = typedProperties('dtls', 'DTLSSocketEvents');
  expect(serverEvents.filter((e) => !serverMap.has(e))).toEqual([]);
  expect(socketEvents.filter((e) => !socketMap.has(e))).toEqual([]);
});
