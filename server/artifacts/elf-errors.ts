// Errors for ELF input that cannot be inspected. Codes are stable strings: the upload preflight, the CLI
// and the audit log record them; messages are for people and say what is wrong and what to do.

export const ElfErrorCode = {
  NOT_ELF: 'NOT_ELF',
  TRUNCATED: 'TRUNCATED',
  UNSUPPORTED_CLASS: 'UNSUPPORTED_CLASS',
  UNSUPPORTED_ENCODING: 'UNSUPPORTED_ENCODING',
  MALFORMED: 'MALFORMED',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
} as const;
export type ElfErrorCode = (typeof ElfErrorCode)[keyof typeof ElfErrorCode];

export class ElfError extends Error {
  readonly code: ElfErrorCode;

  constructor(code: ElfErrorCode, message: string) {
    super(message);
    this.name = 'ElfError';
    this.code = code;
  }
}

const REBUILD_ADVICE = 'rebuild the shared object and upload it again';

export function truncated(what: string, end: number, fileSize: number): ElfError {
  return new ElfError(
    ElfErrorCode.TRUNCATED,
    `${what} ends at byte ${end} but the file has only ${fileSize} bytes: the file is truncated ` +
      `(an interrupted upload or copy?); upload the complete file`,
  );
}

export function malformed(what: string): ElfError {
  return new ElfError(ElfErrorCode.MALFORMED, `malformed ELF: ${what}; ${REBUILD_ADVICE}`);
}

// For input that is well-formed but far larger than any real module: inspecting it would cost memory
// or time an attacker controls.
export function limitExceeded(description: string): ElfError {
  return new ElfError(
    ElfErrorCode.LIMIT_EXCEEDED,
    `${description}; a real module never comes near this limit: ${REBUILD_ADVICE}`,
  );
}
