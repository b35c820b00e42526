import { readFile } from 'node:fs/promises';
import { parseCommandArgs, requireOption, CliUsageError } from './args';
import { CONSOLE_OPTIONS, consoleClient, consoleCommand, EXIT, output, parseTimeout, pollWithBackoff, refuseTokenInArgv, type ConsoleClient } from './console-client';

// The pipeline's road through a change request: propose, wait for the approvers (status --wait-approved), start,
// watch the canary to its end, or promote / abort it by hand. Every command prints one JSON document with --json and
// exits 0 done, 1 refused / rejected / rolled back, 2 usage, 3 timed out.

type Detail = Awaited<ReturnType<ConsoleClient['rollouts']['changes']['get']['query']>>;

/** The fields a pipeline reads: stable names, whatever else the request page shows. */
export function statusDocument(d: Detail) {
  return {
    id: d.id,
    module: d.module,
    kind: d.kind,
    state: d.state,
    from: d.from,
    to: d.to,
    revision: d.revision,
    approvals: { valid: d.validApprovals, required: d.requiredApprovals },
    step: d.step ? { index: d.step.index + 1, of: d.step.of, weight: d.step.weight, phase: d.step.phase } : null,
    approvalHold: d.approvalHold,
    outcome: d.outcome ? { trigger: d.outcome.trigger, message: d.outcome.message } : null,
    updatedAt: d.updatedAt,
  };
}
type Status = ReturnType<typeof statusDocument>;

/** One line per state or step change, as `watch` and `status --wait-approved` print them. */
export function statusLine(s: Status): string {
  const step = s.step ? ` step ${s.step.index}/${s.step.of} ${s.step.weight}%${s.step.phase ? ` ${s.step.phase}` : ''}` : '';
  const approvals = s.state === 'PendingApproval' ? ` ${s.approvals.valid}/${s.approvals.required} approval(s)` : '';
  const outcome = s.outcome ? `: ${s.outcome.message}` : '';
  return `${new Date().toISOString()} ${s.id} ${s.module} ${s.from} → ${s.to} ${s.state}${step}${approvals}${outcome}`;
}

const REFUSED_STATES = new Set(['Rejected', 'Cancelled', 'RolledBack', 'Aborted', 'Failed']);
/** Approved, or past it: a pipeline waiting for approval may go on. */
const APPROVED_OR_LATER = new Set(['Approved', 'Preflight', 'Canary', 'Paused', 'Promoted']);

async function readStatus(client: ConsoleClient, id: string) {
  return statusDocument(await client.rollouts.changes.get.query({ id }));
}

export const PROPOSE_HELP = `hotplane propose --module M --version V --reason R [--ticket T] [--plan FILE] [--draft] [--json]
  Propose moving module M to version V (an accepted upload). --plan: a JSON rollout plan (steps, analysis, waves;
  docs/rollouts.md); default the console's. --draft keeps it from the approvers. Prints the request id and digest.`;

export async function proposeCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values } = parseCommandArgs(
    args,
    { ...CONSOLE_OPTIONS, module: { type: 'string' }, version: { type: 'string' }, reason: { type: 'string' }, ticket: { type: 'string' }, plan: { type: 'string' }, draft: { type: 'boolean', default: false } },
    0,
  );
  const moduleName = requireOption(values, 'module');
  const toVersion = requireOption(values, 'version');
  const reason = requireOption(values, 'reason');
  let plan: unknown;
  if (values.plan) {
    try {
      plan = JSON.parse(await readFile(values.plan, 'utf8'));
    } catch (error) {
      throw new CliUsageError(`--plan ${values.plan}: ${(error as Error).message}`);
    }
  }
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const proposed = await client.rollouts.changes.propose.mutate({ module: moduleName, toVersion, reason, ticket: values.ticket ?? '', submit: !values.draft, ...(plan ? { plan: plan as never } : {}) });
    output(values.json, { ok: true, ...proposed }, () => [
      `${proposed.id} (revision ${proposed.revision}) ${proposed.state}: needs ${proposed.requiredApprovals} approval(s)`,
      `digest ${proposed.digest}`,
    ]);
    return EXIT.done;
  });
}

export const STATUS_HELP = `hotplane status <change-request> [--wait-approved [--timeout 30m]] [--json]
  The request's state, step and outcome. --wait-approved: wait until it is approved (exit 0), rejected or cancelled
  (exit 1), or --timeout passes (exit 3; default 30m), printing each change.`;

