// SM2 recommended curve parameters (GM/T 0003.5-2012). Pure.

export const SM2_P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
export const SM2_A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
export const SM2_B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
export const SM2_N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
export const SM2_GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
export const SM2_GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

/** Bytes in a field element or scalar. */
export const SM2_SCALAR_LENGTH = 32;

/** GM/T 0009 default signer ID: both sides must use the same one, it is hashed into Z_A. */
export const SM2_DEFAULT_USER_ID = '1234567812345678';

/** Coordinates in [0, p) and y² ≡ x³ + ax + b (mod p). */
export function isOnSm2Curve(x: bigint, y: bigint): boolean {
  if (x < 0n || x >= SM2_P || y < 0n || y >= SM2_P) return false;
  return (y * y - (x * x * x + SM2_A * x + SM2_B)) % SM2_P === 0n;
}
