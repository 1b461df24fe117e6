// The event maps make misuse a compile error: compile snippets with the project's tsc.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const tscBin = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function compile(source: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-types-'));
  const file = path.join(dir, 'snippet.ts');
  fs.writeFileSync(file, `import * as tls from ${JSON.stringify(path.join(root, 'lib'))};\n${source}\n`);
  return tsc(file, dir);
}

function tsc(file: string, dir: string): { ok: boolean; output: string } {
  try {
    execFileSync(process.execPath, [tscBin, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--target', 'ES2022', '--moduleResolution', 'node', file], { stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: Buffer }).stdout ?? err) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('typed events: correct use compiles, a misspelled event or wrong listener does not', () => {
  const good = compile(`export const f = (s: tls.TLSSocket) => s.on('reauthRequest', (r) => r.decline());`);
  expect(good).toEqual({ ok: true, output: '' });
  const typo = compile(`export const f = (s: tls.TLSSocket) => s.on('reauthRequst', () => {});`);
  expect(typo.ok).toBe(false);
  expect(typo.output).toMatch(/reauthRequst/);
  const wrong = compile(`export const f = (s: tls.TLSSocket) => s.on('session', (x: number) => x);`);
  expect(wrong.ok).toBe(false);
  expect(wrong.output).toMatch(/error TS2345/);
}, 60000);

test("a program written for @types/node's tls compiles against ours unchanged (strict)", () => {
  // The program imports '../../lib': compile a copy placed where that resolves the same way.
  const program = fs.readFileSync(path.join(__dirname, 'types', 'node-tls-program.typecheck.ts'), 'utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-types-'));
  const file = path.join(dir, 'program.ts');
  fs.writeFileSync(file, program.replace("from '../../lib'", `from ${JSON.stringify(path.join(root, 'lib'))}`));
  expect(program).toContain("from '../../lib'");
  expect(tsc(file, dir)).toEqual({ ok: true, output: '' });
}, 60000);

test("an application's own event names compile; names spelled like ours do not", () => {
  const custom = compile(`export const f = (s: tls.TLSSocket, srv: tls.Server) => { s.on('my-app:ready', (n: number) => n); s.emit('my-app:ready', 1); srv.on('drain-all', () => {}); s.on('lookup', (err, address) => address); };`);
  expect(custom).toEqual({ ok: true, output: '' });
  // Each @ts-expect-error line must fail to compile, or tsc reports the unused directive.
  const typos = ['SecureConect', 'keylogs', 'sessions', 'OCSPresponse', 'reauthrequest'];
  const lines = typos.map((typo) => `  // @ts-expect-error misspelled\n  s.on('${typo}', () => {});`);
  const rejected = compile(`export const f = (s: tls.TLSSocket, srv: tls.Server) => {\n${lines.join('\n')}\n  // @ts-expect-error a socket event on the server\n  srv.on('secureConnect', () => {});\n};`);
  expect(rejected).toEqual({ ok: true, output: '' });
}, 60000);
