// Which database a DATABASE_URL names: SQLite (the embedded default) or PostgreSQL (replicated consoles).

export type Dialect = 'sqlite' | 'postgresql';

export function dialectOf(databaseUrl: string): Dialect {
  if (databaseUrl.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return 'postgresql';
  throw new Error(
    `DATABASE_URL=${redactedUrl(databaseUrl)} names no supported database: use file:/path/to/hotplane.db (SQLite) or postgresql://user@host:5432/hotplane (PostgreSQL; the password in PGPASSWORD or ~/.pgpass)`,
  );
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(databaseUrl: string): string {
  return databaseUrl.replace(/^([a-z]+:\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}
