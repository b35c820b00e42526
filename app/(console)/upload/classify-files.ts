export interface ArtifactFiles {
  so: File;
  manifest: File;
  signature: File;
}

// Sorts dropped files into the three roles by their names, so they can be dropped together in any order.
export function classifyArtifactFiles(dropped: File[], current: Partial<ArtifactFiles>) {
  const files = { ...current };
  const unknown: string[] = [];
  for (const file of dropped) {
    if (file.name.endsWith('.manifest.json')) files.manifest = file;
    else if (file.name.endsWith('.manifest.sig')) files.signature = file;
    else if (/\.so(\.\d+)*$/.test(file.name)) files.so = file;
    else unknown.push(file.name);
  }
  const problem = unknown.length
    ? `Not part of an artifact: ${unknown.join(', ')}. Expected name.so, name.so.manifest.json and name.so.manifest.sig.`
    : null;
  return { files, problem };
}
