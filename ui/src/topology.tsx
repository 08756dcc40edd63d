import type { Whoami } from './api';

export function TopologyView({ me }: { me: Whoami }) {
  return <p>{me.role}</p>;
}
