// The README's "Differences from Node's tls" table says exactly what differences.ts lists: one row
// per entry, in order, verbatim; nothing more, nothing less.
import * as fs from 'fs';
import * as path from 'path';
import { DIFFERENCES } from './differences';

function readmeRows(): string[][] {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf("\n## Differences from Node's tls\n");
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start + 1).split(/\n## /)[0];
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !/^\| (difference|---) /.test(l))
    .map((l) => l.slice(2, -2).split(' | '));
}

test("the README's Differences table is the list the differential tests allow", () => {
  const rows = readmeRows();
  expect(rows).toEqual(DIFFERENCES.map((d) => [d.difference, d.why]));
});
