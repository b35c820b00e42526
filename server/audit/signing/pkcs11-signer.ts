// The console's signing key on a PKCS#11 token (SoftHSM2 in tests and the demo, an HSM in production): the key
// pair is generated on the token once, its private half sensitive and non-extractable, and every signature is
// made by the token. A process that reads the whole data folder finds no key to sign with.
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parsePublicKey } from '../../crypto/keys';
import type { AuditSigner } from './signer';

type Pkcs11js = typeof import('pkcs11js');
type Pkcs11 = InstanceType<Pkcs11js['PKCS11']>;

export interface Pkcs11Settings {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  tokenLabel: string;
  /** A slot id, when the label alone does not pick the token. */
  slot?: number;
  keyLabel: string;
  pin: string;
  /** Initialise a token with this label in a free slot when none exists (demo and tests only). */
  initToken: boolean;
}

// DER of the prime256v1 OID: the only curve every PKCS#11 token offers for ECDSA.
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const CKF_TOKEN_INITIALIZED = 0x400;
const P256_POINT_LENGTH = 65;

function loadPkcs11js(): Pkcs11js {
  try {
    return createRequire(import.meta.url)('pkcs11js') as Pkcs11js;
  } catch (error) {
    throw new Error(`a PKCS#11 module is configured but the pkcs11js package cannot be loaded (${(error as Error).message}): run npm ci`);
  }
}

// One initialised library per path and process: C_Initialize may run only once.
const libraries = new Map<string, { p: Pkcs11js; lib: Pkcs11 }>();

function library(module: string) {
  let entry = libraries.get(module);
  if (!entry) {
    const p = loadPkcs11js();
    const lib = new p.PKCS11();
    try {
      lib.load(module);
      lib.C_Initialize();
    } catch (error) {
      throw new Error(`the PKCS#11 library ${module} could not be loaded (${(error as Error).message}); check HOTPLANE_PKCS11_MODULE`);
    }
    entry = { p, lib };
    libraries.set(module, entry);
  }
  return entry;
}

/** Closes every PKCS#11 library this process opened (tests switch SoftHSM configurations between runs). */
export function closePkcs11Libraries(): void {
  for (const { lib } of libraries.values()) lib.C_Finalize();
  libraries.clear();
}

// Labels are 32 bytes padded with blanks (some bindings pad with NULs).
const tokenLabelOf = (lib: Pkcs11, slot: Buffer) => lib.C_GetTokenInfo(slot).label.replace(/[\0 ]+$/, '');

function findSlot(lib: Pkcs11, settings: Pkcs11Settings): Buffer | undefined {
  return lib.C_GetSlotList(true).find(
    (slot) => tokenLabelOf(lib, slot) === settings.tokenLabel && (settings.slot === undefined || slot.readUIntLE(0, slot.length) === settings.slot),
  );
}

function initialiseToken({ p, lib }: { p: Pkcs11js; lib: Pkcs11 }, settings: Pkcs11Settings): void {
  const free = lib.C_GetSlotList(true).find((slot) => (lib.C_GetTokenInfo(slot).flags & CKF_TOKEN_INITIALIZED) === 0);
  if (!free) throw new Error(`no PKCS#11 token is labelled ${settings.tokenLabel} and no free slot is left to initialise one`);
  // Nobody needs the security officer's PIN afterwards: the token exists only to hold this console's key.
  const soPin = randomBytes(24).toString('base64url');
  lib.C_InitToken(free, soPin, settings.tokenLabel.padEnd(32, ' '));
  const slot = findSlot(lib, settings);
  if (!slot) throw new Error(`the token ${settings.tokenLabel} was initialised but cannot be found again`);
  const session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
  try {
    lib.C_Login(session, p.CKU_SO, soPin);
    lib.C_InitPIN(session, settings.pin);
    lib.C_Logout(session);
  } finally {
    lib.C_CloseSession(session);
  }
}

function findObject(lib: Pkcs11, session: Buffer, template: { type: number; value: number | string }[]): Buffer | null {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function generateKeyPair({ p, lib }: { p: Pkcs11js; lib: Pkcs11 }, session: Buffer, label: string) {
  const id = randomBytes(16);
  lib.C_GenerateKeyPair(
    session,
    { mechanism: p.CKM_EC_KEY_PAIR_GEN },
    [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_VERIFY, value: true },
      { type: p.CKA_EC_PARAMS, value: P256_PARAMS },
      { type: p.CKA_LABEL, value: label },
      { type: p.CKA_ID, value: id },
    ],
    [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      { type: p.CKA_SIGN, value: true },
      { type: p.CKA_LABEL, value: label },
      { type: p.CKA_ID, value: id },
    ],
  );
}

