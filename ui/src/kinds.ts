/** The kinds the API serves, from the one registry the controller and CLI use (names, plurals, scope). */
import { KINDS as ALL } from '../../src/core/model/registry';

export interface UiKind {
  kind: string;
  plural: string;
  tenantScoped: boolean;
  intent: boolean;
}

export const KINDS: readonly UiKind[] = ALL.map(({ kind, plural, tenantScoped, intent }) => ({ kind, plural, tenantScoped, intent }));

export function kindByName(kind: string): UiKind | undefined {
  return KINDS.find((k) => k.kind === kind);
}
