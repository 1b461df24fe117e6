// Adversarial ClientHellos (test/robustness/cases.ts) against gnutls-serv --echo and our server,
// plain and with the whole ClientHello pipeline (resumeSession, async SNICallback picking another
// context so that the held ClientHello is replayed into a fresh session, OCSPRequest): the first
// answer (ServerHello and what it selected, or the alert) and whether the server closed must be
// gnutls-serv's; our server reports every refused handshake as a typed tlsClientError.
// NODE_GNUTLS_ROBUSTNESS_SCALE multiplies the counts (npm run stress).
import { appendFileSync } from 'fs';
import { Answer, exchange, records, clientHello } from './tls-builder';
import { Case, V, cases } from './cases';
import { MODES, Mode, Running, startGnutlsServ, startOurs } from './servers';

const SCALE = Number(process.env.NODE_GNUTLS_ROBUSTNESS_SCALE ?? '1') || 1;
const DEFAULT_PRIORITY = 'NORMAL';
const CONCURRENCY = 6;
/** At a larger scale each shape goes to our servers this many times more (all answers equal). */
const REPEAT = SCALE > 1 ? Math.round(SCALE) : 0;

interface Result {
  reference: Answer;
  ours: Record<Mode, Answer & { error?: string }>;
  /** Our answers to the repeats, with the mode. */
  repeats: string[];
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const send = (port: number, c: Case): Promise<Answer> => {
  const bytes = c.bytes();
  const chunks: Buffer[] | undefined = c.chunked ? [] : undefined;
  if (chunks) for (let i = 0; i < bytes.length; i += c.chunked!) chunks.push(bytes.subarray(i, i + c.chunked!));
  // gnutls-serv serves all connections from one process: under load it may take a while.
  return exchange(port, bytes, { chunks, endAfterWait: c.truncated, waitMs: 3000 });
};

describe.each(['1.2', '1.3'] as V[])('adversarial ClientHellos, TLS %s', (v) => {
  const list = cases(v, SCALE);
  const results = new Map<string, Result>();
  const servers: Running[] = [];
  const ours: Array<{ mode: Mode; priority: string; server: Running }> = [];

  beforeAll(async () => {
    const priorities = [...new Set(list.map((c) => c.priority ?? DEFAULT_PRIORITY))];
    const refs = new Map<string, Running>();
    for (const p of priorities) {
      const ref = await startGnutlsServ(p);
      servers.push(ref);
      refs.set(p, ref);
      for (const mode of MODES) {
        const server = await startOurs(mode, p);
        servers.push(server);
        ours.push({ mode, priority: p, server });
      }
    }
    const jobs = list.flatMap((c) => [null, ...MODES].map((mode) => ({ c, mode, repeat: false })));
    for (let i = 0; i < REPEAT; i++) jobs.push(...list.flatMap((c) => MODES.map((mode) => ({ c, mode, repeat: true }))));
    for (const c of list) results.set(c.name, { ours: {}, repeats: [] } as unknown as Result);
    await pool(jobs, CONCURRENCY, async ({ c, mode, repeat }) => {
      const p = c.priority ?? DEFAULT_PRIORITY;
      const r = results.get(c.name)!;
      if (mode === null) {
        r.reference = await send(refs.get(p)!.port, c);
        return;
      }
      const server = ours.find((o) => o.mode === mode && o.priority === p)!.server;
      const a = await send(server.port, c);
      if (repeat) {
        r.repeats.push(`${mode}: ${a.first}; ${a.then}`);
        return;
      }
      // The error is emitted as the server closes: give it a moment past the client's view.
      await new Promise((res) => setTimeout(res, a.then === 'closed' ? 50 : 0));
      r.ours[mode] = { ...a, error: server.errorFor(a.localPort) };
    });
    // gnutls-serv serves every connection from one select() loop: under load it has been seen
    // not to answer in time. Such a case is asked again, alone (ours are never asked twice).
    for (const c of list) {
      const r = results.get(c.name)!;
      if (r.reference.first === 'nothing' && r.reference.then === 'open') {
        r.reference = await send(refs.get(c.priority ?? DEFAULT_PRIORITY)!.port, c);
      }
    }
  }, 240000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    // The case table (case → gnutls-serv → ours), for reports.
    const report = process.env.NODE_GNUTLS_ROBUSTNESS_REPORT;
    if (report) {
      const row = (a: Answer & { error?: string }): string => `${a.first}; ${a.then}${a.error ? ` (${a.error})` : ''}`;
      const lines = list.map((c) => {
        const r = results.get(c.name)!;
        return `TLS ${v} | ${c.name} | ${row(r.reference)} | ${MODES.map((m) => row(r.ours[m])).join(' | ')}${c.differs ? ` | deliberate: ${c.differs.why}` : ''}`;
      });
      appendFileSync(report, `${lines.join('\n')}\n`);
    }
  });

  test.each(list.map((c) => [c.name, c] as const))('%s: answered as gnutls-serv answers', (_name, c) => {
    const r = results.get(c.name)!;
    const reference = `${r.reference.first}; ${r.reference.then}`;
    // gnutls-serv decided (or, for incomplete input, reacted to the EOF): never a silent wait.
    expect(reference).not.toBe('nothing; open');
    if (c.differs) expect(reference).toBe(c.differs.reference);
    for (const mode of MODES) {
      const a = r.ours[mode];
      expect({ mode, answer: `${a.first}; ${a.then}` }).toEqual({ mode, answer: c.differs?.ours ?? reference });
      if (!a.first.startsWith('ServerHello') && !a.first.startsWith('HelloRetryRequest')) {
        expect({ mode, error: a.error }).toEqual({ mode, error: c.differs?.error ?? expect.stringMatching(/^GNUTLS_E_/) });
      }
    }
    const first = (m: string): string => `${m}: ${r.ours[m as Mode].first}; ${r.ours[m as Mode].then}`;
    for (const again of r.repeats) expect(again).toBe(first(again.slice(0, again.indexOf(':'))));
  });

  test('the pipeline ran for these ClientHellos (lookup, SNICallback and its replay, OCSPRequest)', () => {
    const stages = ours.filter((o) => o.mode === 'pipeline').map((o) => o.server.stages);
    const sum = (k: keyof Running['stages']): number => stages.reduce((a, s) => a + s[k], 0);
    const served = list.filter((c) => results.get(c.name)!.ours.pipeline.first.startsWith('ServerHello')).length;
    expect(sum('SNICallback')).toBeGreaterThanOrEqual(served);
    if (v === '1.2') expect(sum('resumeSession')).toBeGreaterThan(0);
  });
});

