import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSchema } from './change-request.types';
import { DEFAULT_PLAN } from './default-plan';

test("the propose form's default plan is the plan schema's defaults", () => {
  assert.deepEqual(DEFAULT_PLAN, planSchema.parse({}));
});
