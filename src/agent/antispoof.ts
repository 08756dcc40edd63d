/**
 * The antispoofing producer: its fragment of each tenant router namespace's table comes from the pure
 * core (src/core/dataplane/antispoof.ts); it keeps nothing between passes.
 */
import { antispoofProgram } from '../core/dataplane/antispoof';
import type { TableProducer } from './nft/programmer';

export const antispoofProducer: TableProducer = {
  name: 'antispoof',
  fragment: (_ns, _view, tenant, excluded) => antispoofProgram(tenant, excluded),
};
