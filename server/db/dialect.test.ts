import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config';
import { dialectOf, redactedUrl } from './dialect';

test('DATABASE_URL selects the dialect: file: is SQLite, postgres:// and postgresql:// are PostgreSQL', () => {
  assert.equal(dialectOf('file:/var/lib/hotplane/hotplane.db'), 'sqlite');
  assert.equal(dialectOf('postgresql://hotplane@db:5432/hotplane'), 'postgresql');
  assert.equal(dialectOf('postgres://hotplane@db/hotplane'), 'postgresql');
});

test('any other URL is refused at configuration time, naming both forms and without echoing a password', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/hotplane' } as unknown as NodeJS.ProcessEnv), (error: Error) => {
    assert.match(error.message, /names no supported database: use file:\/path\/to\/hotplane\.db \(SQLite\) or postgresql:\/\/.*PGPASSWORD/);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
  assert.equal(redactedUrl('postgresql://hotplane:s3cret@db:5432/hotplane'), 'postgresql://hotplane:***@db:5432/hotplane');
});
