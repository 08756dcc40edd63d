import type { Whoami } from './api';

export function AuditView({ me }: { me: Whoami }) {
  return <p>{me.role}</p>;
}