// CKA_EC_POINT is the point wrapped in a DER OCTET STRING (some tokens give it bare).
function uncompressedPoint(ecPoint: Buffer): Buffer {
  if (ecPoint.length === P256_POINT_LENGTH + 2 && ecPoint[0] === 0x04 && ecPoint[1] === P256_POINT_LENGTH) return ecPoint.subarray(2);
  if (ecPoint.length === P256_POINT_LENGTH && ecPoint[0] === 0x04) return ecPoint;
  throw new Error(`the token's public key point is not an uncompressed P-256 point (${ecPoint.length} bytes)`);
}

function publicKeyOf({ p, lib }: { p: Pkcs11js; lib: Pkcs11 }, session: Buffer, handle: Buffer, where: string) {
  const [params, point] = lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_EC_PARAMS }, { type: p.CKA_EC_POINT }]);
  if (!Buffer.isBuffer(params.value) || !params.value.equals(P256_PARAMS)) {
    throw new Error(`${where} is not an EC P-256 key; Hotplane signs checkpoints with ECDSA P-256 on PKCS#11 tokens`);
  }
  const xy = uncompressedPoint(point.value as Buffer);
  const spki = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: xy.subarray(1, 33).toString('base64url'), y: xy.subarray(33).toString('base64url') },
    format: 'jwk',
  }).export({ format: 'pem', type: 'spki' });
  return parsePublicKey(spki.toString());
}

/** Opens the token, logs in, generates the key pair on first use, and signs with ECDSA P-256 over SHA-256. */
export function pkcs11Signer(settings: Pkcs11Settings): AuditSigner {
  const entry = library(settings.module);
  const { p, lib } = entry;
  if (!findSlot(lib, settings)) {
    if (!settings.initToken) {
      const labels = lib.C_GetSlotList(true).map((slot) => tokenLabelOf(lib, slot)).filter(Boolean);
      throw new Error(
        `no PKCS#11 token labelled ${settings.tokenLabel}${settings.slot === undefined ? '' : ` in slot ${settings.slot}`} in ${settings.module} ` +
          `(tokens: ${labels.join(', ') || 'none'}); initialise one (softhsm2-util --init-token) or set HOTPLANE_PKCS11_TOKEN`,
      );
    }
    initialiseToken(entry, settings);
  }
  const slot = findSlot(lib, settings)!;
  if (!lib.C_GetMechanismList(slot).includes(p.CKM_ECDSA)) {
    throw new Error(`the token ${settings.tokenLabel} offers no CKM_ECDSA mechanism; Hotplane needs ECDSA P-256 on it`);
  }
  const session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
  try {
    lib.C_Login(session, p.CKU_USER, settings.pin);
  } catch (error) {
    const code = (error as Error).message;
    if (!code.includes('CKR_USER_ALREADY_LOGGED_IN')) {
      lib.C_CloseSession(session);
      throw new Error(`logging in to the PKCS#11 token ${settings.tokenLabel} failed (${code}): check the PIN file or HOTPLANE_PKCS11_PIN`);
    }
  }
  const keyTemplate = (cls: number) => [
    { type: p.CKA_CLASS, value: cls },
    { type: p.CKA_LABEL, value: settings.keyLabel },
  ];
  if (!findObject(lib, session, keyTemplate(p.CKO_PRIVATE_KEY))) generateKeyPair(entry, session, settings.keyLabel);
  const privateKey = findObject(lib, session, keyTemplate(p.CKO_PRIVATE_KEY));
  const publicHandle = findObject(lib, session, keyTemplate(p.CKO_PUBLIC_KEY));
  if (!privateKey || !publicHandle) throw new Error(`the token ${settings.tokenLabel} holds no key pair labelled ${settings.keyLabel}`);
  const publicKey = publicKeyOf(entry, session, publicHandle, `the key ${settings.keyLabel} on ${settings.tokenLabel}`);
  return {
    algorithm: 'ecdsa-p256',
    publicKey,
    fingerprint: publicKey.fingerprint,
    custody: 'pkcs11',
    description: `PKCS#11 token ${settings.tokenLabel}, key ${settings.keyLabel} (${settings.module})`,
    sign(bytes) {
      lib.C_SignInit(session, { mechanism: p.CKM_ECDSA }, privateKey);
      // CKM_ECDSA signs a digest the caller made; the result is r‖s, 32 bytes each.
      return new Uint8Array(lib.C_Sign(session, createHash('sha256').update(bytes).digest(), Buffer.alloc(64)));
    },
  };
}
