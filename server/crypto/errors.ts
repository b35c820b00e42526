// Error types for key and signature input. Pure (no node: imports) so the browser can share them.
// Codes are stable strings: the API, the CLI and the audit log record them; messages are for people.

export const KeyErrorCode = {
  EMPTY: 'EMPTY',
  UNRECOGNISED_FORMAT: 'UNRECOGNISED_FORMAT',
  PEM_MALFORMED: 'PEM_MALFORMED',
  PRIVATE_KEY_GIVEN: 'PRIVATE_KEY_GIVEN',
  PUBLIC_KEY_GIVEN: 'PUBLIC_KEY_GIVEN',
  ENCRYPTED_PRIVATE_KEY: 'ENCRYPTED_PRIVATE_KEY',
  DER_MALFORMED: 'DER_MALFORMED',
  UNSUPPORTED_ALGORITHM: 'UNSUPPORTED_ALGORITHM',
  UNSUPPORTED_CURVE: 'UNSUPPORTED_CURVE',
  HEX_WRONG_LENGTH: 'HEX_WRONG_LENGTH',
  POINT_NOT_UNCOMPRESSED: 'POINT_NOT_UNCOMPRESSED',
  POINT_NOT_ON_CURVE: 'POINT_NOT_ON_CURVE',
  PRIVATE_KEY_OUT_OF_RANGE: 'PRIVATE_KEY_OUT_OF_RANGE',
  PRIVATE_KEY_MISMATCH: 'PRIVATE_KEY_MISMATCH',
} as const;
export type KeyErrorCode = (typeof KeyErrorCode)[keyof typeof KeyErrorCode];

export class KeyError extends Error {
  readonly code: KeyErrorCode;

  constructor(code: KeyErrorCode, message: string) {
    super(message);
    this.name = 'KeyError';
    this.code = code;
  }
}

export const SignatureErrorCode = {
  EMPTY: 'EMPTY',
  HEX_ODD_LENGTH: 'HEX_ODD_LENGTH',
  RAW_WRONG_LENGTH: 'RAW_WRONG_LENGTH',
  DER_MALFORMED: 'DER_MALFORMED',
  DER_TRAILING_BYTES: 'DER_TRAILING_BYTES',
  DER_NON_MINIMAL_LENGTH: 'DER_NON_MINIMAL_LENGTH',
  DER_NON_MINIMAL_INTEGER: 'DER_NON_MINIMAL_INTEGER',
  DER_NEGATIVE_INTEGER: 'DER_NEGATIVE_INTEGER',
  SCALAR_ZERO: 'SCALAR_ZERO',
  SCALAR_OUT_OF_RANGE: 'SCALAR_OUT_OF_RANGE',
  UNSUPPORTED_ALGORITHM: 'UNSUPPORTED_ALGORITHM',
  MISMATCH: 'MISMATCH',
  SM2_EMPTY_USER_ID: 'SM2_EMPTY_USER_ID',
  HEX_0X_PREFIX: 'HEX_0X_PREFIX',
} as const;
export type SignatureErrorCode = (typeof SignatureErrorCode)[keyof typeof SignatureErrorCode];

export class SignatureError extends Error {
  readonly code: SignatureErrorCode;

  constructor(code: SignatureErrorCode, message: string) {
    super(message);
    this.name = 'SignatureError';
    this.code = code;
  }
}
