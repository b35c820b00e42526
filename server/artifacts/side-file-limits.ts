// The manifest and signature travel base64-encoded in headers, and Node refuses a request whose headers pass 16 KiB
// with a bare 431: these limits keep both files, encoded, well inside that, so an oversized one gets a report that
// names its limit. An SM2 signature is at most 72 bytes (144 hex digits); a manifest is under 1 KiB.
export const MAX_MANIFEST_BYTES = 8 * 1024;
export const MAX_SIGNATURE_BYTES = 2 * 1024;
