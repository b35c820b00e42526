// The embedding API: a Node application hosts modules in its own process, over the same router, cells,
// probes and metrics as the standalone host.
import { fileFetcher } from './artifact-cache';
import type { CellLimits } from './cell-limits';
import { Host } from './host';
import type { InvokeOptions, InvokeResult } from './module-runtime';
import type { DesiredState, HostEvent, VersionStatus } from '../protocol';

export type { DesiredState, DesiredModule, DesiredVersion, VersionStatus, HostEvent } from '../protocol';
export type { InvokeOptions, InvokeResult } from './module-runtime';
export type { CellLimits } from './cell-limits';

export interface EmbeddedHost {
  apply(state: DesiredState): Promise<void>;
  invoke(module: string, request: Uint8Array, options?: InvokeOptions): Promise<InvokeResult>;
  status(): VersionStatus[];
  events(): HostEvent[];
  stop(): Promise<void>;
}

export function createHost(options: {
  dataDir: string;
  /** Where the verified .so for a digest is on this disk (it is copied into the host's cache and re-verified). */
  artifactPath: (sm3: string) => string;
  /** Caps on each process cell; default 1024 MiB of memory and 1024 open files (0 = no cap). */
  cellLimits?: CellLimits;
  onEvent?: (event: HostEvent) => void;
}): EmbeddedHost {
  const host = new Host({ dataDir: options.dataDir, fetchArtifact: fileFetcher(options.artifactPath), cellLimits: options.cellLimits, onEvent: options.onEvent }).start();
  return {
    apply: (state) => host.applyDesiredState(state),
    invoke: (module, request, invokeOptions) => host.invoke(module, request, invokeOptions),
    status: () => host.versionStatuses(),
    events: () => host.recentEvents(),
    stop: () => host.stop({ drain: true }),
  };
}
