import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import { exportConsoleTrail, verifyConsoleTrail } from '../audit/console-trail';
import { AUDIT_EXPORT_FILES, verifyExportedTrail } from '../audit/export';
import type { AuditVerification } from '../audit/verify';
import { prepareDb } from '../db/client';
import { CliUsageError, parseCommandArgs, requireOption } from './args';

const CLI_ACTOR: AuditActor = { ...SYSTEM_ACTOR, id: 'cli', name: `hotplane CLI (${os.userInfo().username})` };

/** Exit codes: 0 intact, every event covered and the key anchored; 1 tampered or coverage below the record; 3 intact but not fully vouched for. */
export const AUDIT_EXIT = { intact: 0, failed: 1, notVouched: 3 } as const;

interface Anchored {
  kind: string;
  source: string;
}

const ANCHOR_TEXT: Record<string, string> = {
  'public-key': 'anchored by the key given with --public-key',
  fingerprint: 'anchored by the pinned --fingerprint',
  'pkcs11-token': 'anchored by the PKCS#11 token that holds the key',
};

/** The report `audit verify` and `audit verify-export` print, and their exit code. */
export function verificationReport(result: AuditVerification, anchor: Anchored): { lines: string[]; exitCode: number } {
  const lines: string[] = [];
  const covered = result.checkpointedThroughSeq;
  lines.push(`events                ${result.headSeq === 0 ? 'none' : `1..${result.headSeq}`} (${result.eventsChecked} checked)`);
  lines.push(`checkpoints           ${result.checkpointsTrusted} trusted of ${result.checkpointsChecked} line(s); covered up to seq ${covered}`);
  lines.push(`uncovered tail        ${result.uncoveredFromSeq === null ? 'none' : `${result.uncoveredFromSeq}..${result.headSeq} (rests on the hash chain alone until the next checkpoint)`}`);
  lines.push(`record                ${result.recorded ? `${result.recorded.count} checkpoint(s) written through seq ${result.recorded.throughSeq}` : 'none to compare with'}`);
  lines.push(`console key           ${result.publicKeyFingerprint}`);
  const anchored = anchor.kind !== 'unanchored';
  lines.push(
    `trust anchor          ${anchored ? `${ANCHOR_TEXT[anchor.kind]} (${anchor.source})` : `UNANCHORED: the key came from ${anchor.source}; whoever can write there can re-sign everything. Pass --public-key FILE or --fingerprint HEX recorded elsewhere`}`,
  );
  lines.push(`duration              ${result.durationMs.toFixed(0)} ms`);
  for (const p of result.problems) {
    const where = p.seq === null ? '' : ` seq ${p.seq}${p.throughSeq ? `–${p.throughSeq}` : ''}`;
    lines.push(`PROBLEM ${p.kind}${where}${p.checkpointLine ? ` (checkpoint line ${p.checkpointLine})` : ''}: ${p.message}`);
  }
  if (result.problemsOmitted) lines.push(`… and ${result.problemsOmitted} more problem(s)`);
  if (!result.ok) {
    lines.push('', `audit trail NOT INTACT: first bad seq ${result.firstBadSeq ?? '(checkpoints or coverage)'}`);
    return { lines, exitCode: AUDIT_EXIT.failed };
  }
  const gaps = [
    ...(anchored ? [] : ['the key is not anchored']),
    ...(result.uncoveredFromSeq === null ? [] : [`events ${result.uncoveredFromSeq}..${result.headSeq} are not yet covered by a checkpoint`]),
  ];
  if (gaps.length > 0) {
    lines.push('', `audit trail intact as far as checked, NOT fully vouched for: ${gaps.join('; ')}`);
    return { lines, exitCode: AUDIT_EXIT.notVouched };
  }
  lines.push('', `audit trail intact: events 1..${result.headSeq} covered by ${result.checkpointsTrusted} signed checkpoint(s)`);
  return { lines, exitCode: AUDIT_EXIT.intact };
}

function printVerification(result: AuditVerification, anchor: Anchored): number {
  const { lines, exitCode } = verificationReport(result, anchor);
  for (const line of lines) console.log(line);
  return exitCode;
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

const ANCHOR_OPTIONS = { 'public-key': { type: 'string' }, fingerprint: { type: 'string' }, checkpoints: { type: 'string' } } as const;

export async function auditCommand(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === 'verify') {
    const { values } = parseCommandArgs(rest, ANCHOR_OPTIONS, 0);
    const result = await verifyConsoleTrail(await prepareDb(), { publicKeyFile: values['public-key'], fingerprint: values.fingerprint, checkpointFile: values.checkpoints });
    return printVerification(result, result.anchor);
  }
  if (sub === 'export') {
    const { values } = parseCommandArgs(rest, { out: { type: 'string' } }, 0);
    const { dir, manifest } = await exportConsoleTrail(await prepareDb(), CLI_ACTOR, path.resolve(requireOption(values, 'out')));
    console.log(`exported ${manifest.eventCount} events (head seq ${manifest.headSeq}) and ${manifest.checkpointLines ?? 0} checkpoints to ${dir}`);
    return 0;
  }
  if (sub === 'verify-export') {
    const { values, positionals } = parseCommandArgs(rest, { 'public-key': { type: 'string' }, fingerprint: { type: 'string' } }, 1);
    const key = values['public-key'] ? await readFile(values['public-key'], 'utf8') : undefined;
    const result = await verifyExportedTrail(await exportFolder(positionals[0]), { publicKey: key, fingerprint: values.fingerprint });
    const source = result.anchor === 'public-key' ? values['public-key']! : `the export's ${AUDIT_EXPORT_FILES.publicKey}`;
    return printVerification(result, { kind: result.anchor, source });
  }
  throw new CliUsageError('use "audit verify [--public-key F | --fingerprint HEX]", "audit export --out DIR" or "audit verify-export <dir|bundle.json> [--public-key F | --fingerprint HEX]"');
}
