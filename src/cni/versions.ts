/**
 * CNI spec versions tenet-cni speaks, and which commands each one knows.
 * 0.4.0 introduced CHECK; 1.1.0 introduced STATUS and GC (SPEC.md v1.1.0, section 2).
 */
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION' | 'GC';
export const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC'];

export function isSupportedVersion(value: unknown): value is CniVersion {
  return typeof value === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(value);
}

export function isCommand(value: unknown): value is CniCommand {
  return typeof value === 'string' && (COMMANDS as readonly string[]).includes(value);
}

/** Semantic-version comparison of plain x.y.z strings; missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The first spec version that defines a command. */
export function introducedIn(command: CniCommand): string {
  switch (command) {
    case 'CHECK':
      return '0.4.0';
    case 'STATUS':
    case 'GC':
      return '1.1.0';
    default:
      return '0.1.0';
  }
}

export function commandAllowed(command: CniCommand, version: string): boolean {
  return compareVersions(version, introducedIn(command)) >= 0;
}
