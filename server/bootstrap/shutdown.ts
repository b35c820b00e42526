import type { Replica } from '../cluster/replica';
import { config } from '../config';
import { killFleetServices, stopFleetServices } from '../fleet/services';

// SIGTERM/SIGINT for a console process: drain and stop everything it started (the embedded host and its cells,
// the fleet listener, its place among the replicas) within the shutdown deadline, then exit 0. A second signal,
// or the deadline passing, kills the embedded host's process group and exits at once. Next's own handler exits as
// soon as its HTTP server has closed, cutting the drain short: `npm start` keeps it out (NEXT_MANUAL_SIG_HANDLE),
// and a console started by `next start` directly has it replaced here.

export interface ShutdownSteps {
  drain(): Promise<void>;
  killNow(): Promise<void>;
  deadlineMs: number;
  log(line: string): void;
  exit(code: number): void;
}

const SIGNAL_EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

export function installShutdownHandlers(steps: ShutdownSteps): void {
  let draining = false;
  const stopAtOnce = (why: string, code: number) => {
    steps.log(`${why}: stopping at once`);
    void steps.killNow().finally(() => steps.exit(code));
  };
  const onSignal = (signal: keyof typeof SIGNAL_EXIT_CODE) => {
    if (draining) return stopAtOnce(`${signal} again`, SIGNAL_EXIT_CODE[signal]);
    draining = true;
    steps.log(`${signal}: draining the console, its embedded host and its cells (at most ${steps.deadlineMs / 1000} s; send it again to stop at once)`);
    const deadline = setTimeout(() => stopAtOnce(`the shutdown deadline of ${steps.deadlineMs / 1000} s passed`, 1), steps.deadlineMs);
    steps.drain().then(
      () => {
        clearTimeout(deadline);
        steps.log('stopped');
        steps.exit(0);
      },
      (error: Error) => {
        clearTimeout(deadline);
        stopAtOnce(`draining failed (${error.message})`, 1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

/** What instrumentation.ts installs once the console's services run. */
export function installConsoleShutdown(replica: Replica, log: (line: string) => void = (line) => console.error(`hotplane: ${line}`)): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.removeAllListeners(signal);
  installShutdownHandlers({
    drain: async () => {
      await stopFleetServices();
      await replica.stop();
    },
    killNow: killFleetServices,
    deadlineMs: config().shutdownDeadlineMs,
    log,
    exit: (code) => process.exit(code),
  });
}
