import { verifyConsoleTrail } from '../audit/console-trail';
import type { AuditVerification } from '../audit/verify';
import { createDb, type Db } from '../db/client';
import { copySqliteToPostgres, MigrationTargetError } from '../db/copy-to-postgres';
import { redactedUrl } from '../db/dialect';
import { CliUsageError, parseCommandArgs, requireOption } from './args';

// `hotplane db migrate-to-postgres`: moves a console's SQLite database into an empty PostgreSQL one, with the audit
// trail and its checkpoints verified on both sides (the checkpoints file and the console key stay in the data folder).

type Verdict = AuditVerification & { anchor: unknown };

async function verifiedTrail(db: Db, where: string): Promise<Verdict> {
  try {
    const verdict = await verifyConsoleTrail(db);
    if (!verdict.ok) {
      throw new MigrationTargetError(
        `the audit trail on ${where} does not verify (first bad seq ${verdict.firstBadSeq ?? 'none'}: ${verdict.problems.map((p) => p.message).join('; ')}); run hotplane audit verify`,
      );
    }
    return verdict;
  } finally {
    await db.$disconnect();
  }
}

function refusePassword(flag: string, url: string): void {
  if (/^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(url)) {
    throw new CliUsageError(`${flag} carries a password, which every user of this machine can read in the process list: put it in PGPASSWORD or ~/.pgpass and leave it out of the URL`);
  }
}

export async function migrateToPostgres(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { from: { type: 'string' }, to: { type: 'string' } }, 0);
  const from = requireOption(values, 'from');
  const to = requireOption(values, 'to');
  refusePassword('--to', to);
  const before = await verifiedTrail(createDb(from), 'SQLite');
  try {
    const copied = await copySqliteToPostgres(from, to);
    const after = await verifiedTrail(createDb(to), 'PostgreSQL after the copy');
    if (after.headSeq !== before.headSeq || after.headHash !== before.headHash || after.checkpointsTrusted !== before.checkpointsTrusted) {
      throw new MigrationTargetError(
        `the copy's audit trail differs from the original (head ${after.headSeq}/${after.headHash} vs ${before.headSeq}/${before.headHash}): do not use ${redactedUrl(to)}`,
      );
    }
    for (const { table, rows } of copied) console.log(`${table.padEnd(24)} ${rows}`);
    console.log(
      `\ncopied ${copied.reduce((sum, t) => sum + t.rows, 0)} rows into ${redactedUrl(to)}; audit trail verified on both sides: events 1..${after.headSeq}, ${after.checkpointsTrusted} trusted checkpoint(s)`,
    );
    console.log(`Start the console with DATABASE_URL=${redactedUrl(to)} (password in PGPASSWORD or ~/.pgpass).`);
    return 0;
  } catch (error) {
    if (error instanceof MigrationTargetError) {
      console.error(`hotplane db migrate-to-postgres: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export async function dbCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'migrate-to-postgres') return migrateToPostgres(rest);
  throw new CliUsageError(`unknown db command "${sub ?? ''}": use hotplane db migrate-to-postgres --from file:… --to postgresql://…`);
}
