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
  // The table headed `| difference | why |`, up to its end (other tables may follow in the section).
  const lines = section.split('\n');
  const head = lines.indexOf('| difference | why |');
  expect(head).toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const l of lines.slice(head + 2)) {
    if (!l.startsWith('| ')) break;
    rows.push(l.slice(2, -2).split(' | '));
  }
  return rows;
}

test("the README's Differences table is the list the differential tests allow", () => {
  const rows = readmeRows();
  expect(rows).toEqual(DIFFERENCES.map((d) => [d.difference, d.why]));
});
