import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatFingerprint, generateSm2KeyPair, parsePublicKey, signSm2 } from '../crypto';
import { createManifest } from '../artifacts/create-manifest';
import { MODULE_CLASSES, type ModuleClass } from '../artifacts/manifest';
import { CliUsageError, parseCommandArgs, requireOption } from './args';

export async function keygenCommand(args: string[]) {
  const { values } = parseCommandArgs(args, { out: { type: 'string', default: '.' } }, 0);
  const dir = path.resolve(values.out!);
  await mkdir(dir, { recursive: true });
  const pair = generateSm2KeyPair();
  const files = { key: path.join(dir, 'key.pem'), pub: path.join(dir, 'pub.pem'), hex: path.join(dir, 'pub.hex') };
  await writeFile(files.key, pair.privateKeyPem, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new CliUsageError(`${files.key} exists; choose another --out, keys are never overwritten`);
    throw error;
  });
  await writeFile(files.pub, pair.publicKeyPem);
  await writeFile(files.hex, `${pair.publicKeyHex}\n`);
  console.log(`private key  ${files.key} (mode 0600; keep it offline)`);
  console.log(`public key   ${files.pub}`);
  console.log(`public hex   ${files.hex}`);
  console.log(`fingerprint  ${formatFingerprint(parsePublicKey(pair.publicKeyPem).fingerprint)}`);
  return 0;
}

export async function manifestCommand(args: string[]) {
  const { values, positionals } = parseCommandArgs(
    args,
    { module: { type: 'string' }, version: { type: 'string' }, class: { type: 'string' }, 'valid-days': { type: 'string' }, out: { type: 'string' } },
    1,
  );
  const moduleClass = requireOption(values, 'class');
  if (!(MODULE_CLASSES as readonly string[]).includes(moduleClass)) {
    throw new CliUsageError(`--class must be one of ${MODULE_CLASSES.join(', ')}`);
  }
  const validDays = values['valid-days'] ? Number(values['valid-days']) : 365;
  if (!Number.isInteger(validDays) || validDays <= 0) throw new CliUsageError('--valid-days takes a positive whole number');
  const so = positionals[0];
  const text = await createManifest(so, {
    module: requireOption(values, 'module'),
    version: requireOption(values, 'version'),
    moduleClass: moduleClass as ModuleClass,
    validDays,
  });
  const out = values.out ?? `${so}.manifest.json`;
  await writeFile(out, text);
  console.log(`wrote ${out}`);
  return 0;
}

export async function signCommand(args: string[]) {
  const { values, positionals } = parseCommandArgs(args, { key: { type: 'string' }, hex: { type: 'boolean', default: false }, out: { type: 'string' } }, 1);
  const manifestPath = positionals[0];
  const key = (await readFile(requireOption(values, 'key'), 'utf8')).trim();
  const signature = signSm2(await readFile(manifestPath), key);
  const out = values.out ?? manifestPath.replace(/\.json$/, '') + '.sig';
  await writeFile(out, values.hex ? `${Buffer.from(signature).toString('hex')}\n` : signature);
  console.log(`wrote ${out} (SM2, DER${values.hex ? ', hex' : ''}, user ID 1234567812345678)`);
  return 0;
}
