/**
 * prom-client's process and Node.js metrics for the agent's and the controller's registries, less its
 * gauges named `_total` (`nodejs_active_handles_total` and the like): a gauge must not end in `_total`
 * (`promtool check metrics` refuses them), and the same counts are in `nodejs_active_handles` and the like.
 */
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

export function withProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    if (name.endsWith('_total') && metric instanceof Gauge) registry.removeSingleMetric(name);
  }
}
