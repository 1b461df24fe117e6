// Runs the stress/fuzz driver in its quick mode (a few thousand hostile cases and a small load) as
// a child process: a crash of the node-gnutls server or client children, or any hang, fails it.
import * as path from 'path';
import { ChildResult, runChild } from './helpers';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'stress.js');

function runQuick(): Promise<ChildResult> {
  return runChild(process.execPath, [SCRIPT, '--quick'], { cwd: path.join(__dirname, '..'), killAfterMs: 85000 });
}

test('npm run stress -- --quick: cases run, no crash, no hang, exit 0', async () => {
  const r = await runQuick();
  const m = /^SUMMARY_JSON (.*)$/m.exec(r.stdout);
  if (!m || r.code !== 0) console.log(r.stdout.slice(-6000), r.stderr.slice(-2000));
  expect(m).not.toBeNull();
  const summary = JSON.parse(m![1]) as { cases: number; crashes: number; hangs: number; untyped: number };
  expect(summary.cases).toBeGreaterThan(0);
  expect(summary.crashes).toBe(0);
  expect(summary.hangs).toBe(0);
  expect(r.stdout).toMatch(/\| crashes\s+\| 0\s+\|/);
  expect(r.stdout).toMatch(/\| hangs\s+\| 0\s+\|/);
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
}, 90000);