export async function statusCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, 'wait-approved': { type: 'boolean', default: false }, timeout: { type: 'string' } }, 1);
  if (values.timeout !== undefined && !values['wait-approved']) throw new CliUsageError('--timeout goes with --wait-approved');
  const deadline = Date.now() + parseTimeout(values.timeout, 1800);
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    if (!values['wait-approved']) {
      const status = await readStatus(client, positionals[0]);
      output(values.json, { ok: true, ...status }, () => [statusLine(status)]);
      return EXIT.done;
    }
    const { value, timedOut } = await pollWithBackoff({
      read: () => readStatus(client, positionals[0]),
      key: (s) => `${s.state} ${s.approvals.valid}`,
      onChange: (s) => !values.json && console.log(statusLine(s)),
      done: (s) => APPROVED_OR_LATER.has(s.state) || REFUSED_STATES.has(s.state),
      deadline,
    });
    const result = timedOut ? 'timed-out' : APPROVED_OR_LATER.has(value.state) ? 'approved' : 'refused';
    if (values.json) output(true, { ok: result === 'approved', result, ...value }, () => []);
    else if (timedOut) console.error(`timed out waiting for approval: ${value.id} is ${value.state}`);
    return result === 'approved' ? EXIT.done : timedOut ? EXIT.timedOut : EXIT.refused;
  });
}

export const START_HELP = `hotplane start <change-request> [--json]
  Start an approved request: preflight, then the canary steps. Exit 1 with the console's reason when it will not start.`;

export async function startCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, CONSOLE_OPTIONS, 1);
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const result = await client.rollouts.operate.start.mutate({ id: positionals[0] });
    if (!result.started) {
      output(values.json, { ok: false, started: false, reason: result.reason }, () => [`not started: ${result.reason}`]);
      return EXIT.refused;
    }
    output(values.json, { ok: true, started: true, id: result.id, state: result.state }, () => [`${result.id} started: ${result.state}`]);
    return EXIT.done;
  });
}

export const WATCH_HELP = `hotplane watch <change-request> [--timeout 1h] [--json]
  Follow the request until it ends: exit 0 promoted, 1 rolled back / aborted / failed, 3 when --timeout passes
  (default 1h). Prints one line per state or step change; --json prints the changes and the end as one document.`;

export async function watchCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, timeout: { type: 'string' } }, 1);
  const deadline = Date.now() + parseTimeout(values.timeout, 3600);
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const changes: Status[] = [];
    const { value, timedOut } = await pollWithBackoff({
      read: () => readStatus(client, positionals[0]),
      key: (s) => JSON.stringify([s.state, s.step, s.approvalHold]),
      onChange: (s) => {
        changes.push(s);
        if (!values.json) console.log(statusLine(s));
      },
      done: (s) => s.state === 'Promoted' || REFUSED_STATES.has(s.state),
      deadline,
    });
    const result = timedOut ? 'timed-out' : value.state === 'Promoted' ? 'promoted' : 'rolled-back';
    if (values.json) output(true, { ok: result === 'promoted', result, ...value, changes: changes.map((c) => ({ at: c.updatedAt, state: c.state, step: c.step })) }, () => []);
    else if (timedOut) console.error(`timed out: ${value.id} is still ${value.state}`);
    return result === 'promoted' ? EXIT.done : timedOut ? EXIT.timedOut : EXIT.refused;
  });
}

export const PROMOTE_HELP = `hotplane promote <change-request> [--json]
  Promote a running canary now, skipping its remaining steps.`;

export async function promoteCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, CONSOLE_OPTIONS, 1);
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const row = await client.rollouts.operate.promote.mutate({ id: positionals[0] });
    output(values.json, { ok: true, ...row }, () => [`${row.id} ${row.state}`]);
    return EXIT.done;
  });
}

export const ABORT_HELP = `hotplane abort <change-request> --reason R [--json]
  Abort a running canary: all traffic back to the stable, the canary unloaded.`;

export async function abortCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, reason: { type: 'string' } }, 1);
  const reason = requireOption(values, 'reason');
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const row = await client.rollouts.operate.abort.mutate({ id: positionals[0], reason });
    output(values.json, { ok: true, ...row }, () => [`${row.id} ${row.state}`]);
    return EXIT.done;
  });
}
