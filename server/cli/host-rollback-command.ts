import { readTokenFile } from '../host/host-token';
import { CliUsageError, parseCommandArgs, requireOption } from './args';
import { EXIT, fetchWithDeadline, output, refuseTokenInArgv, unansweredReason } from './console-client';

// `hotplane host rollback`: the break-glass for when the console is down. It asks one host's local admin API to move
// a module back to the last stable the console had it run (the host picks the version, not the caller); the host
// tells the console when it answers again, and the console adopts it (docs/rollouts.md#break-glass).

export const HOST_ROLLBACK_HELP = `hotplane host rollback --module M --reason R [--host http://HOST:7400] [--admin-token-file F] [--json]
  Break-glass on one host while the console is down: M back to the last stable the console had this host run.
  The host admin token (the host's DATA/admin-token) from --admin-token-file or HOTPLANE_HOST_ADMIN_TOKEN, never
  argv; --host or HOTPLANE_HOST_URL (default http://127.0.0.1:7400). Exit 0 rolled back, 1 refused (the host's
  reason), 2 usage. The console, when back, records it (trigger host-break-glass), opens a review and keeps it.`;

async function hostAdminToken(file: string | undefined): Promise<string> {
  if (file) {
    return readTokenFile(file, '--admin-token-file', 'the host admin token (DATA/admin-token)').catch((error: Error) => {
      throw new CliUsageError(error.message);
    });
  }
  const token = process.env.HOTPLANE_HOST_ADMIN_TOKEN;
  if (!token) throw new CliUsageError('no host admin token: give --admin-token-file FILE (the host keeps it in DATA/admin-token) or set HOTPLANE_HOST_ADMIN_TOKEN');
  return token;
}

export async function hostRollbackCommand(args: string[]) {
  refuseTokenInArgv(args);
  if (args.some((a) => a === '--admin-token' || a.startsWith('--admin-token='))) {
    throw new CliUsageError('--admin-token is not taken on the command line (other users can read argv): give --admin-token-file FILE or set HOTPLANE_HOST_ADMIN_TOKEN');
  }
  const { values } = parseCommandArgs(
    args,
    { module: { type: 'string' }, reason: { type: 'string' }, host: { type: 'string' }, 'admin-token-file': { type: 'string' }, json: { type: 'boolean', default: false } },
    0,
  );
  const moduleName = requireOption(values, 'module');
  const reason = requireOption(values, 'reason');
  const base = values.host ?? process.env.HOTPLANE_HOST_URL ?? 'http://127.0.0.1:7400';
  let url: URL;
  try {
    url = new URL('/v1/break-glass', base);
  } catch {
    throw new CliUsageError(`--host ${base} is not a URL (e.g. http://10.0.0.5:7400)`);
  }
  const token = await hostAdminToken(values['admin-token-file']);
  let response: Response;
  try {
    response = await fetchWithDeadline(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ module: moduleName, reason }) });
  } catch (error) {
    const message = `the host at ${base} could not be reached: ${unansweredReason(error)}`;
    output(values.json, { ok: false, error: { code: 'UNREACHABLE', message } }, () => []);
    if (!values.json) console.error(message);
    return EXIT.refused;
  }
  const body = (await response.json().catch(() => null)) as { error?: string; module?: string; from?: { version: string } | null; to?: { version: string }; id?: string } | null;
  if (!response.ok || !body?.to) {
    const message = `${response.status === 401 ? 'the host refused the admin token' : 'refused by the host'}: ${body?.error ?? `HTTP ${response.status}`}`;
    output(values.json, { ok: false, status: response.status, error: { code: response.status === 409 ? 'CONFLICT' : `HTTP_${response.status}`, message } }, () => []);
    if (!values.json) console.error(message);
    return EXIT.refused;
  }
  output(values.json, { ok: true, ...body }, () => [
    `${moduleName}: ${body.from?.version ?? 'nothing'} → ${body.to!.version} on ${base} (break-glass ${body.id})`,
    'the console is told when it answers again; until then this host keeps serving it',
  ]);
  return EXIT.done;
}
