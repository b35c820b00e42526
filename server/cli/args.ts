import { parseArgs, type ParseArgsConfig } from 'node:util';

export class CliUsageError extends Error {}

// node:util parseArgs, with its errors turned into usage errors (exit 2) that name the bad option.
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  if (parsed.positionals.length !== positionals) {
    throw new CliUsageError(`expected ${positionals} argument(s), got ${parsed.positionals.length}: ${parsed.positionals.join(' ') || 'none'}`);
  }
  return parsed;
}

export function requireOption(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new CliUsageError(`--${name} is required`);
  return value;
}
