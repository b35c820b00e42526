import Database from 'better-sqlite3';
import pg from 'pg';
import { dialectOf, redactedUrl } from './dialect';
import { applyMigrations, sqliteFileFromUrl } from './migrate';
import { migratePostgresOnce } from './postgres-client';

// Moving an installation from SQLite to PostgreSQL: every table's rows, copied in one PostgreSQL transaction into
// a database the PostgreSQL migrations have just created, so the target is either a whole copy or untouched.

export class MigrationTargetError extends Error {}

export interface CopiedTable {
  table: string;
  rows: number;
}

const BATCH_ROWS = 500;
// Rows a migration itself writes (FleetGeneration's seed row): they do not make a database "not empty".
const SEEDED: Record<string, number> = { FleetGeneration: 1 };

/** The PostgreSQL tables in an order that inserts referenced rows before the rows referring to them. */
async function tablesInInsertOrder(client: pg.Client): Promise<string[]> {
  const { rows: tables } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY table_name`,
  );
  const { rows: references } = await client.query<{ child: string; parent: string }>(
    `SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
  );
  const unquote = (name: string) => name.replace(/^"(.*)"$/, '$1');
  const parents = new Map<string, Set<string>>(tables.map((t) => [t.table_name, new Set<string>()]));
  for (const { child, parent } of references) if (unquote(child) !== unquote(parent)) parents.get(unquote(child))?.add(unquote(parent));
  const ordered: string[] = [];
  const visit = (table: string) => {
    if (ordered.includes(table)) return;
    for (const parent of parents.get(table) ?? []) visit(parent);
    ordered.push(table);
  };
  for (const table of parents.keys()) visit(table);
  return ordered;
}

async function refuseNonEmpty(client: pg.Client, tables: string[], toUrl: string): Promise<void> {
  const occupied: string[] = [];
  for (const table of tables) {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
    if (rows[0].n > (SEEDED[table] ?? 0)) occupied.push(`${table} (${rows[0].n} rows)`);
  }
  if (occupied.length > 0) {
    throw new MigrationTargetError(
      `the target database ${redactedUrl(toUrl)} is not empty: ${occupied.join(', ')}. migrate-to-postgres copies into a new, empty database only; create one (createdb hotplane) and name it with --to`,
    );
  }
}

async function columnsOf(client: pg.Client, table: string): Promise<{ name: string; type: string; serial: boolean }[]> {
  const { rows } = await client.query<{ column_name: string; data_type: string; column_default: string | null }>(
    `SELECT column_name, data_type, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((row) => ({ name: row.column_name, type: row.data_type, serial: row.column_default?.startsWith('nextval(') ?? false }));
}

// SQLite keeps booleans as 0/1; everything else (text, integers, the adapter's ISO date text) PostgreSQL reads as is.
function toPostgres(value: unknown, type: string): unknown {
  if (type === 'boolean' && typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

async function copyTable(source: Database.Database, client: pg.Client, table: string): Promise<number> {
  const columns = await columnsOf(client, table);
  const sourceColumns = new Set((source.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name));
  if (sourceColumns.size === 0) throw new MigrationTargetError(`the SQLite database has no table ${table}: it is not a Hotplane database at this version`);
  const missing = columns.filter((c) => !sourceColumns.has(c.name)).map((c) => c.name);
  const extra = [...sourceColumns].filter((name) => !columns.some((c) => c.name === name));
  if (missing.length > 0 || extra.length > 0) {
    throw new MigrationTargetError(`table ${table} differs between the databases (missing in SQLite: ${missing.join(', ') || 'none'}; missing in PostgreSQL: ${extra.join(', ') || 'none'})`);
  }
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  if (SEEDED[table]) await client.query(`DELETE FROM "${table}"`);
  let copied = 0;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const placeholders = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
    await client.query(`INSERT INTO "${table}" (${names}) VALUES ${placeholders}`, batch.flat());
    copied += batch.length;
    batch = [];
  };
  for (const row of source.prepare(`SELECT ${names} FROM "${table}"`).iterate() as Iterable<Record<string, unknown>>) {
    batch.push(columns.map((c) => toPostgres(row[c.name], c.type)));
    if (batch.length === BATCH_ROWS) await flush();
  }
  await flush();
  // Autoincrement columns continue after the copied ids.
  for (const column of columns.filter((c) => c.serial)) {
    await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), (SELECT COALESCE(max("${column.name}"), 0) + 1 FROM "${table}"), false)`, [`"${table}"`, column.name]);
  }
  return copied;
}

/** Copies every table of the SQLite database into the (migrated, empty) PostgreSQL one, in one transaction. */
export async function copySqliteToPostgres(fromUrl: string, toUrl: string): Promise<CopiedTable[]> {
  if (dialectOf(fromUrl) !== 'sqlite') throw new MigrationTargetError(`--from must name a SQLite database (file:/path/to/hotplane.db), not ${redactedUrl(fromUrl)}`);
  if (dialectOf(toUrl) !== 'postgresql') throw new MigrationTargetError(`--to must name a PostgreSQL database (postgresql://user@host:5432/hotplane), not ${redactedUrl(toUrl)}`);
  applyMigrations(fromUrl);
  await migratePostgresOnce(toUrl);
  const source = new Database(sqliteFileFromUrl(fromUrl), { readonly: true });
  const client = new pg.Client({ connectionString: toUrl });
  await client.connect();
  try {
    const tables = await tablesInInsertOrder(client);
    await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    try {
      // No console may write while the copy runs: it would make the target non-empty or be lost.
      await client.query(`LOCK TABLE ${tables.map((t) => `"${t}"`).join(', ')} IN EXCLUSIVE MODE`);
      await refuseNonEmpty(client, tables, toUrl);
      const copied: CopiedTable[] = [];
      for (const table of tables) copied.push({ table, rows: await copyTable(source, client, table) });
      await client.query('COMMIT');
      return copied;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } finally {
    await client.end();
    source.close();
  }
}
