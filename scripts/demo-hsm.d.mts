export const SOFTHSM_MODULE: string;
export function prepareDemoHsm(env: NodeJS.ProcessEnv, root: string): void;
