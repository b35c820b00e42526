import { approveCommand } from './approve-command';
import { auditCommand } from './audit-commands';
import { dbCommand } from './db-commands';
import { HOST_ROLLBACK_HELP, hostRollbackCommand } from './host-rollback-command';
import { inspectCommand } from './inspect-command';
import { keygenCommand, manifestCommand, signCommand } from './signing-commands';
import { pushCommand } from './push-command';
import { verifyCommand } from './verify-command';
import { CliUsageError } from './args';
import { CONSOLE_HELP } from './console-client';
import { REVIEWS_HELP, ROLLBACK_HELP, reviewsCommand, rollbackCommand } from './oncall-commands';
import {
  ABORT_HELP,
  abortCommand,
  PROMOTE_HELP,
  promoteCommand,
  PROPOSE_HELP,
  proposeCommand,
  START_HELP,
  startCommand,
  STATUS_HELP,
  statusCommand,
  WATCH_HELP,
  watchCommand,
} from './rollout-commands';

const USAGE = `hotplane — signed hot upgrades of native modules

  hotplane keygen [--out DIR]                          SM2 key pair: key.pem (0600), pub.pem, pub.hex
  hotplane manifest <so> --module M --version V --class C [--valid-days 365]
                                                       write <so>.manifest.json (size, SM3, SHA-256, arch from the ELF)
  hotplane sign <manifest> --key KEY [--hex]           write the SM2 signature over the manifest bytes (.sig)
  hotplane verify <so> --manifest M --sig S --pubkey P [--probe]
                                                       offline verification; exit 0, or 1 listing every failed check
                                                       (--probe: load it in a throwaway child, compare its identity)
  hotplane inspect <so> [--json]                       ELF report: exports, needed libraries, TLS, Go runtime
  hotplane push <so> [--manifest M] [--sig S] [--console URL] [--token-file F]
                                                       upload to a running console (HOTPLANE_URL, HOTPLANE_TOKEN)
  hotplane approve <change-request> --key KEY [--console URL] [--token-file F]
                                                       check a change request's digest, sign it with your SM2 key, approve
  hotplane propose --module M --version V --reason R   propose a rollout; status <id> [--wait-approved]; start <id>;
  hotplane watch <id> [--timeout 1h]                   follow it to promoted (0) or rolled back (1); promote <id>;
  hotplane abort <id> --reason R                       abort a canary; rollback --module M --reason R (break-glass);
  hotplane reviews [ack <id> --note N]                 post-incident reviews. Token: HOTPLANE_TOKEN or --token-file
  hotplane host rollback --module M --reason R [--host URL] [--admin-token-file F]
                                                       break-glass on one host while the console is down
  hotplane audit verify [--checkpoints F] [--public-key P | --fingerprint HEX]
                                                       check the chain, checkpoints and their coverage; exit 0 intact and
                                                       anchored, 1 naming the first bad seq, 3 unanchored or tail uncovered
  hotplane host --console https://CONSOLE:7443[,…] --console-ca FILE --join-token-file FILE [--data DIR] [--port 7400]
                                                       run a runtime host that pulls its desired state from the console
                                                       (the join token enrols it once; then its certificate, renewed)
  hotplane fleet-ca                                    print the console's fleet CA certificate (for --console-ca)
  hotplane audit export --out DIR                      JSONL events + checkpoints for auditors
  hotplane db migrate-to-postgres --from file:DB --to postgresql://USER@HOST:PORT/NAME
                                                       copy a SQLite console database into an empty PostgreSQL one,
                                                       audit trail verified before and after (password: PGPASSWORD)
  hotplane audit verify-export <dir|bundle.json> [--public-key P | --fingerprint HEX]
                                                       verify a signed export (or a console download) offline

Environment: DATABASE_URL, HOTPLANE_DATA_DIR select the console's database for the audit commands.
\`hotplane <command> --help\` for one command.`;

// Each pipeline command's own help; the others' is their line of USAGE.
const HELP: Record<string, string> = {
  propose: PROPOSE_HELP,
  status: STATUS_HELP,
  start: START_HELP,
  watch: WATCH_HELP,
  promote: PROMOTE_HELP,
  abort: ABORT_HELP,
  rollback: ROLLBACK_HELP,
  reviews: REVIEWS_HELP,
};

function helpOf(name: string, rest: string[] = []): string {
  if (name === 'host' && rest[0] === 'rollback') return HOST_ROLLBACK_HELP;
  const own = HELP[name];
  if (own) return `${own}\n\n${CONSOLE_HELP}`;
  const lines = USAGE.split('\n');
  const blocks: string[] = [];
  lines.forEach((line, start) => {
    if (!line.trimStart().startsWith(`hotplane ${name} `) && line.trim() !== `hotplane ${name}`) return;
    let end = start + 1;
    while (end < lines.length && /^ {20,}/.test(lines[end])) end++;
    blocks.push(lines.slice(start, end).join('\n'));
  });
  return blocks.length > 0 ? blocks.join('\n') : USAGE;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  keygen: keygenCommand,
  manifest: manifestCommand,
  sign: signCommand,
  verify: verifyCommand,
  inspect: inspectCommand,
  push: pushCommand,
  approve: approveCommand,
  audit: auditCommand,
  db: dbCommand,
  propose: proposeCommand,
  status: statusCommand,
  start: startCommand,
  watch: watchCommand,
  promote: promoteCommand,
  abort: abortCommand,
  rollback: rollbackCommand,
  reviews: reviewsCommand,
  'fleet-ca': async () => {
    const { config } = await import('../config');
    const { loadOrCreateFleetCa } = await import('../fleet/identity/ca');
    const settings = config().fleet;
    process.stdout.write((await loadOrCreateFleetCa(settings.caFile, settings.trustDomain)).certificatePem);
    return 0;
  },
  host: async (args) => {
    if (args[0] === 'rollback') return hostRollbackCommand(args.slice(1));
    const { runHost } = await import('../host/main');
    await runHost(args);
    return new Promise<number>(() => undefined);
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`hotplane: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpOf(name, rest));
    return 0;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof CliUsageError) {
      const which = name === 'host' && rest[0] === 'rollback' ? 'host rollback' : name;
      console.error(`hotplane ${which}: ${error.message}\n\n${helpOf(name, rest)}`);
      return 2;
    }
    console.error(`hotplane ${name}: ${(error as Error).message}`);
    return 1;
  }
}

// A reader that stops early (`hotplane inspect x.so | head -1`) closes the pipe: that ends the output, quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
