// A short pass of the libFuzzer targets (scripts/fuzz.sh, fuzz/): RecordQueue's framing and the
// native input path (GnuTLS over RecordQueue, driven as lib/ drives it) under ASan, UBSan and
// LeakSanitizer, built with clang without Node. Fails on any crash, sanitizer report, leak,
// broken invariant or timeout.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildResult, runChild } from './helpers';

const ROOT = path.join(__dirname, '..');
const SECONDS_EACH = 4;
const haveClang = spawnSync('sh', ['-c', 'command -v "${CXX_FUZZ:-clang++}"']).status === 0;
if (!haveClang) console.warn('native.fuzz.test.ts: skipped, clang++ is not installed (scripts/setup.sh --dev installs clang and the libFuzzer runtime of its version)');

interface TargetResult {
  execs: number;
  seconds: number;
  cov: number;
  ft: number;
  corpus: number;
  crashes: number;
}

function runFuzz(workDir: string): Promise<ChildResult> {
  return runChild('bash', [path.join(ROOT, 'scripts', 'fuzz.sh'), String(SECONDS_EACH)], {
    cwd: ROOT,
    env: { ...process.env, FUZZ_WORK_DIR: workDir },
    killAfterMs: 55000,
  });
}

(haveClang ? test : test.skip)(
  `libFuzzer targets record_queue_fuzz and session_fuzz: ${SECONDS_EACH} s each, executions, no crash`,
  async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-fuzz-'));
    try {
      const r = await runFuzz(work);
      const m = /^FUZZ_JSON (.*)$/m.exec(r.stdout);
      if (!m || r.code !== 0 || /"execs":0/.test(m[1])) console.log(r.stdout.slice(-8000), r.stderr.slice(-2000));
      expect(r.signal).toBeNull();
      expect(m).not.toBeNull();
      const results = JSON.parse(m![1]) as Record<string, TargetResult>;
      expect(Object.keys(results).sort()).toEqual(['record_queue_fuzz', 'session_fuzz']);
      for (const [name, t] of Object.entries(results)) {
        expect({ name, crashes: t.crashes }).toEqual({ name, crashes: 0 });
        expect(t.execs).toBeGreaterThan(0);
        expect(t.cov).toBeGreaterThan(0);
      }
      expect(r.stdout).not.toMatch(/CRASHED|did not run/);
      expect(r.code).toBe(0);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
  60000,
);
