// The console↔host contract (docs/fleet.md "Protocol"): wire types, their zod schemas for both directions, the
// paths and headers, the module ABI. It imports nothing of the project (eslint.config.mjs holds it to that), so
// both sides can depend on it and on nothing of each other.
export * from './abi';
export * from './break-glass';
export * from './desired-state-schema';
export * from './paths';
export * from './report-schema';
export type * from './wire-types';
