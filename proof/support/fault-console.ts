import type { AuditActor } from '../../server/audit/actor';
import { generateSm2KeyPair, signSm2 } from '../../server/crypto';
import { startFleetListener, type FleetListener } from '../../server/fleet/fleet-listener';
import { registerHost } from '../../server/fleet/hosts';
import { readDesiredModule } from '../../server/fleet/desired-state';
import { FleetMetrics } from '../../server/fleet/metrics-store';
import type { DesiredVersion } from '../../server/protocol';
import { approveChange } from '../../server/rollout/approvals';
import { applyThroughChangeRequest } from '../../server/rollout/approved-change';
import { proposeChange } from '../../server/rollout/change-request';
import type { RolloutOutcome } from '../../server/rollout/change-request.types';
import { DEFAULT_BREAKER } from '../../server/rollout/circuit-breaker';
import { approvalMessage } from '../../server/rollout/digest';
import { RolloutEngine } from '../../server/rollout/engine';
import { startRollout } from '../../server/rollout/operate';
import { loadRolloutSettings } from '../../server/rollout/settings';
import { registerSigningKey } from '../../server/rollout/signing-keys';
import type { ConsoleFixture } from '../../server/testing/console-fixture';
import { testFleetCa } from '../../server/testing/host-identity';
import { waitFor } from '../../server/testing/wait-for';

// The console side of the fault proof, in this process: a real database and artifact store (the integration-test
// fixture: SQLite file, SM2 signer, uploads through the real verification pipeline), the fleet listener the console
// runs (mutual TLS, fleet-listener.ts), and the rollout engine with its real canary analysis. The fleet listener
// can go down and come back on the same port, as a console restart would look to a host.

export const LEDGER_ACCOUNTS = Array.from({ length: 20 }, (_, i) => `acct-${String(i).padStart(2, '0')}`);
export const OPENING_BALANCE = 1_000_000;
export const LEDGER_CONFIG = LEDGER_ACCOUNTS.map((a) => `${a} ${OPENING_BALANCE}\n`).join('');

export interface FaultConsole {
  f: ConsoleFixture;
  operator: AuditActor;
  fleetOrigin: string;
  /** The fleet CA certificate the host pins (--console-ca). */
  consoleCaFile: string;
  hostId: string;
  joinToken: string;
  /** The module's weights, through an approved change request, as an operator proposes them on the module page. */
  setWeights(weights: Record<string, number>): Promise<void>;
  /** Proposes, approves and starts a canary of `version` at `weight` %; resolves with the request id. */
  startCanary(version: string, weight: number): Promise<string>;
  /** Waits until the request is finished (rolled back, promoted, failed) and returns its state and outcome. */
  finished(id: string, timeoutMs: number): Promise<{ state: string; outcome: RolloutOutcome | null }>;
  /** Closes the fleet routes (connections refused) until fleetUp(). */
  fleetDown(): Promise<void>;
  fleetUp(): Promise<void>;
  stop(): Promise<void>;
}

/** Uploads ledger `version` (its `variant` build), signed by the fixture's signer, through the real acceptUpload. */
export async function uploadLedger(f: ConsoleFixture, version: string, variant: string) {
  return f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version, variant), module: 'ledger', version }));
}

async function uploadAll(f: ConsoleFixture, versions: readonly (readonly [string, string])[]) {
  for (const [version, variant] of versions) {
    const result = await uploadLedger(f, version, variant);
    if (result.outcome !== 'accepted') throw new Error(`upload of ledger ${version} (${variant}) was ${result.outcome}: ${result.message}`);
  }
}

