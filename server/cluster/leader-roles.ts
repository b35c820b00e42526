import type { Db } from '../db/client';
import { LeaderLease, ROLLOUT_ENGINE_LEASE } from './lease';
import type { Fence } from './fenced-db';

// The work only one replica does at a time (the rollout engine, the audit checkpointer): started when this replica
// gains the lease, stopped when it loses it. Each role's writes are fenced by the epoch it was started under.

export interface LeaderRole {
  name: string;
  /** `stop(how)`: `lost` means another replica may lead already, so nothing more may be written. */
  start(fence: Fence, epoch: number): Promise<RunningRole> | RunningRole;
}

export interface RunningRole {
  stop(how: 'lost' | 'stopping'): Promise<void>;
}

export interface LeaderRolesOptions {
  db: Db;
  replica: string;
  roles: LeaderRole[];
  ttlMs?: number;
  renewMs?: number;
  log?: (line: string) => void;
}

export function startLeaderRoles(options: LeaderRolesOptions): LeaderLease {
  const log = options.log ?? ((line: string) => console.error(`hotplane cluster: ${line}`));
  let running: (RunningRole & { name: string })[] = [];
  const lease: LeaderLease = new LeaderLease({
    db: options.db,
    name: ROLLOUT_ENGINE_LEASE,
    replica: options.replica,
    ttlMs: options.ttlMs,
    renewMs: options.renewMs,
    log,
    onGain: async (epoch) => {
      log(`replica ${options.replica} leads (epoch ${epoch})`);
      const fence: Fence = (tx) => lease.fence(tx, epoch);
      for (const role of options.roles) {
        try {
          const started = await role.start(fence, epoch);
          running.push({ name: role.name, stop: (how) => started.stop(how) });
        } catch (error) {
          log(`${role.name} did not start: ${(error as Error).message}`);
        }
      }
    },
    onLoss: async (epoch, how) => {
      log(`replica ${options.replica} no longer leads (epoch ${epoch})`);
      const stopping = running;
      running = [];
      await Promise.all(stopping.map((role) => role.stop(how).catch((error: Error) => log(`${role.name} stopping: ${error.message}`))));
    },
  });
  return lease.start();
}
