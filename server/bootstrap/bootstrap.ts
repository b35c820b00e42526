import path from 'node:path';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR } from '../audit/actor';
import { createUser } from '../auth/users';
import { config } from '../config';
import { prepareDb } from '../db/client';
import { seedDemo } from '../demo/seed';
import { createAuditCheckpointer } from '../audit/checkpoints';
import { consoleFilesOf, secureConsoleFiles } from '../secrets-at-rest';

export class BootstrapRefused extends Error {}

// Runs before the console serves: migrations (prepareDb), then the first accounts on an empty database.
export async function bootstrapConsole(log: (line: string) => void = console.log) {
  const settings = config();
  for (const fix of secureConsoleFiles(consoleFilesOf(settings))) {
    log(`narrowed who may read ${fix}`);
  }
  const prisma = await prepareDb();
  const users = await prisma.user.count();
  if (users === 0) {
    if (settings.demoMode) {
      const demo = await seedDemo(prisma, settings.dataDir, { password: process.env.HOTPLANE_DEMO_PASSWORD });
      log('Demo mode: first start, created one account per role. These passwords are shown only once:');
      for (const account of demo.accounts) log(`  ${account.role.padEnd(9)} ${account.email.padEnd(26)} ${account.password}`);
      log(`Demo signer key pair: ${demo.keyDir} (the private key never leaves this machine)`);
      log(`Demo approver's approval key: ${path.join(demo.keyDir, 'approver.key.pem')} (load it on a change request to sign it off)`);
      log(`Demo fleet serving ${demo.served.join(', ')}`);
      for (const reason of demo.skipped) log(`Demo fleet: ${reason}`);
      log(`Signed ledger 1.1.0 ready to upload: ${demo.artifactDir}/ledger-1.1.0.so (+ .manifest.json, .manifest.sig)`);
    } else {
      const password = process.env.HOTPLANE_ADMIN_PASSWORD;
      if (!password) {
        throw new BootstrapRefused(
          'empty database and demo mode is off (HOTPLANE_DEMO=0): set HOTPLANE_ADMIN_PASSWORD (12+ characters) for the first admin, ' +
            'or start with demo mode on',
        );
      }
      const email = process.env.HOTPLANE_ADMIN_EMAIL ?? 'admin@hotplane.local';
      await createUser(prisma, SYSTEM_ACTOR, { email, name: 'Administrator', roles: ['admin'], password });
      log(`Created the first admin ${email} with the password from HOTPLANE_ADMIN_PASSWORD.`);
    }
  }
  await prisma.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor: SYSTEM_ACTOR,
      action: 'console.started',
      targetType: 'console',
      targetId: 'console',
      details: { demoMode: settings.demoMode, pid: process.pid },
    }),
  );
  // Start-up events (accounts, demo data) are covered by a signed checkpoint before anyone signs in.
  await createAuditCheckpointer().checkpointNow(prisma);
}
