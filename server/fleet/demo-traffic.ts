import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { readDesiredState } from './desired-state';
import { demoRequestSource, type DemoRequestSource } from './demo-requests';

// A gentle, steady load (20–50 requests a second) on the embedded host's invoke API, so a demo console has
// live charts. Only modules with a request generator and some traffic weight are sent requests.

const TICK_MS = 100;
const MODULES_REFRESH_MS = 2_000;
const MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 10_000;

export interface DemoTrafficStatus {
  enabled: boolean;
  ratePerSecond: string;
  modules: string[];
  sent: number;
  answered: { ok: number; application: number; fault: number; unreachable: number };
  lastError: string | null;
}

export class DemoTraffic {
  private enabled: boolean;
  private readonly sources = new Map<string, DemoRequestSource>();
  private modules: string[] = [];
  private modulesReadAt = 0;
  private inFlight = 0;
  private sent = 0;
  private readonly answered = { ok: 0, application: 0, fault: 0, unreachable: 0 };
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: { db: Db; invokeUrl: string; enabled: boolean }) {
    this.enabled = options.enabled;
  }

  start() {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  setEnabled(enabled: boolean) {
    this.enabled = enabled;
  }

  status(): DemoTrafficStatus {
    return { enabled: this.enabled, ratePerSecond: '20–50', modules: this.modules, sent: this.sent, answered: { ...this.answered }, lastError: this.lastError };
  }

  private async refreshModules() {
    if (Date.now() - this.modulesReadAt < MODULES_REFRESH_MS) return;
    this.modulesReadAt = Date.now();
    const state = await this.options.db.$transaction((tx) => readDesiredState(tx));
    this.modules = state.modules
      .filter((m) => m.versions.some((v) => v.weight > 0))
      .map((m) => m.module)
      .filter((module) => {
        // A source keeps its own state (the ledger's opened accounts), so it lives as long as the module is served.
        if (!this.sources.has(module)) {
          const source = demoRequestSource(module);
          if (source) this.sources.set(module, source);
        }
        return this.sources.has(module);
      });
  }

  private async tick() {
    if (!this.enabled) return;
    try {
      await this.refreshModules();
    } catch (error) {
      this.lastError = `reading the desired state: ${(error as Error).message}`;
      return;
    }
    if (this.modules.length === 0) return;
    const count = 2 + Math.floor(Math.random() * 4);
    for (let i = 0; i < count; i++) this.send(this.modules[Math.floor(Math.random() * this.modules.length)]);
  }

  private send(module: string) {
    if (this.inFlight >= MAX_IN_FLIGHT) return;
    const request = this.sources.get(module)!();
    this.inFlight += 1;
    this.sent += 1;
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (request.grayId) headers['x-gray-id'] = request.grayId;
    fetch(`${this.options.invokeUrl}/v1/invoke/${encodeURIComponent(module)}`, {
      method: 'POST',
      headers,
      body: request.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (response) => {
        await response.arrayBuffer();
        if (response.status < 300) this.answered.ok += 1;
        else if (response.status < 500) this.answered.application += 1;
        else this.answered.fault += 1;
      })
      .catch((error: Error) => {
        this.answered.unreachable += 1;
        this.lastError = `${module}: ${error.message}`;
      })
      .finally(() => {
        this.inFlight -= 1;
      });
  }
}

/** Switches the generator on or off; the switch is audited, though the state itself lives in this process only. */
export async function switchDemoTraffic(db: Db, actor: AuditActor, traffic: DemoTraffic | null, enabled: boolean): Promise<DemoTrafficStatus> {
  if (!traffic) {
    throw new DomainError(DomainErrorCode.Conflict, 'demo traffic runs only beside the embedded host, which this console does not run (HOTPLANE_EMBEDDED_HOST=0)');
  }
  if (traffic.status().enabled !== enabled) {
    await db.$transaction((tx) =>
      appendAuditEvent(tx, { actor, action: 'runtime.demo_traffic_changed', targetType: 'console', targetId: 'demo-traffic', details: { enabled } }),
    );
    traffic.setEnabled(enabled);
  }
  return traffic.status();
}
