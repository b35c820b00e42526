import { approveCommand } from './approve-command';
import { auditCommand } from './audit-commands';
import { dbCommand } from './db-commands';
import { inspectCommand } from './inspect-command';
import { keygenCommand, manifestCommand, signCommand } from './signing-commands';
import { pushCommand } from './push-command';
import { verifyCommand } from './verify-command';
import { CliUsageError } from './args';

const USAGE = `hotplane — signed hot upgrades of native modules

  hotplane keygen [--out DIR]                          SM2 key pair: key.pem (0600), pub.pem, pub.hex
  hotplane manifest <so> --module M --version V --class C [--valid-days 365]
                                                       write <so>.manifest.json (size, SM3, SHA-256, arch from the ELF)
  hotplane sign <manifest> --key KEY [--hex]           write the SM2 signature over the manifest bytes (.sig)
  hotplane verify <so> --manifest M --sig S --pubkey P [--probe]
                                                       offline verification; exit 0, or 1 listing every failed check
                                                       (--probe: load it in a throwaway child, compare its identity)
  hotplane inspect <so> [--json]                       ELF report: exports, needed libraries, TLS, Go runtime
  hotplane push <so> [--manifest M] [--sig S] [--console URL] [--token T]
                                                       upload to a running console (HOTPLANE_URL, HOTPLANE_TOKEN)
  hotplane approve <change-request> --key KEY [--console URL] [--token T]
                                                       check a change request's digest, sign it with your SM2 key, approve
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

Environment: DATABASE_URL, HOTPLANE_DATA_DIR select the console's database for the audit commands.`;

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
  'fleet-ca': async () => {
    const { config } = await import('../config');
    const { loadOrCreateFleetCa } = await import('../fleet/identity/ca');
    const settings = config().fleet;
    process.stdout.write((await loadOrCreateFleetCa(settings.caFile, settings.trustDomain)).certificatePem);
    return 0;
  },
  host: async (args) => {
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
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof CliUsageError) {
      console.error(`hotplane ${name}: ${error.message}`);
      return 2;
    }
    console.error(`hotplane ${name}: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
