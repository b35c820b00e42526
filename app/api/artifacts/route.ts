import { handleUploadRequest } from '@/server/artifacts/upload-http';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return handleUploadRequest(request);
}
