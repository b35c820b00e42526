import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstDuplicateKey } from './json-duplicate-keys';

test('names the first key an object repeats, with its path', () => {
  assert.equal(firstDuplicateKey('{"module":"ledger","version":"1.0.0","version":"9.9.9"}'), 'version');
  assert.equal(firstDuplicateKey('{"file":{"size":1,"sm3":"a","sm3":"b"},"created":"x"}'), 'file.sm3');
  assert.equal(firstDuplicateKey('{"a":1,"\\u0061":2}'), 'a', 'an escaped spelling of the same key is the same key');
});

test('accepts distinct keys, equal keys in different objects, and keys that only look alike inside strings', () => {
  assert.equal(firstDuplicateKey('{"module":"ledger","file":{"module":"x"},"v":"\\"module\\":"}'), null);
  assert.equal(firstDuplicateKey('[{"a":1},{"a":2}]'), null);
  assert.equal(firstDuplicateKey('{ "a" : [ "a", {"b": "a"} ], "b" : { } }'), null);
});
