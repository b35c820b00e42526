// Domain errors: one enum, mapped to transport codes in one place (server/api/trpc.ts, the route handlers).
export enum DomainErrorCode {
  NotFound = 'NOT_FOUND',
  InvalidInput = 'INVALID_INPUT',
  Conflict = 'CONFLICT',
  Forbidden = 'FORBIDDEN',
  Unauthenticated = 'UNAUTHENTICATED',
  CrossOrigin = 'CROSS_ORIGIN',
  ArtifactRejected = 'ARTIFACT_REJECTED',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  /** Nothing was done and trying again later may work (the database is locked elsewhere). */
  Unavailable = 'UNAVAILABLE',
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const DOMAIN_ERROR_HTTP_STATUS: Record<DomainErrorCode, number> = {
  [DomainErrorCode.NotFound]: 404,
  [DomainErrorCode.InvalidInput]: 400,
  [DomainErrorCode.Conflict]: 409,
  [DomainErrorCode.Forbidden]: 403,
  [DomainErrorCode.Unauthenticated]: 401,
  [DomainErrorCode.CrossOrigin]: 403,
  [DomainErrorCode.ArtifactRejected]: 422,
  [DomainErrorCode.PayloadTooLarge]: 413,
  [DomainErrorCode.Unavailable]: 503,
};
