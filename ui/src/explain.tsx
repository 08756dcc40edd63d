import type { Whoami } from './api';

export function ExplainView({ me }: { me: Whoami }) {
  return <p>{me.role}</p>;
}
