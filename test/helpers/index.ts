// Shared test helpers: fixtures, ports, peers run as child processes (always cleaned up).
import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const fixturePath = (name: string): string => path.join(FIXTURES, name);
export const fixture = (name: string): Buffer => fs.readFileSync(fixturePath(name));

export const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type Version = (typeof VERSIONS)[number];
/** GnuTLS priority string limited to one version. */
export const gnutlsPriority = (v: Version): string => `NORMAL:-VERS-ALL:+VERS-TLS${v.slice(4)}`;

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A port that was free a moment ago (for peers that cannot be told to pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A child process whose stdout/stderr are collected as text. */
export interface Peer {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
afterAll(async () => {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
});

export function spawnPeer(cmd: string, args: string[], opts: SpawnOptions = {}): Peer {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: FIXTURES, ...opts });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d) => (out += d.toString()));
  proc.stderr?.on('data', (d) => (err += d.toString()));
  proc.stdin?.on('error', () => {});
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );
  const waitFor = (re: RegExp, timeoutMs = 15000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        // Each stream on its own: a partial stdout line followed by stderr is not one line.
        const m = re.exec(out) ?? re.exec(err);
        if (m) {
          cleanup();
          resolve(m[0]);
          return true;
        }
        return false;
      };
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(new Error(`${cmd} exited before printing ${re}\nstdout:\n${out}\nstderr:\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${re} from ${cmd}\nstdout:\n${out}\nstderr:\n${err}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        proc.stdout?.off('data', check);
        proc.stderr?.off('data', check);
        proc.off('exit', onExit);
      };
      if (check()) return;
      proc.stdout?.on('data', check);
      proc.stderr?.on('data', check);
      proc.on('exit', onExit);
    });
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  };
  return { proc, out: () => out, err: () => err, waitFor, exited, kill };
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `gnutls-serv` on a free port and waits until it accepts connections. */
export async function gnutlsServ(args: string[]): Promise<Peer & { port: number }> {
  const port = await freePort();
  const peer = spawnPeer('gnutls-serv', ['-p', String(port), ...args]);
  await waitForPort(port);
  return Object.assign(peer, { port });
}

/** Starts `openssl s_server` on 127.0.0.1 and a free port. */
export async function opensslServer(args: string[]): Promise<Peer & { port: number }> {
  const port = await freePort();
  const peer = spawnPeer('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, ...args]);
  await waitForPort(port);
  return Object.assign(peer, { port });
}

export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string, timeoutMs = 15000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), timeoutMs);
    emitter.once(event, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
    if (event !== 'error') {
      emitter.once('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
    }
  });
}

/** Collects a readable stream until 'end'. */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

// ---- per-test cleanup ----------------------------------------------------------------------------

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `fn` after the current test (last registered, first run). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/**
 * Listens on 127.0.0.1 and, after the test, destroys the server's raw connections and closes it.
 * `next()` waits for the next 'secureConnection'.
 */
export async function serveTracked<S>(
  server: net.Server,
  waitMs = 15000,
): Promise<{ port: number; next: () => Promise<S> }> {
  const raw = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    raw.add(s);
    s.on('close', () => raw.delete(s));
  });
  const port = await listen(server);
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of raw) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port, next: () => once<S>(server, 'secureConnection', waitMs) };
}

/** A stream destroyed after the test. */
export function tracked<T extends { destroy(): unknown }>(stream: T): T {
  onCleanup(() => {
    stream.destroy();
  });
  return stream;
}

// ---- the compiled package (dist/) ----------------------------------------------------------------

import { spawnSync } from 'child_process';

const ROOT = path.join(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure dist/ (what bin/node-gnutls.js and the package entry points load) is built from the
 * current lib/: when `marker` (a file under dist/) is missing or older than a file in lib/, runs
 * the package's build (`tsc -p tsconfig.build.json && node scripts/write-esm-entry.js`). Type
 * errors in `mustCompile` (a folder under lib/) fail the build; elsewhere tsc still emits.
 */
export function ensureDist(marker = 'index.js', mustCompile?: string): void {
  const out = path.join(ROOT, 'dist', marker);
  const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
  if (built >= newestSource(path.join(ROOT, 'lib'))) return;
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  const errors = (r.stdout ?? '') + (r.stderr ?? '');
  if (mustCompile && errors.split('\n').some((l) => l.startsWith(`lib/${mustCompile}/`))) {
    throw new Error(`tsc -p tsconfig.build.json:\n${errors}`);
  }
  if (!fs.existsSync(out)) throw new Error(`tsc did not produce dist/${marker}:\n${errors}`);
  const esm = spawnSync(process.execPath, ['scripts/write-esm-entry.js'], { cwd: ROOT, encoding: 'utf8' });
  if (esm.status !== 0) throw new Error(`scripts/write-esm-entry.js failed:\n${esm.stderr}`);
}

// ---- peers' complete output, temporary directories, one-shot tools -------------------------------

import * as os from 'os';

/** Resolves once the peer's stdout and stderr have been read to their end. */
function outputDrained(peer: Peer): Promise<void> {
  const streams = [peer.proc.stdout, peer.proc.stderr].filter((s) => s && !s.readableEnded && !s.destroyed);
  return Promise.all(streams.map((s) => new Promise<void>((resolve) => s!.once('close', () => resolve())))).then(
    () => undefined,
  );
}

/**
 * Stops a long-running peer (gnutls-serv) and waits for everything it printed: a piped stdout is
 * block-buffered and complete only once the process has exited.
 */
export async function stopPeer(peer: Peer): Promise<void> {
  const done = outputDrained(peer);
  await peer.kill();
  await done;
}

/** Waits at most `ms` for a peer to exit by itself, then for all its output; the exit code. */
export async function peerExit(peer: Peer, ms = 15000): Promise<number | null> {
  const done = outputDrained(peer);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    peer.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`peer did not exit within ${ms} ms\nstdout:\n${peer.out()}\nstderr:\n${peer.err()}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  await done;
  return code;
}

/** A new empty directory under the system's temporary directory (the caller removes it). */
export function tmpDir(prefix = 'node-gnutls-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs a command to completion (cwd test/fixtures unless given); throws with its output on failure. */
export function runTool(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? FIXTURES, input: opts.input, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return r.stdout;
}

/** `p`, or a rejection naming `what` when it has not settled after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** OpenSSL's CA database time format: YYMMDDHHMMSSZ. */
function caTime(d: Date): string {
  return d.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');
}

/**
 * An OCSP response for the fixture server.pem ('V' good, 'R' revoked), signed by its issuer
 * (int.pem) with `openssl ocsp` as a responder (GnuTLS's ocsptool only checks responses).
 * Written to `dir/name.der`; returns the path.
 */
export function makeOcspResponse(dir: string, name: string, status: 'V' | 'R'): string {
  const serial = runTool('openssl', ['x509', '-in', 'server.pem', '-noout', '-serial']).trim().replace(/^serial=/, '');
  const subject = runTool('openssl', ['x509', '-in', 'server.pem', '-noout', '-subject', '-nameopt', 'compat'])
    .trim()
    .replace(/^subject=\s*/, '');
  const now = Date.now();
  const expiry = caTime(new Date(now + 365 * 86400e3));
  const revokedAt = status === 'R' ? caTime(new Date(now - 3600e3)) : '';
  const index = path.join(dir, `${name}.index.txt`);
  fs.writeFileSync(index, `${status}\t${expiry}\t${revokedAt}\t${serial}\tunknown\t${subject}\n`);
  const out = path.join(dir, `${name}.der`);
  runTool('openssl', [
    'ocsp', '-index', index, '-rsigner', 'int.pem', '-rkey', 'int.key', '-CA', 'int.pem',
    '-issuer', 'int.pem', '-cert', 'server.pem', '-respout', out, '-ndays', '1',
  ]);
  return out;
}

/** `gnutls-cli` to 127.0.0.1:port verifying our fixture server as localhost, limited to one version. */
export function gnutlsClient(port: number, version: Version, args: string[] = []): Peer {
  return spawnPeer('gnutls-cli', [
    '-p', String(port), '--x509cafile', 'ca.pem', '--sni-hostname', 'localhost', '--verify-hostname', 'localhost',
    '--priority', gnutlsPriority(version), ...args, '127.0.0.1',
  ]);
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output; SIGKILL after `killAfterMs` (a hang guard). */
export function runChild(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs: number }): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
