// Copies of every checkpoint line outside the console's database and data folder: a syslog collector and/or a
// webhook. Whoever later rewrites both the database and the checkpoints file cannot recall these copies; an
// auditor compares them with the file (docs/audit.md). Best effort: a sink that is down is logged, and the
// checkpoint itself (fsync'd file + database record) still stands.
import { createSocket } from 'node:dgram';
import os from 'node:os';

export interface CheckpointSink {
  name: string;
  send(line: string, seq: number): Promise<void>;
}

// RFC 5424: facility 13 (log audit), severity 6 (informational).
const SYSLOG_PRI = 13 * 8 + 6;

/** "udp:HOST:PORT", e.g. udp:127.0.0.1:514 (rsyslog's imudp). */
export function syslogSink(target: string): CheckpointSink {
  const match = /^udp:(.+):(\d+)$/.exec(target);
  if (!match) throw new Error(`HOTPLANE_AUDIT_SYSLOG=${target} is not udp:HOST:PORT (for example udp:127.0.0.1:514)`);
  const [, host, port] = match;
  return {
    name: `syslog ${target}`,
    send: (line, seq) =>
      new Promise((resolve, reject) => {
        const message = `<${SYSLOG_PRI}>1 ${new Date().toISOString()} ${os.hostname()} hotplane ${process.pid} audit-checkpoint [hotplane seq="${seq}"] ${line}`;
        const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
        socket.send(message, Number(port), host.replace(/^\[|\]$/g, ''), (error) => {
          socket.close();
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}

const WEBHOOK_TIMEOUT_MS = 5000;

export function webhookSink(url: string): CheckpointSink {
  return {
    name: `webhook ${new URL(url).origin}`,
    async send(line, seq) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'hotplane.audit-checkpoint', seq, line }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
  };
}

export function configuredSinks(settings: { auditSyslog: string | undefined; auditAnchorWebhook: string | undefined }): CheckpointSink[] {
  return [
    ...(settings.auditSyslog ? [syslogSink(settings.auditSyslog)] : []),
    ...(settings.auditAnchorWebhook ? [webhookSink(settings.auditAnchorWebhook)] : []),
  ];
}
