/** The versions of a module that a change request may target: only accepted artifacts can be rolled out. */
export function acceptedVersions(module: { versions: { version: string; status: string }[] } | undefined): string[] {
  return module?.versions.filter((v) => v.status === 'accepted').map((v) => v.version) ?? [];
}
