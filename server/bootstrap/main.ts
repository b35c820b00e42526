import { bootstrapConsole, BootstrapRefused } from './bootstrap';
import { db } from '../db/client';

try {
  await bootstrapConsole();
  await db().$disconnect();
} catch (error) {
  if (error instanceof BootstrapRefused) {
    console.error(`hotplane: refusing to start: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
