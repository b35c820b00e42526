import path from 'node:path';
import { inspectElf, resolveNeeded } from '../artifacts/elf';
import { parseCommandArgs } from './args';

export async function inspectCommand(args: string[]) {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, 1);
  const report = await inspectElf(positionals[0]);
  const needed = await resolveNeeded(report.needed, { runpath: report.runpath, rpath: report.rpath, origin: path.dirname(path.resolve(positionals[0])) });
  if (values.json) {
    console.log(JSON.stringify({ ...report, neededResolved: needed }, null, 2));
    return 0;
  }
  console.log(`file         ${positionals[0]}`);
  console.log(`format       ELF${report.elfClass} ${report.endianness}-endian ${report.type} ${report.machine}`);
  console.log(`soname       ${report.soname ?? '(none)'}`);
  console.log(`static TLS   ${report.staticTls ? 'YES (refused by the upload pipeline)' : 'no'}`);
  console.log(`Go runtime   ${report.goBuildInfo ? `yes${report.goBuildInfo.goVersion ? ` (${report.goBuildInfo.goVersion})` : ''}` : 'no'}`);
  console.log('needed');
  for (const n of needed) console.log(`  ${n.name.padEnd(28)} ${n.path ?? 'NOT FOUND'}`);
  console.log(`exports (${report.definedExports.length})`);
  for (const symbol of report.definedExports) console.log(`  ${symbol.name}${symbol.version ? `@${symbol.version}` : ''}`);
  return 0;
}
