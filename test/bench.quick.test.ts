// The benchmark harness runs end to end in --quick mode and measures something for every scenario
// and both stacks. Never asserts a speed.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface Side { samples: number[]; median: number; cpuMedian: number | null }
interface Row { group: string; id: string; label: string; a: Side | null; b: Side | null; ratio: number | null; note?: string }
interface Results { meta: { quick: boolean }; rows: Row[] }

const ROOT = path.join(__dirname, '..');
const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('bench/run.js --quick produces a finite positive result for every scenario and both stacks', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gnutls-bench-test-'));
  const out = path.join(dir, 'results.json');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [path.join(ROOT, 'bench', 'run.js'), '--quick', '--out', out],
        { cwd: ROOT, timeout: 240000, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGTERM' },
        (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr.slice(-4000)}`)) : resolve()));
    });
    const res = JSON.parse(fs.readFileSync(out, 'utf8')) as Results;
    expect(res.meta.quick).toBe(true);
    const groups = new Set(res.rows.map((r) => r.group));
    expect([...groups].sort()).toEqual(['bulk', 'handshake', 'memory', 'pingpong', 'reauth']);

    const bad: string[] = [];
    for (const r of res.rows) {
      // node-gnutls side: always measured.
      if (!r.a || !positive(r.a.median) || !r.a.samples.every(positive)) bad.push(`${r.id}: node-gnutls ${JSON.stringify(r.a)}`);
      if (r.group === 'reauth' && r.id !== 'reauth-vs-mtls') {
        // node:tls has no post-handshake auth: explicitly absent, with a note saying so.
        if (r.b !== null || !r.note) bad.push(`${r.id}: expected node:tls n/a with a note`);
        continue;
      }
      if (!r.b || !positive(r.b.median) || !r.b.samples.every(positive)) bad.push(`${r.id}: node:tls ${JSON.stringify(r.b)}`);
      if (!positive(r.ratio)) bad.push(`${r.id}: ratio ${r.ratio}`);
      if (r.group !== 'memory') {
        if (!positive(r.a && r.a.cpuMedian)) bad.push(`${r.id}: node-gnutls CPU`);
        if (!positive(r.b && r.b.cpuMedian)) bad.push(`${r.id}: node:tls CPU`);
      }
    }
    expect(bad).toEqual([]);
    // Every required scenario is present.
    const ids = new Set(res.rows.map((r) => r.id));
    for (const id of [
      'bulk-TLSv1.3-s2c', 'bulk-TLSv1.3-c2s', 'bulk-TLSv1.2-s2c', 'bulk-TLSv1.2-c2s',
      'bulk-TLSv1.3-s2c-gS-nC', 'bulk-TLSv1.3-s2c-nS-gC',
      'hs-ecdsa-anon-c1', 'hs-ecdsa-anon-c16', 'hs-ecdsa-mtls-c1', 'hs-rsa-anon-c1', 'hs-rsa-mtls-c16', 'hs-resumed-c1', 'hs-resumed-c16',
      'pingpong-p50', 'pingpong-p99', 'mem-server-rss', 'mem-server-heap', 'mem-client-rss', 'mem-client-heap',
      'reauth', 'reauth-vs-mtls', 'reauth-ratio',
    ]) expect(ids).toContain(id);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 250000);
