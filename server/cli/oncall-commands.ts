import { parseCommandArgs, requireOption, CliUsageError } from './args';
import { CONSOLE_OPTIONS, consoleClient, consoleCommand, EXIT, output, refuseTokenInArgv } from './console-client';

// On-call from a terminal: the one-click rollback (break-glass) through the console, and the post-incident reviews
// every break-glass opens.

export const ROLLBACK_HELP = `hotplane rollback --module M --reason R [--json]
  Break-glass through the console: the running canary to 0 %, or the last promoted change undone. Opens a
  post-incident review. Exit 1 with the console's reason when there is nothing approved to go back to.
  Console down? \`hotplane host rollback\` (docs/rollouts.md#break-glass).`;

export async function rollbackCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, module: { type: 'string' }, reason: { type: 'string' } }, 0);
  const moduleName = requireOption(values, 'module');
  const reason = requireOption(values, 'reason');
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const result = await client.rollouts.operate.rollback.mutate({ module: moduleName, reason });
    output(values.json, { ok: true, ...result }, () => [
      `${moduleName}: ${result.from} → ${result.to}${result.warm ? ' (warm)' : ' (reloaded)'}${result.generation === null ? '' : `, generation ${result.generation}`}`,
      `post-incident review ${result.reviewId}, due ${new Date(result.reviewDueAt).toISOString()}`,
    ]);
    return EXIT.done;
  });
}

export const REVIEWS_HELP = `hotplane reviews [--all] [--module M] [--json]
  Open post-incident reviews (--all: acknowledged ones too), overdue ones marked.
hotplane reviews ack <review-id> --note N [--json]
  Acknowledge a review with what was learned or decided (someone other than who rolled back).`;

export async function reviewsCommand(args: string[]) {
  refuseTokenInArgv(args);
  if (args[0] === 'ack') return acknowledge(args.slice(1));
  const { values } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, all: { type: 'boolean', default: false }, module: { type: 'string' } }, 0);
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const reviews = await client.rollouts.operate.reviews.query({ open: !values.all, module: values.module });
    const rows = reviews.map((r) => ({
      id: r.id,
      module: r.module,
      from: r.rolledBackFrom,
      to: r.rolledBackTo,
      reason: r.reason,
      openedBy: r.openedByName,
      openedAt: r.openedAt,
      dueAt: r.dueAt,
      overdue: r.overdue,
      acknowledgedBy: r.acknowledgedByName,
      acknowledgedAt: r.acknowledgedAt,
      note: r.note,
      changeRequestId: r.changeRequestId,
    }));
    output(values.json, { ok: true, reviews: rows }, () =>
      rows.length === 0
        ? [values.all ? 'no post-incident reviews' : 'no open post-incident reviews']
        : rows.map(
            (r) =>
              `${r.id} ${r.module} ${r.from} → ${r.to} by ${r.openedBy} at ${new Date(r.openedAt).toISOString()}: ${r.reason}` +
              (r.acknowledgedAt ? ` — acknowledged by ${r.acknowledgedBy}` : r.overdue ? ' — OVERDUE' : ` — due ${r.dueAt ? new Date(r.dueAt).toISOString() : 'never'}`),
          ),
    );
    return EXIT.done;
  });
}

async function acknowledge(args: string[]) {
  const { values, positionals } = parseCommandArgs(args, { ...CONSOLE_OPTIONS, note: { type: 'string' } }, 1);
  const note = requireOption(values, 'note');
  if (note.trim().length < 3) throw new CliUsageError('--note: say what was learned or decided (3 characters at least)');
  const client = await consoleClient(values);
  return consoleCommand(values.json, async () => {
    const review = await client.rollouts.operate.acknowledgeReview.mutate({ id: positionals[0], note });
    output(values.json, { ok: true, id: review.id, acknowledgedBy: review.acknowledgedByName, acknowledgedAt: review.acknowledgedAt }, () => [
      `${review.id} acknowledged by ${review.acknowledgedByName}`,
    ]);
    return EXIT.done;
  });
}
