// `npm run bench [name]`: runs bench/*.bench.ts (or the one named) with the same flags as the server code.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv[2];
const benches = readdirSync(new URL('../bench', import.meta.url)).filter((f) => f.endsWith('.bench.ts') && (!only || f.startsWith(only)));
let failed = 0;
for (const bench of benches) {
  console.log(`\n##### ${bench}`);
  const result = spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', `bench/${bench}`], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
