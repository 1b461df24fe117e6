// cluster: 4 forked workers share one listening port, each running a node-gnutls server and
// node-gnutls clients against that port at the same time (every echo checked by SHA-256, so a
// connection served by another worker must come back intact), then the workers are ended in the
// middle of the traffic: SIGKILL, worker.kill() (SIGTERM), disconnect() (the worker must exit by
// itself, code 0) and "destroy every socket, keep going, then disconnect" (code 0). Run in a
// child process (test/workers/cluster.js) so that a crash is an exit status.
import * as fs from 'fs';
import * as path from 'path';
import { ChildResult, runChild } from './helpers';

const SCRIPT = path.join(__dirname, 'workers', 'cluster.js');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

interface WorkerCounts {
  served: number;
  echoOk: number;
  mismatch: number;
  untyped: number;
  hangs: number;
  live?: number;
}
interface RoundReport {
  round: number;
  ok: boolean;
  ports: number[];
  problems: string[];
  workers: Array<{
    id: number;
    expected: { code?: number; signal?: string };
    exit: { code: number | null; signal: string | null };
    final: string | null;
    beforeKill: WorkerCounts;
    last: WorkerCounts;
  }>;
}
interface ClusterReport {
  ok: boolean;
  rounds: number;
  workers: number;
  echoOk: number;
  mismatch: number;
  untyped: number;
  hangs: number;
  liveAfterFinish: number[];
  problems: string[];
  untypedSamples: string[];
  details: RoundReport[];
}

function runCluster(args: string[]): Promise<ChildResult> {
  // The script bounds every wait itself; the kill only guards against the primary hanging.
  return runChild(process.execPath, [SCRIPT, ...args], { killAfterMs: 55000 });
}

beforeAll(() => {
  expect(fs.existsSync(DIST)).toBe(true); // the workers load the compiled package
});

test('4 workers × (server + clients) on a shared port, ended mid-traffic, 2 rounds: only the intended exits, no hang, data intact', async () => {
  const r = await runCluster(['--workers', '4', '--clients', '4', '--warmup', '5', '--rounds', '2']);
  const m = /^CLUSTER (.*)$/m.exec(r.stdout);
  if (!m || r.code !== 0) console.log(r.stdout.slice(-6000), r.stderr.slice(-3000));
  expect(m).not.toBeNull();
  const rep = JSON.parse(m![1]) as ClusterReport;
  expect(rep.problems).toEqual([]);
  expect(rep.untypedSamples).toEqual([]);
  expect(rep.rounds).toBe(2);
  expect(rep.workers).toBe(8);
  for (const round of rep.details) {
    expect(round.ports).toHaveLength(1); // one port shared by all workers
    const exits = round.workers.map((w) => (w.exit.signal ? w.exit.signal : `code ${w.exit.code}`));
    expect(exits).toEqual(['SIGKILL', 'SIGTERM', 'code 0', 'code 0']);
    for (const w of round.workers) {
      // before the endings every worker had served connections and echoed its own data
      expect(w.beforeKill.served).toBeGreaterThan(0);
      expect(w.beforeKill.echoOk).toBeGreaterThanOrEqual(5);
      expect(w.last.mismatch).toBe(0);
      expect(w.last.untyped).toBe(0);
      expect(w.last.hangs).toBe(0);
    }
    // the two workers that ended by themselves reported, with no native session left
    expect(round.workers.slice(2).map((w) => [w.final, w.last.live])).toEqual([
      ['disconnect', 0],
      ['finish', 0],
    ]);
  }
  expect(rep.mismatch).toBe(0);
  expect(rep.untyped).toBe(0);
  expect(rep.hangs).toBe(0);
  expect(rep.echoOk).toBeGreaterThan(40);
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
}, 60000);
