// The event maps make misuse a compile error: compile snippets with the project's tsc.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function compile(source: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngtls-types-'));
  const file = path.join(dir, 'snippet.ts');
  fs.writeFileSync(file, `import * as tls from ${JSON.stringify(path.join(root, 'lib'))};\n${source}\n`);
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--target', 'ES2022', '--moduleResolution', 'node', file], { stdio: 'pipe' });
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
