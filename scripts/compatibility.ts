// Writes the generated part of docs/compatibility.md from the directive tables
// (src/config/directives/compatibility.ts). `--check`: exit 1 when the doc is out of date.
//   node --import tsx scripts/compatibility.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withGenerated } from '../src/config/directives/compatibility.ts';

const doc = fileURLToPath(new URL('../docs/compatibility.md', import.meta.url));
const text = readFileSync(doc, 'utf8');
const next = withGenerated(text);
if (next === null) {
  process.stderr.write(`${doc}: the BEGIN/END GENERATED markers are missing\n`);
  process.exit(2);
}
if (process.argv.includes('--check')) {
  if (next !== text) {
    process.stderr.write(`${doc} is out of date: run node --import tsx scripts/compatibility.ts\n`);
    process.exit(1);
  }
} else if (next !== text) {
  writeFileSync(doc, next);
  process.stdout.write(`${doc} updated\n`);
}
