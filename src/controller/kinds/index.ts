/** The strategy of each kind that has rules of its own; the others (groups, scopes) are written as they are. */
import type { StrategyTable } from '../write-engine';
import { tenantStrategy } from './tenant';
import { networkStrategy } from './network';
import { endpointStrategy } from './endpoint';
import { policyStrategy } from './policy';
import { hostStrategy } from './host';
import { serviceStrategy } from './service';
import { floatingIPStrategy } from './floating-ip';

export const STRATEGIES: StrategyTable = {
  Tenant: tenantStrategy,
  Network: networkStrategy,
  Endpoint: endpointStrategy,
  Policy: policyStrategy,
  GlobalPolicy: policyStrategy,
  Host: hostStrategy,
  Service: serviceStrategy,
  FloatingIP: floatingIPStrategy,
};
