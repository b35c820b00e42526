import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import { ROLES, type Role } from '../auth/permissions';
import type { SessionUser } from '../auth/session';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { PROBE_INPUT, roleMatrix, type ProcedureRule } from './role-matrix';
import { appRouter } from './root';
import { authedProcedure, createCallerFactory, createRouter, publicProcedure, type Context } from './trpc';

// Every procedure × every role, generated from the router: a procedure added without a declared rule, or one
// whose enforcement drifts from what it declares, fails here without anyone having to remember to list it.

type Outcome = TRPCError['code'] | 'passed';
type CallerFor = (user: SessionUser | null) => object;

const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });

function userWith(role: Role): SessionUser {
  return { id: `matrix-${role}`, name: `matrix ${role}`, email: `matrix-${role}@test`, roles: [role], via: 'cookie' };
}

async function callOutcome(caller: object, path: string): Promise<Outcome> {
  const procedure = path.split('.').reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, caller as Record<string, unknown>);
  try {
    const result = await (procedure as unknown as (input: unknown) => Promise<unknown>)(PROBE_INPUT);
    // A subscription that got through hands back a live stream; close it so nothing keeps polling.
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) await (result as AsyncGenerator).return(undefined);
    return 'passed';
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

// The router's nested records walked down to their procedures: not the flat map roleMatrix reads, so a procedure
// missing from that map (or a path roleMatrix mangles) shows.
function procedurePaths(record: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(record).flatMap(([key, value]) =>
    typeof value === 'function' ? [`${prefix}${key}`] : procedurePaths(value as Record<string, unknown>, `${prefix}${key}.`),
  );
}

/** Where the server disagrees with the matrix, one readable line each. */
async function mismatches(rows: readonly ProcedureRule[], callerFor: CallerFor): Promise<string[]> {
  const found: string[] = [];
  for (const row of rows) {
    const anonymous = await callOutcome(callerFor(null), row.path);
    if (anonymous !== 'UNAUTHORIZED') found.push(`${row.path} without a session: ${anonymous}, expected UNAUTHORIZED`);
    for (const role of ROLES) {
      const outcome = await callOutcome(callerFor(userWith(role)), row.path);
      const expected = row.allowed[role] ? outcome !== 'FORBIDDEN' && outcome !== 'UNAUTHORIZED' : outcome === 'FORBIDDEN';
      if (!expected) found.push(`${row.path} as ${role}: ${outcome}, expected ${row.allowed[role] ? `to pass the "${row.rule}" gate` : 'FORBIDDEN'}`);
    }
  }
  return found;
}

describe('role × procedure matrix, generated from the router', () => {
  let f: ConsoleFixture;
  const matrix = roleMatrix();
  const createCaller = createCallerFactory(appRouter);
  const callerFor: CallerFor = (user) => createCaller({ db: f.db, headers: sameOrigin, user } as Context);

  before(async () => {
    f = await createConsoleFixture();
  });

  it('covers every procedure of the router, and each declares a permission or signed-in access', () => {
    assert.deepEqual(matrix.map((row) => row.path), procedurePaths(appRouter._def.record as Record<string, unknown>).sort((a, b) => a.localeCompare(b)));
    assert.ok(matrix.filter((row) => row.type === 'mutation').length > 30, 'the router walk found the mutations');
    assert.deepEqual(matrix.filter((row) => row.rule === null).map((row) => row.path), []);
  });

  it('matches the documented examples: only operators propose, only auditors export, everyone reads modules', () => {
    const row = (path: string) => matrix.find((r) => r.path === path)!;
    assert.deepEqual(row('rollouts.changes.propose').allowed, { admin: false, operator: true, approver: false, oncall: false, auditor: false });
    assert.deepEqual(row('rollouts.operate.rollback').allowed, { admin: false, operator: true, approver: false, oncall: true, auditor: false });
    assert.ok(Object.values(row('modules.list').allowed).every(Boolean));
    assert.equal(row('me.whoami').rule, 'signed-in');
  });

  for (const row of matrix) {
    it(`${row.path} (${row.type}, ${row.rule}): UNAUTHORIZED without a session, FORBIDDEN exactly for roles without the right`, async () => {
      assert.deepEqual(await mismatches([row], callerFor), []);
    });
  }

  it('catches a procedure that enforces more than it declares, and one open to anyone', async () => {
    const sloppy = createRouter({
      open: publicProcedure.query(() => 'anyone'),
      adminsOnly: authedProcedure
        .use(({ ctx, next }) => {
          if (!ctx.user.roles.includes('admin')) throw new TRPCError({ code: 'FORBIDDEN' });
          return next();
        })
        .mutation(() => 'admins'),
    });
    const rows = roleMatrix(sloppy);
    assert.deepEqual(rows.filter((row) => row.rule === null).map((row) => row.path), ['open']);
    const sloppyCaller = createCallerFactory(sloppy);
    const found = await mismatches(rows, (user) => sloppyCaller({ db: f.db, headers: sameOrigin, user } as Context));
    assert.ok(found.includes('open without a session: passed, expected UNAUTHORIZED'), found.join('\n'));
    for (const role of ['operator', 'approver', 'oncall', 'auditor']) {
      assert.ok(found.includes(`adminsOnly as ${role}: FORBIDDEN, expected to pass the "signed-in" gate`), found.join('\n'));
    }
  });
});
