import semver from 'semver';
import { z } from 'zod';
import { firstDuplicateKey } from './json-duplicate-keys';

// Manifest v1 (docs/manifest.md). Parsed only after its signature has been checked over the exact bytes.

export const MANIFEST_SCHEMA = 'hotplane.manifest/v1';
export const MODULE_CLASSES = ['gateway', 'business', 'data-access', 'crypto', 'key-management', 'audit-writer'] as const;
export type ModuleClass = (typeof MODULE_CLASSES)[number];
// The red line: these classes hold keys, data or the audit trail and are never swapped in a running process.
export const NEVER_HOT_UPGRADABLE: readonly ModuleClass[] = ['data-access', 'crypto', 'key-management', 'audit-writer'];
export const MANIFEST_ARCHES = ['x86_64', 'aarch64'] as const;

const hex64 = (what: string) => z.string().regex(/^[0-9a-f]{64}$/, `${what} must be 64 lower-case hex digits`);
const isoTime = (what: string) =>
  z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: `${what} must be an ISO-8601 time such as 2026-11-22T08:00:00Z`,
  });

export const manifestSchema = z
  .object({
    schema: z.literal(MANIFEST_SCHEMA, { message: `schema must be "${MANIFEST_SCHEMA}"` }),
    module: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'module must be lower-case letters, digits and dashes, starting with a letter'),
    version: z.string().refine((v) => semver.valid(v) === v && semver.prerelease(v) === null, {
      message: 'version must be a release semver such as 1.2.0',
    }),
    abi: z.literal(1, { message: 'abi must be 1 (this console speaks module ABI v1)' }),
    arch: z.enum(MANIFEST_ARCHES, { message: `arch must be one of ${MANIFEST_ARCHES.join(', ')}` }),
    class: z.enum(MODULE_CLASSES, { message: `class must be one of ${MODULE_CLASSES.join(', ')}` }),
    file: z.object({
      size: z.number().int().nonnegative(),
      sm3: hex64('file.sm3'),
      sha256: hex64('file.sha256'),
    }),
    created: isoTime('created'),
    expires: isoTime('expires'),
  })
  .refine((m) => Date.parse(m.expires) > Date.parse(m.created), { message: 'expires must be later than created', path: ['expires'] });

export type Manifest = z.infer<typeof manifestSchema>;

export type ManifestParseResult = { ok: true; manifest: Manifest } | { ok: false; message: string };

export function parseManifest(bytes: Uint8Array): ManifestParseResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, message: 'manifest is not UTF-8 text; write it with `hotplane manifest`' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `manifest is not JSON (${(error as Error).message}); write it with \`hotplane manifest\`` };
  }
  const repeated = firstDuplicateKey(text);
  if (repeated !== null) {
    return { ok: false, message: `manifest has the key "${repeated}" twice, so readers could disagree on what was signed; write it with \`hotplane manifest\` and sign it again` };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    return { ok: false, message: `manifest is invalid: ${issues.join('; ')}` };
  }
  return { ok: true, manifest: parsed.data };
}

// Canonical manifest bytes as `hotplane manifest` writes them: fixed key order, two-space indent, final newline.
export function serializeManifest(manifest: Manifest): string {
  const ordered = {
    schema: manifest.schema,
    module: manifest.module,
    version: manifest.version,
    abi: manifest.abi,
    arch: manifest.arch,
    class: manifest.class,
    file: { size: manifest.file.size, sm3: manifest.file.sm3, sha256: manifest.file.sha256 },
    created: manifest.created,
    expires: manifest.expires,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
