import path from 'node:path';
import { inspectElf, resolveNeeded, type ElfReport } from '../artifacts/elf';
import { parseCommandArgs } from './args';

// What the upload pipeline decides about static TLS (verify-artifact.ts's static-tls check), in a line.
function staticTlsVerdict(report: ElfReport): string {
  if (!report.staticTls) return 'no';
  if (report.goBuildInfo) return 'yes, from the Go runtime: accepted (a Go module always loads alone into a fresh cell process)';
  return 'YES: refused by the upload pipeline (dlopen into a running process can fail); rebuild with -ftls-model=global-dynamic';
}

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
  console.log(`static TLS   ${staticTlsVerdict(report)}`);
  console.log(`Go runtime   ${report.goBuildInfo ? `yes${report.goBuildInfo.goVersion ? ` (${report.goBuildInfo.goVersion})` : ''}: accepted; runs alone in its own process cell, never unloaded in place` : 'no'}`);
  console.log('needed');
  for (const n of needed) console.log(`  ${n.name.padEnd(28)} ${n.path ?? 'NOT FOUND'}`);
  console.log(`exports (${report.definedExports.length})`);
  for (const symbol of report.definedExports) console.log(`  ${symbol.name}${symbol.version ? `@${symbol.version}` : ''}`);
  return 0;
}
