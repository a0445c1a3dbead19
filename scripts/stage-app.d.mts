// Types of stage-app.mjs, for its test.
export const ROOT: string;
export const ABI_SPECIFIC: readonly string[];
export function packageOf(specifier: string): string | undefined;
export function runtimeImports(dirs: readonly string[]): string[];
export function dependencyClosure(lock: { packages: Record<string, unknown> }, names: readonly string[], root?: string): string[];
export function keepOnnxBinary(relPath: string, platform: string, arch: string): boolean;
export interface Staged {
  readonly platform: string;
  readonly arch: string;
  readonly modules: readonly string[];
  readonly worker: readonly string[];
  readonly rebuiltFor: string | null;
}
export function stage(o?: { root?: string; out?: string; platform?: string; arch?: string }): Staged;
export function rebuildForElectron(out: string, arch: string): Promise<string>;
export function stagedFresh(root?: string, out?: string): boolean;
