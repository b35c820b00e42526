import type { DesiredState, HostEvent, VersionStatus } from '../../protocol';
import type { GriddedSample, ProcessFigures, VersionTotals } from '../metrics';

// The messages between a host's primary and its workers, over node:cluster's IPC channel. The primary alone talks to
// the console and owns the artifact cache; a worker asks it for artifacts, verifications and the host's metrics.

export interface VersionSnapshot {
  module: string;
  version: string;
  totals: VersionTotals;
  last: GriddedSample | null;
}

/** What a worker tells its primary every second (and its statuses with every event). */
export interface WorkerSnapshot {
  versions: VersionSnapshot[];
  /** Seconds closed since the previous snapshot. */
  samples: GriddedSample[];
  statuses: VersionStatus[];
  process: ProcessFigures;
  generation: number;
  awaitingArtifacts: boolean;
  takenAt: number;
}

export type ToWorker =
  | { kind: 'apply'; id: number; state: DesiredState; local: boolean }
  | { kind: 'listen' }
  | { kind: 'shutdown' }
  | { kind: 'reply'; id: number; ok: boolean; value?: unknown; error?: string; integrity?: boolean; breakGlassRefused?: boolean };

export type ToPrimary =
  | { kind: 'started' }
  | { kind: 'listening' }
  | { kind: 'listen-failed'; error: string }
  | { kind: 'applied'; id: number; ok: boolean; error?: string; generation: number; awaitingArtifacts: boolean }
  | { kind: 'snapshot'; snapshot: WorkerSnapshot }
  | { kind: 'event'; event: HostEvent; statuses: VersionStatus[] }
  | { kind: 'ask'; id: number; what: 'fetch' | 'verify'; sm3: string }
  | { kind: 'ask'; id: number; what: 'metrics' }
  | { kind: 'ask'; id: number; what: 'apply-local'; state: DesiredState }
  | { kind: 'ask'; id: number; what: 'break-glass'; module: string; reason: string };

export type Ask = Extract<ToPrimary, { kind: 'ask' }>;
/** An Ask before the link numbers it. */
export type Question = Ask extends infer A ? (A extends Ask ? Omit<A, 'id'> : never) : never;

/** Set in a worker's environment: its slot (1..N), kept by its replacement, so its crash marker file is its own. */
export const WORKER_SLOT_ENV = 'HOTPLANE_WORKER_SLOT';

/** The host's id as the primary knows it (from its certificate when it has a console). */
export const WORKER_HOST_ID_ENV = 'HOTPLANE_WORKER_HOST_ID';

export function crashMarkerOfSlot(base: string, slot: number): string {
  return `${base}.worker-${slot}`;
}

export function isToPrimary(message: unknown): message is ToPrimary {
  return typeof message === 'object' && message !== null && typeof (message as { kind?: unknown }).kind === 'string';
}
