import type { Whoami } from './api';

export function HistoryView({ me }: { me: Whoami }) {
  return <p>{me.role}</p>;
}
