import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresAvailable } from '../testing/postgres';
import { freshPostgresDatabase } from '../testing/test-database';
import { applyPostgresMigrations, postgresMigrationsDir } from './migrate-postgres';
import { listMigrations } from './migrate';
import { prismaModels } from './schema-models';

// The PostgreSQL migrations are written by hand too: every model a table, every scalar field a column of the type
// Prisma's postgresql provider expects, nullable exactly when the field is optional.

const POSTGRES_TYPE: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  DateTime: 'timestamp without time zone',
  Float: 'double precision',
  Bytes: 'bytea',
};

describe('PostgreSQL migrations and schema.prisma agree', { skip: !postgresAvailable() && 'needs Debian postgresql and root' }, () => {
  let url: string;
  let client: pg.Client;
  let first: Awaited<ReturnType<typeof applyPostgresMigrations>>;
  const schema = readFileSync(path.join(process.cwd(), 'prisma', 'schema.prisma'), 'utf8');
  before(async () => {
    url = freshPostgresDatabase();
    first = await applyPostgresMigrations(url);
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  after(() => client.end());

  it('applies every migration once and records it the way prisma migrate does', async () => {
    const expected = listMigrations(postgresMigrationsDir());
    assert.deepEqual(first.applied, expected.map((m) => m.name));
    assert.deepEqual((await applyPostgresMigrations(url)).applied, []);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    assert.deepEqual(rows.map((r) => [r.migration_name, r.checksum]), expected.map((m) => [m.name, m.checksum]));
    assert.ok(rows.every((r) => r.finished_at));
  });

  it('every model is a table with every field as a column of the right type and nullability, and nothing more', async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    for (const model of prismaModels(schema)) {
      const columns = rows.filter((row) => row.table_name === model.table);
      assert.ok(columns.length > 0, `table ${model.table} is missing`);
      const byName = new Map(columns.map((c) => [c.column_name, c]));
      for (const field of model.fields) {
        const column = byName.get(field.column);
        assert.ok(column, `${model.table}.${field.column} is missing`);
        assert.equal(column.data_type, POSTGRES_TYPE[field.type], `${model.table}.${field.column} type`);
        assert.equal(column.is_nullable === 'YES', field.optional, `${model.table}.${field.column} nullability`);
      }
      assert.equal(columns.length, model.fields.length, `${model.table} has columns the model does not: ${columns.map((c) => c.column_name).join(', ')}`);
    }
  });
});
