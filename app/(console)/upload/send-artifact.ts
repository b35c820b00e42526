import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES } from '@/server/artifacts/side-file-limits';
import type { ArtifactFiles } from './classify-files';

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// XMLHttpRequest rather than fetch: only it reports upload progress. The .so is the raw body (streamed by
// the browser), the small manifest and signature ride in headers — see server/artifacts/upload-http.ts.
// `onSent` marks the last byte leaving: from then on the console is verifying, not receiving.
export async function sendArtifact(files: ArtifactFiles, onProgress: (fraction: number) => void, onSent: () => void) {
  const manifest = new Uint8Array(await files.manifest.arrayBuffer());
  const signature = new Uint8Array(await files.signature.arrayBuffer());
  return new Promise<{ message: string } & Record<string, unknown>>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/api/artifacts');
    request.setRequestHeader('content-type', 'application/octet-stream');
    request.setRequestHeader('x-hotplane-file-name', encodeURIComponent(files.so.name));
    request.setRequestHeader('x-hotplane-manifest-name', encodeURIComponent(files.manifest.name));
    request.setRequestHeader('x-hotplane-signature-name', encodeURIComponent(files.signature.name));
    request.setRequestHeader('x-hotplane-manifest', toBase64(manifest));
    request.setRequestHeader('x-hotplane-signature', toBase64(signature));
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.upload.onload = onSent;
    request.onload = () => {
      // Node answers this itself, before the upload route sees the request: there is no report.
      if (request.status === 431) {
        reject(new Error(`the manifest or signature is too large to send (HTTP 431): they may be at most ${MAX_MANIFEST_BYTES} and ${MAX_SIGNATURE_BYTES} bytes; choose the right files`));
        return;
      }
      try {
        resolve(JSON.parse(request.responseText));
      } catch {
        reject(new Error(`the console answered ${request.status} without a report; try again`));
      }
    };
    request.onerror = () => reject(new Error('the upload was interrupted; check the connection and try again'));
    request.send(files.so);
  });
}
