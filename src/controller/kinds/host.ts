/**
 * Hosts: every Host that exists when a tenant is deleted must confirm it dropped the tenant before the
 * tenant's VNI is handed out again (vni-retirement.ts). So the set of hosts is part of a tenant
 * deletion's txn, and a host's status write carries its confirmations.
 */
import type { CarriedReport } from '../../core/ipam/vni-retirement';
import { confirmCarriedVnis, forgetDeletedHost, touchHostSet } from '../vni-retirement';
import type { KindStrategy } from '../write-engine';

export const hostStrategy: KindStrategy = {
  async createEffects(engine, b) {
    await touchHostSet(engine.store, b);
  },

  async deleteEffects(engine, b, object) {
    await forgetDeletedHost(engine.store, b, object.metadata.name);
  },

  async statusEffects(engine, b, _before, after) {
    await confirmCarriedVnis(engine.store, b, after.metadata.name, after.status as CarriedReport);
  },
};