/** `f`: a console fixture (createConsoleFixture) whose store is ready; `versions` are uploaded in order. */
export async function startFaultConsole(f: ConsoleFixture, options: { versions: readonly (readonly [string, string])[]; stable: string }): Promise<FaultConsole> {
  await uploadAll(f, options.versions);
  const operator: AuditActor = { id: 'op-faults', name: 'operator@faults', roles: ['operator'] };
  const approver: AuditActor = { id: 'ap-faults', name: 'approver@faults', roles: ['approver'] };
  const approverKeys = generateSm2KeyPair();
  // A real account: approvals are checked against the approver's account, role and key.
  await f.db.user.create({ data: { id: approver.id, email: approver.name, name: 'Fault proof approver', roles: 'approver', emailVerified: true } });
  await registerSigningKey(f.db, approver, { publicKey: approverKeys.publicKeyPem, label: 'fault proof' });
  const admin: AuditActor = { id: 'admin-faults', name: 'admin@faults', roles: ['admin'] };
  const { id: hostId, joinToken } = await registerHost(f.db, admin, { name: 'faults-host' });

  const metrics = new FleetMetrics();
  // The proof rolls back one faulty canary after another on purpose: the module's breaker (3 failures in a row)
  // would refuse the fourth. Ticks and evidence snapshots are shortened so a fault run takes seconds.
  const settings = { ...loadRolloutSettings(), tickMs: 100, snapshotSeconds: 1, breaker: { ...DEFAULT_BREAKER, consecutiveFailures: 1_000, failureShare: 1.1 } };
  const engine = new RolloutEngine({ db: f.db, metrics, settings, log: (line) => console.error(`rollout engine: ${line}`) }).start();

  const ca = await testFleetCa();
  const listen = (port: number) =>
    startFleetListener({ db: f.db, metrics, ca, port, bind: '127.0.0.1', serverNames: ['127.0.0.1'], hostCertHours: 24, log: (line) => console.error(`fleet listener: ${line}`) });
  let listener: FleetListener | null = await listen(0);
  const port = listener.port;
  const fleetDown = async () => {
    await listener?.close();
    listener = null;
  };

  const sign = (digest: string) => Buffer.from(signSm2(approvalMessage(digest), approverKeys.privateKeyPem)).toString('hex');
  const setWeights = async (weights: Record<string, number>) => {
    const versions = Object.entries(weights).map(([version, weight]) => ({ version, weight, isolation: 'process' as const, config: LEDGER_CONFIG }));
    // Asking for what runs already is refused as a change request (there is nothing to approve): nothing to do.
    const current = await f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
    const same = (c: DesiredVersion, v: (typeof versions)[number]) => c.version === v.version && c.weight === v.weight && c.isolation === v.isolation && (c.config ?? '') === v.config;
    if (current && current.versions.length === versions.length && versions.every((v) => current.versions.some((c) => same(c, v)))) return;
    await applyThroughChangeRequest(f.db, { module: 'ledger', versions, reason: 'fault proof: weights for the next fault' }, {
      proposer: operator,
      approver: { actor: approver, privateKeyPem: approverKeys.privateKeyPem },
      settings,
      metrics,
    });
  };
  await setWeights({ [options.stable]: 100 });

  return {
    f,
    operator,
    fleetOrigin: `https://127.0.0.1:${port}`,
    consoleCaFile: ca.certFile,
    hostId,
    joinToken,
    setWeights,
    async startCanary(version, weight) {
      const proposed = await proposeChange(f.db, operator, {
        module: 'ledger',
        toVersion: version,
        reason: `fault proof: canary of ${version}`,
        // A long first step: the fault must show within it, and the proof waits for the verdict, not the clock.
        plan: { steps: [{ weight, holdSeconds: 120 }, { weight: 100, holdSeconds: 1 }], analysis: { intervalSeconds: 0.5, windowSeconds: 3, minRequests: 20 } },
      });
      await approveChange(f.db, approver, { id: proposed.id, digest: proposed.digest, signature: sign(proposed.digest) }, { ttlMs: settings.approvalTtlMs });
      const started = await startRollout({ db: f.db, settings, metrics }, operator, proposed.id);
      if (!started.started) throw new Error(`${proposed.id} did not start: ${started.reason}`);
      return proposed.id;
    },
    finished: (id, timeoutMs) =>
      waitFor(`${id} to finish`, async () => {
        const row = await f.db.changeRequest.findUniqueOrThrow({ where: { id } });
        if (!['RolledBack', 'Promoted', 'Failed', 'Aborted'].includes(row.state)) return null;
        return { state: row.state, outcome: row.outcome ? (JSON.parse(row.outcome) as RolloutOutcome) : null };
      }, { timeoutMs, everyMs: 100 }),
    fleetDown,
    fleetUp: async () => {
      listener = await listen(port);
    },
    async stop() {
      await engine.stop();
      await fleetDown();
    },
  };
}
