import 'server-only';
import { can } from '../auth/permissions';
import { actorOf, isCrossOriginRequest, resolveSessionUser } from '../auth/session';
import { consoleOrigin } from '../auth/auth';
import { db } from '../db/client';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError, DomainErrorCode } from '../errors';
import { acceptUpload, type UploadResult } from './upload';

// HTTP face of the upload pipeline: the .so streams as the raw request body (so 256 MiB never sits in
// memory), the small manifest and signature travel base64-encoded in headers. Used by the console's
// upload page and by `hotplane push`. Documented in docs/upload-api.md.

export const UPLOAD_HEADERS = {
  soName: 'x-hotplane-file-name',
  manifest: 'x-hotplane-manifest',
  manifestName: 'x-hotplane-manifest-name',
  signature: 'x-hotplane-signature',
  signatureName: 'x-hotplane-signature-name',
} as const;

function problem(code: DomainErrorCode, message: string) {
  return Response.json({ error: code, message }, { status: DOMAIN_ERROR_HTTP_STATUS[code] });
}

function decodeHeader(headers: Headers, name: string): Uint8Array {
  const value = headers.get(name);
  if (!value) throw new DomainError(DomainErrorCode.InvalidInput, `header ${name} is missing: send the manifest and its signature with the .so`);
  if (!/^[A-Za-z0-9+/=\s]*$/.test(value)) throw new DomainError(DomainErrorCode.InvalidInput, `header ${name} is not base64`);
  return Buffer.from(value, 'base64');
}

// A name that is not valid percent-encoding is the client's mistake (400), not a server fault.
function decodeFileName(name: string, header: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    throw new DomainError(DomainErrorCode.InvalidInput, `header ${header} is not valid percent-encoding: send encodeURIComponent(<file name>)`);
  }
}

// Over the size cap is still a recorded rejection with its report, but answered 413 so clients and proxies see
// the standard status for a body that is too large.
function statusOf(result: UploadResult): number {
  if (result.outcome === 'accepted') return 201;
  if (result.outcome === 'duplicate') return 200;
  if (result.badRequest) return 400;
  if (result.conflict) return 409;
  return result.checks.some((c) => c.check === 'size-limit' && c.status === 'fail') ? 413 : 422;
}

export async function handleUploadRequest(request: Request): Promise<Response> {
  const user = await resolveSessionUser(request.headers);
  if (!user) return problem(DomainErrorCode.Unauthenticated, 'sign in, or send Authorization: Bearer <API token>');
  if (user.via === 'cookie' && isCrossOriginRequest(request.headers, consoleOrigin())) {
    return problem(DomainErrorCode.CrossOrigin, 'cross-origin request refused: upload from the console itself');
  }
  if (!can(user.roles, 'artifacts.upload')) {
    return problem(DomainErrorCode.Forbidden, `your roles (${user.roles.join(', ') || 'none'}) do not include the right "artifacts.upload"`);
  }
  if (!request.body) return problem(DomainErrorCode.InvalidInput, 'the request body must be the .so file');
  try {
    const headers = request.headers;
    const soName = headers.get(UPLOAD_HEADERS.soName) ?? '';
    const result = await acceptUpload(db(), actorOf(user), {
      source: request.body,
      manifestBytes: decodeHeader(headers, UPLOAD_HEADERS.manifest),
      signatureBytes: decodeHeader(headers, UPLOAD_HEADERS.signature),
      fileNames: {
        so: decodeFileName(soName, UPLOAD_HEADERS.soName),
        manifest: decodeFileName(headers.get(UPLOAD_HEADERS.manifestName) ?? `${soName}.manifest.json`, UPLOAD_HEADERS.manifestName),
        signature: decodeFileName(headers.get(UPLOAD_HEADERS.signatureName) ?? `${soName}.manifest.sig`, UPLOAD_HEADERS.signatureName),
      },
    });
    return Response.json(result, { status: statusOf(result) });
  } catch (error) {
    if (error instanceof DomainError) return problem(error.code, error.message);
    throw error;
  }
}
