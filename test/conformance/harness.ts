// The differential harness: one scenario, run with Node's `tls` and with node-gnutls in every
// server/client pairing, recording what a program can observe into a Trace. Node/Node is the
// reference; every other pairing must give the same trace, except where an entry of
// differences.ts (the list the README's "Differences from Node's tls" table is checked against)
// says how the two may differ and why.
import * as net from 'net';
import * as nodeTls from 'tls';
import { types } from 'util';
import * as gtls from '../../lib';
import { DIFFERENCES, Difference } from './differences';

export type Stack = 'node' | 'gnutls';
/** Both modules seen through Node's typings: a scenario is written once, as for Node's tls. */
export type TlsModule = typeof nodeTls;
export const MODULES: Record<Stack, TlsModule> = { node: nodeTls, gnutls: gtls as unknown as TlsModule };

export interface Pair {
  server: Stack;
  client: Stack;
}
export const pairName = (p: Pair): string => `${p.server} server, ${p.client} client`;
const ALL_PAIRS: Pair[] = [
  { server: 'node', client: 'node' },
  { server: 'gnutls', client: 'gnutls' },
  { server: 'node', client: 'gnutls' },
  { server: 'gnutls', client: 'node' },
];
/**
 * Which pairings a scenario runs in: 'all' (default); 'client' when only the client side is under
 * test (the server is Node's, the client each stack); 'server' the mirror; 'same' (node/node and
 * gnutls/gnutls) when one module plays both roles (a module-level check, say).
 */
export type Pairings = 'all' | 'client' | 'server' | 'same';
export function pairsFor(p: Pairings): Pair[] {
  if (p === 'client') return ALL_PAIRS.filter((x) => x.server === 'node');
  if (p === 'server') return ALL_PAIRS.filter((x) => x.client === 'node');
  if (p === 'same') return ALL_PAIRS.filter((x) => x.server === x.client);
  return ALL_PAIRS;
}

/** How a value shows in a trace: errors by class, name, code and message; buffers by length. */
export function show(v: unknown): string {
  // Errors that Node's internals build come from another realm than jest's: no instanceof.
  if (types.isNativeError(v)) {
    const e = v as Error & { code?: unknown };
    return `${errorClass(e)}{name=${e.name} code=${String(e.code)} message=${JSON.stringify(e.message)}}`;
  }
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'function';
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? `Buffer(${x.length})` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

const STANDARD = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError']);
/** The nearest standard class of an error, by the prototype chain's names (any realm). */
function errorClass(e: Error): string {
  for (let p = Object.getPrototypeOf(e); p; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    if (name && STANDARD.has(name)) return name;
  }
  return 'Error';
}

/** The observable record of one run. Lines are compared in order. */
export class Trace {
  readonly lines: string[] = [];
  constructor(readonly pair: Pair) {}
  push(line: string): void {
    this.lines.push(line);
  }
  value(label: string, v: unknown): void {
    this.push(`${label} = ${show(v)}`);
  }
  /** Runs fn and records what it returned or threw. */
  call<T>(label: string, fn: () => T): T | undefined {
    try {
      const r = fn();
      this.push(`${label} -> ${show(r)}`);
      return r;
    } catch (e) {
      this.push(`${label} threw ${show(e)}`);
      return undefined;
    }
  }
  /** Records each of the named events of an emitter, with its arguments, as it happens. */
  events(label: string, emitter: NodeJS.EventEmitter, names: string[], args: (name: string, a: unknown[]) => string = (_n, a) => a.map(show).join(', ')): void {
    for (const name of names) emitter.on(name, (...a: unknown[]) => this.push(`${label} ${name}(${args(name, a)})`));
  }
}

export interface ScenarioContext {
  server: TlsModule;
  client: TlsModule;
  pair: Pair;
}
export type Scenario = (ctx: ScenarioContext, t: Trace) => Promise<void>;

/** The differences that apply to a scenario in a pairing, each normalising both traces. */
function differencesFor(scenario: string, pair: Pair): Difference[] {
  return DIFFERENCES.filter((d) => d.scenarios.test(scenario) && (!d.when || d.when(pair)));
}

function normalise(lines: string[], diffs: Difference[]): string[] {
  let out = lines;
  for (const d of diffs) out = out.map((l) => d.normalise(l)).filter((l): l is string => l !== null);
  return out;
}

/**
 * A trace as one ordered list per actor (a line's first word: 'server', 'client', ...). The order
 * of one socket's events is what programs rely on; between two sockets it is a race on loopback.
 */
export function byActor(lines: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines) (out[l.split(' ', 1)[0]] ??= []).push(l);
  return out;
}

/** Runs one scenario in one pairing, with a deadline: a scenario that never ends fails. */
export async function runPair(scenario: Scenario, pair: Pair, timeoutMs = 20000): Promise<Trace> {
  const t = new Trace(pair);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario did not finish within ${timeoutMs} ms (${pairName(pair)}); trace so far:\n${t.lines.join('\n')}`)), timeoutMs);
  });
  try {
    await Promise.race([scenario({ server: MODULES[pair.server], client: MODULES[pair.client], pair }, t), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return t;
}

/**
 * Declares a jest test per pairing other than node/node: it runs the scenario with Node's tls on
 * both ends and in that pairing, and expects the same trace (after the listed differences).
 */
export function differential(name: string, scenario: Scenario, opts: { pairings?: Pairings; timeoutMs?: number } = {}): void {
  const pairs = pairsFor(opts.pairings ?? 'all').filter((p) => p.server !== 'node' || p.client !== 'node');
  let reference: Promise<Trace> | undefined;
  const ref = (): Promise<Trace> => (reference ??= runPair(scenario, { server: 'node', client: 'node' }, opts.timeoutMs));
  for (const pair of pairs) {
    test(`${name} [${pairName(pair)}]`, async () => {
      const expected = await ref();
      const got = await runPair(scenario, pair, opts.timeoutMs);
      const diffs = differencesFor(name, pair);
      expect(byActor(normalise(got.lines, diffs))).toEqual(byActor(normalise(expected.lines, diffs)));
    }, (opts.timeoutMs ?? 20000) * 2 + 5000);
  }
}

// ---- small helpers scenarios share ---------------------------------------------------------------

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

export function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Resolves when the emitter emits `event` (with its first argument). */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (a: T) => resolve(a)));
}

/** Resolves when a socket has closed (immediately if it has). */
export function closed(s: net.Socket): Promise<void> {
  return s.destroyed && s.closed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
}

/** Lets pending I/O callbacks and timers of the same tick run (a settle point in a trace). */
export const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));
