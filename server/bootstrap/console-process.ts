import { startConsoleServices } from './console-services';
import { installConsoleShutdown } from './shutdown';

// A console process without its pages, for the shutdown tests: exactly what instrumentation.ts runs inside
// `npm start` (the services, the embedded host, the signal handling) on the settings its parent gives it.
const replica = await startConsoleServices((line) => console.error(`console ${process.pid}: ${line}`));
installConsoleShutdown(replica);
process.send?.({ type: 'ready' });
