import { defineConfig } from 'prisma/config';

// `prisma migrate status/deploy` read this where the schema engine is available; at run time the
// console applies prisma/migrations itself (server/db/migrate.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./data/hotplane.db' },
});
