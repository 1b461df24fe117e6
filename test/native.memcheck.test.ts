// The native layer under valgrind memcheck: no definite/indirect leaks, no invalid accesses, no
// session left alive after handshakes, reauth(), rehandshake() and GC-dropped sockets.
import { spawnSync } from 'child_process';
import * as path from 'path';

test('valgrind memcheck: zero leaks and invalid accesses (scripts/memcheck.sh)', () => {
  const r = spawnSync('bash', [path.join(__dirname, '..', 'scripts', 'memcheck.sh'), '2'], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/live native sessions: 0/);
  expect(r.stdout).toMatch(/memcheck: definitely lost 0 bytes, indirectly lost 0 bytes, invalid accesses 0/);
  expect(r.status).toBe(0);
}, 180000);