describe('a handshake that cannot progress', () => {
  test.each([
    ['an SNICallback that never answers', { SNICallback: () => {} }, false],
    ['a resumeSession listener that never answers', {}, true],
  ] as const)('%s: ERR_TLS_HANDSHAKE_TIMEOUT within handshakeTimeout', async (_name, extra, lookup) => {
    const server = await startOurs('plain', DEFAULT_PRIORITY, { handshakeTimeout: 700, ...extra }, lookup ? () => {} : undefined);
    try {
      const a = await exchange(server.port, records(clientHello({ version: '1.2', sessionId: Buffer.alloc(32, 7) }), 100), { waitMs: 3000 });
      await new Promise((res) => setTimeout(res, 50));
      expect(`${a.first}; ${a.then}`).toBe('nothing; closed');
      expect(a.ms).toBeLessThan(2000);
      expect(server.errorFor(a.localPort)).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    } finally {
      await server.stop();
    }
  });

  test.each(['plain', 'pipeline'] as Mode[])('%s: ends with a typed error within handshakeTimeout', async (mode) => {
    const server = await startOurs(mode, DEFAULT_PRIORITY, { handshakeTimeout: 700 });
    try {
      const a = await exchange(server.port, records(clientHello({ version: '1.3' })).subarray(0, -1), { waitMs: 3000 });
      await new Promise((res) => setTimeout(res, 50));
      expect(a.then).toBe('closed');
      expect(a.ms).toBeLessThan(2000);
      expect(server.errorFor(a.localPort)).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    } finally {
      await server.stop();
    }
  });
});
