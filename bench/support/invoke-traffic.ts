import { Agent, request } from 'node:http';
import { demoRequestSource } from '../../server/fleet/demo-requests';

// Steady application traffic over loopback HTTP to a host's invoke API (`POST /v1/invoke/<module>`), with the
// demo's realistic request mix, so what a benchmark sees is what a caller of the host would see.

export interface Answer {
  status: number;
  /** X-Hotplane-Version: the version that served the request (null when none did, e.g. 503). */
  version: string | null;
  /** X-Hotplane-Reason: why a 5xx failed. */
  reason: string | null;
  /** Epoch ms when the answer's headers arrived. */
  at: number;
  /** Whether the request carried an X-Gray-Id, so its version was chosen by the id rather than the weights. */
  sticky: boolean;
}

export interface InvokeTraffic {
  /** Requests that got no HTTP answer at all (connection refused, reset). */
  readonly socketErrors: number;
  stop(): void;
}

const TICK_MS = 20;

export function startInvokeTraffic(baseUrl: string, module: string, perSecond: number, onAnswer: (answer: Answer) => void): InvokeTraffic {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const source = demoRequestSource(module);
  if (!source) throw new Error(`no demo requests for module ${module}`);
  const url = `${baseUrl}/v1/invoke/${encodeURIComponent(module)}`;
  let socketErrors = 0;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (perSecond * TICK_MS) / 1000;
    for (; owed >= 1; owed--) {
      const { body, grayId } = source();
      const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(body) };
      if (grayId) headers['x-gray-id'] = grayId;
      const call = request(url, { method: 'POST', agent, headers }, (response) => {
        const header = (name: string) => (typeof response.headers[name] === 'string' ? (response.headers[name] as string) : null);
        onAnswer({ status: response.statusCode ?? 0, version: header('x-hotplane-version'), reason: header('x-hotplane-reason'), at: Date.now(), sticky: Boolean(grayId) });
        // A reset mid-body is a request that got no whole answer, not a reason to stop the bench.
        response.on('error', () => socketErrors++);
        response.resume();
      });
      call.on('error', () => socketErrors++);
      call.end(body);
    }
  }, TICK_MS);
  return {
    get socketErrors() {
      return socketErrors;
    },
    stop() {
      clearInterval(timer);
      agent.destroy();
    },
  };
}
