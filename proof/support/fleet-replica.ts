import { startConsoleServices } from '../../server/bootstrap/console-services';

// One console replica without its pages, for the fleet proof and bench: exactly what `npm start`'s
// instrumentation.ts starts (server/bootstrap/console-services.ts) on the DATABASE_URL, HOTPLANE_DATA_DIR,
// HOTPLANE_FLEET_PORT and HOTPLANE_FLEET_CA_FILE its parent gives it, with HOTPLANE_EMBEDDED_HOST=0. It tells its
// parent when it serves, and answers "lease?" with the epoch it holds (null when it does not lead).

type Request = { type: 'lease?' };
export type ReplicaMessage = { type: 'ready'; replica: string; pid: number } | { type: 'lease'; epoch: number | null };

const replica = await startConsoleServices((line) => console.error(`replica ${process.pid}: ${line}`));
const send = (message: ReplicaMessage) => process.send?.(message);
process.on('message', (message: Request) => {
  if (message.type === 'lease?') send({ type: 'lease', epoch: replica.lease.epoch });
});
process.on('disconnect', () => void replica.stop().finally(() => process.exit(0)));
process.on('SIGTERM', () => void replica.stop().finally(() => process.exit(0)));
send({ type: 'ready', replica: replica.id, pid: process.pid });
