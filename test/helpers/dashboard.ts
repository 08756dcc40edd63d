/**
 * The Grafana dashboard shipped in docs/dashboards/tenet.json (docs/observability.md, "Dashboard"):
 * its panels' PromQL expressions and the metric names they use, and the sample names of a Prometheus
 * text exposition, so a test can hold the one against what a running agent and controller expose.
 */
import fs from 'node:fs';
import path from 'node:path';

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export const DASHBOARD_PATH = path.join(repoRoot(), 'docs', 'dashboards', 'tenet.json');
export const ROOT = repoRoot();

interface Target {
  expr?: string;
}
interface PanelLike {
  type: string;
  title?: string;
  targets?: Target[];
  panels?: PanelLike[];
}

export function dashboardText(): string {
  return fs.readFileSync(DASHBOARD_PATH, 'utf8');
}

/** Every panel (rows' nested panels too) with its expressions. */
export function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  const dashboard = JSON.parse(dashboardText()) as { panels: PanelLike[] };
  const out: Array<{ panel: string; expr: string }> = [];
  const visit = (panels: PanelLike[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ panel: p.title ?? p.type, expr: t.expr });
      visit(p.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return out;
}

/** The metrics Tenet exposes are named tenet_*, process_* and nodejs_* (prom-client's process metrics). */
export const METRIC_NAME = /\b(?:tenet|process|nodejs)_[a-zA-Z0-9_]+\b/g;

/** Metric names used by the dashboard's expressions. */
export function dashboardMetricNames(): Set<string> {
  return new Set(dashboardExpressions().flatMap(({ expr }) => expr.match(METRIC_NAME) ?? []));
}

/** Sample names in a Prometheus text exposition (histograms' `_bucket`, `_sum`, `_count` as they appear). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
    if (name) names.add(name);
  }
  return names;
}
