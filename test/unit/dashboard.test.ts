/**
 * The Grafana dashboard in docs/dashboards/tenet.json is a valid dashboard of Grafana's own schema: it
 * is type-checked with tsc against @grafana/schema's `Dashboard` and, panel by panel, against the
 * options and field config of its panel type (timeseries, stat), the string enums of those types taken
 * as the strings a JSON file holds. Its expressions use only the variables it defines, and every one
 * names at least one of Tenet's metrics (that each name is really exposed is checked against a running
 * agent and controller in test/kernel/flows/flows.test.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import ts from 'typescript';
import { dashboardExpressions, dashboardText, METRIC_NAME, ROOT } from '../helpers/dashboard';

const SCHEMA = '@grafana/schema/dist/esm/raw/composable';

/** A check program: `const dashboard: Checked = <the JSON>;` with Grafana's types. */
function checkSource(json: string): string {
  return `
import type { Dashboard, RowPanel, Panel, FieldConfigSource } from '@grafana/schema';
import type { Options as TimeSeriesOptions, FieldConfig as TimeSeriesFieldConfig } from '${SCHEMA}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type { Options as StatOptions } from '${SCHEMA}/stat/panelcfg/x/StatPanelCfg_types.gen';

// JSON holds a string enum's values as strings: \`\${E}\` is the union of E's values.
type Json<T> = T extends string
  ? \`\${T}\`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

type Typed<K extends string, O, C> = Json<Omit<Panel, 'type' | 'options' | 'fieldConfig'>> & {
  type: K;
  options: Json<O>;
  fieldConfig: Json<Omit<FieldConfigSource, 'defaults'>> & { defaults: Json<Omit<FieldConfigSource['defaults'], 'custom'>> & { custom?: Json<C> } };
};
type TimeSeriesPanel = Typed<'timeseries', TimeSeriesOptions, TimeSeriesFieldConfig>;
type StatPanel = Typed<'stat', StatOptions, never>;
type Row = Json<Omit<RowPanel, 'panels'>> & { type: 'row'; panels: Array<TimeSeriesPanel | StatPanel> };

type Checked = Json<Omit<Dashboard, 'panels'>> & { panels: Array<TimeSeriesPanel | StatPanel | Row> };

export const dashboard: Checked = ${json};
`;
}

function typeErrors(source: string): string[] {
  const file = path.join(ROOT, 'test', '__dashboard_check__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.fileExists = (name) => name === file || fileExists(name);
  host.getSourceFile = (name, version, onError, create) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError, create);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

test('the dashboard type-checks against Grafana schema types (and a broken one does not)', () => {
  const text = dashboardText();
  const errors = typeErrors(checkSource(text));
  assert.deepEqual(errors, [], errors.join('\n\n').slice(0, 4000));
  // The check can fail: a misspelled field, a wrong enum value, a missing required option.
  const dashboard = JSON.parse(text) as { panels: Array<Record<string, unknown>> };
  const broken = (edit: (d: typeof dashboard) => void): string[] => {
    const copy = JSON.parse(text) as typeof dashboard;
    edit(copy);
    return typeErrors(checkSource(JSON.stringify(copy)));
  };
  const timeseries = dashboard.panels.findIndex((p) => p.type === 'timeseries');
  const stat = dashboard.panels.findIndex((p) => p.type === 'stat');
  assert.ok(timeseries >= 0 && stat >= 0);
  assert.notDeepEqual(
    broken((d) => ((d.panels[timeseries].options as { tooltip: { mode: string } }).tooltip.mode = 'sometimes')),
    [],
  );
  assert.notDeepEqual(
    broken((d) => delete (d.panels[stat].options as { colorMode?: string }).colorMode),
    [],
  );
  assert.notDeepEqual(
    broken((d) => ((d.panels[timeseries] as { gridPos: unknown }).gridPos = { h: 8, width: 12, x: 0, y: 0 })),
    [],
  );
  assert.notDeepEqual(
    broken((d) => ((d as unknown as { graphTooltip: string }).graphTooltip = 'shared')),
    [],
  );
});

test('the dashboard: unique ids, no overlapping panels, only its own variables, every expression on Tenet metrics', () => {
  const dashboard = JSON.parse(dashboardText()) as {
    uid: string;
    panels: Array<{ id: number; type: string; title: string; gridPos: { h: number; w: number; x: number; y: number } }>;
    templating: { list: Array<{ name: string }> };
  };
  assert.match(dashboard.uid, /^[a-z0-9-]{1,40}$/);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const cells = new Map<string, string>();
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24 columns`);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const key = `${x},${y}`;
        assert.ok(!cells.has(key), `${p.title} overlaps ${cells.get(key)}`);
        cells.set(key, p.title);
      }
  }
  const variables = new Set(['__rate_interval', ...dashboard.templating.list.map((v) => v.name)]);
  const expressions = dashboardExpressions();
  assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
  for (const { panel, expr } of expressions) {
    for (const [, name] of expr.matchAll(/\$\{?([a-zA-Z_]+)/g)) assert.ok(variables.has(name), `${panel}: unknown variable $${name}`);
    assert.ok((expr.match(METRIC_NAME) ?? []).length > 0, `${panel}: ${expr} names none of Tenet's metrics`);
  }
});
