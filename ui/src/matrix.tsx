import type { Whoami } from './api';

export function MatrixView({ me }: { me: Whoami }) {
  return <p>{me.role}</p>;
}
