import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import { exportConsoleTrail, verifyConsoleTrail } from '../audit/console-trail';
import { verifyExportedTrail } from '../audit/export';
import type { AuditVerification } from '../audit/verify';
import { db } from '../db/client';
import { CliUsageError, parseCommandArgs, requireOption } from './args';

const CLI_ACTOR: AuditActor = { ...SYSTEM_ACTOR, id: 'cli', name: `hotplane CLI (${os.userInfo().username})` };

function printVerification(result: AuditVerification) {
  console.log(`events checked        ${result.eventsChecked} (head seq ${result.headSeq})`);
  console.log(`checkpoints trusted   ${result.checkpointsTrusted} of ${result.checkpointsChecked}; covered through seq ${result.checkpointedThroughSeq}`);
  console.log(`console key           ${result.publicKeyFingerprint}`);
  console.log(`duration              ${result.durationMs.toFixed(0)} ms`);
  for (const p of result.problems) {
    const where = p.seq === null ? '' : ` seq ${p.seq}${p.throughSeq ? `–${p.throughSeq}` : ''}`;
    console.log(`PROBLEM ${p.kind}${where}${p.checkpointLine ? ` (checkpoint line ${p.checkpointLine})` : ''}: ${p.message}`);
  }
  if (result.problemsOmitted) console.log(`… and ${result.problemsOmitted} more problem(s)`);
  console.log(result.ok ? '\naudit trail intact' : `\naudit trail TAMPERED: first bad seq ${result.firstBadSeq ?? '(checkpoints only)'}`);
  return result.ok ? 0 : 1;
}

// A console download (one JSON bundle) is unpacked to a folder so both forms verify the same way.
async function exportFolder(target: string): Promise<string> {
  if ((await stat(target)).isDirectory()) return target;
  const bundle = JSON.parse(await readFile(target, 'utf8')) as { files?: Record<string, string> };
  if (!bundle.files) throw new CliUsageError(`${target} is neither an export folder nor a console audit download`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hotplane-audit-bundle-'));
  for (const [name, text] of Object.entries(bundle.files)) {
    if (name.includes('/') || name.includes('..')) throw new CliUsageError(`bundle names a file outside its folder: ${name}`);
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

export async function auditCommand(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === 'verify') {
    const { values } = parseCommandArgs(rest, { 'public-key': { type: 'string' }, checkpoints: { type: 'string' } }, 0);
    const key = values['public-key'] ? await readFile(values['public-key'], 'utf8') : undefined;
    return printVerification(await verifyConsoleTrail(db(), { publicKeyText: key, checkpointFile: values.checkpoints }));
  }
  if (sub === 'export') {
    const { values } = parseCommandArgs(rest, { out: { type: 'string' } }, 0);
    const { dir, manifest } = await exportConsoleTrail(db(), CLI_ACTOR, path.resolve(requireOption(values, 'out')));
    console.log(`exported ${manifest.eventCount} events (head seq ${manifest.headSeq}) and ${manifest.checkpointLines ?? 0} checkpoints to ${dir}`);
    return 0;
  }
  if (sub === 'verify-export') {
    const { values, positionals } = parseCommandArgs(rest, { 'public-key': { type: 'string' } }, 1);
    const key = values['public-key'] ? await readFile(values['public-key'], 'utf8') : undefined;
    return printVerification(await verifyExportedTrail(await exportFolder(positionals[0]), { publicKey: key }));
  }
  throw new CliUsageError('use "audit verify", "audit export --out DIR" or "audit verify-export <dir|bundle.json>"');
}
