/**
 * Policy matrix: the tenant's groups (or a label's values) × themselves for one port at a time, each
 * cell allowed / denied / mixed as the controller judges it (GET .../policymatrix: the compiler and
 * walker of `tenet explain`), the deciding rules on hover. Policies switched off show, cell by cell,
 * what would change. Refreshed from the watch stream when policy, groups or endpoints change.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, follow, type List, type TenetObject, type Whoami } from './api';
import type { MatrixCell, PolicyMatrix } from '../../src/core/policy/matrix';
import { describeDecision } from '../../src/core/policy/explain';
import { TenantPicker } from './tenant-picker';

function portText(port: { protocol: string; port?: number }): string {
  return `${port.protocol}${port.port !== undefined ? `/${port.port}` : ''}`;
}

function cellText(cell: MatrixCell): string {
  if (cell.verdict === 'empty') return 'no flow';
  const lines = [`${cell.verdict}: ${cell.allowed} pair(s) allowed, ${cell.denied} denied`];
  for (const e of cell.examples)
    lines.push(
      `${e.from} -> ${e.to}: ${e.allowed ? 'ALLOWED' : 'DENIED'}`,
      `  ${describeDecision('egress', e.egress)}`,
      `  ${describeDecision('ingress', e.ingress)}`,
    );
  return lines.join('\n');
}

const MARK: Record<MatrixCell['verdict'], string> = { allow: '✓', deny: '✕', mixed: '±', empty: '' };

export function MatrixView({ me }: { me: Whoami }) {
  const [tenant, setTenant] = useState(me.tenant ?? '');
  const [label, setLabel] = useState('');
  const [ports, setPorts] = useState('');
  // What is typed; taken on Enter or leaving the field (not on every key: each take asks the controller).
  const [labelDraft, setLabelDraft] = useState('');
  const [portsDraft, setPortsDraft] = useState('');
  const [portIndex, setPortIndex] = useState(0);
  /** With no ports typed: the suggested port picked (the controller judges one port per answer then). */
  const [chosen, setChosen] = useState('');
  const [off, setOff] = useState<string[]>([]);
  const [policies, setPolicies] = useState<string[]>([]);
  const [matrix, setMatrix] = useState<PolicyMatrix | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [picked, setPicked] = useState<{ row: number; column: number } | undefined>();
  const [changes, setChanges] = useState(0);

  useEffect(() => {
    if (!tenant) return;
    const lists = [api<List>('GET', `/api/v1/tenants/${encodeURIComponent(tenant)}/policies`)];
    if (me.role === 'admin') lists.push(api<List>('GET', '/api/v1/globalpolicies'));
    Promise.all(lists)
      .then((answers) => setPolicies(answers.flatMap((a) => a.items.map((p) => `${p.kind}/${p.metadata.name}`))))
      .catch(() => setPolicies([]));
  }, [tenant, changes]);

  // Any change that can move a verdict refreshes the matrix (debounced: a big apply is one refresh).
  useEffect(() => {
    if (!tenant) return;
    const kinds = ['Policy', 'Group', 'Endpoint', 'Scope', 'Network', 'Tenant', ...(me.role === 'admin' ? ['GlobalPolicy'] : [])].join(',');
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const start = async () => {
      const { revision } = await api<{ revision: number }>('GET', `/api/v1/snapshot?kinds=Tenant`);
      await follow(
        `/api/v1/watch?kinds=${kinds}`,
        revision,
        (event) => {
          const object = event.object as TenetObject | undefined;
          if (object && object.kind !== 'GlobalPolicy' && object.kind !== 'Tenant' && object.metadata.tenant !== tenant) return;
          clearTimeout(timer);
          timer = setTimeout(() => setChanges((n) => n + 1), 150);
        },
        abort.signal,
        () => setChanges((n) => n + 1),
      );
    };
    start().catch((error: Error) => setProblem(error.message));
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [tenant]);

  useEffect(() => {
    if (!tenant) return;
    const query = new URLSearchParams();
    if (label.trim()) query.set('label', label.trim());
    if (ports.trim()) query.set('ports', ports.replace(/\s+/g, ''));
    else if (chosen) query.set('ports', chosen);
    if (off.length > 0) query.set('off', off.join(','));
    const text = query.toString();
    api<PolicyMatrix>('GET', `/api/v1/tenants/${encodeURIComponent(tenant)}/policymatrix${text ? `?${text}` : ''}`)
      .then((answer) => {
        setMatrix(answer);
        setProblem(undefined);
        setPortIndex((i) => (i < answer.ports.length ? i : 0));
      })
      .catch((error: Error) => setProblem(error.message));
  }, [tenant, label, ports, chosen, off, changes]);

  const grid = matrix?.cells;
  const preview = matrix?.preview?.cells;
  const changed = useMemo(() => {
    if (!grid || !preview) return 0;
    let n = 0;
    grid.forEach((row, r) =>
      row.forEach((column, c) => column.forEach((cell, p) => (cell.verdict !== preview[r][c][p].verdict ? n++ : 0))),
    );
    return n;
  }, [grid, preview]);

  const pickedCell = picked && grid ? grid[picked.row][picked.column][portIndex] : undefined;
  const pickedPreview = picked && preview ? preview[picked.row][picked.column][portIndex] : undefined;
  return (
    <div class="matrix-view">
      <div class="matrix-controls">
        <TenantPicker me={me} value={tenant} onChange={setTenant} />
        <label>
          rows{' '}
          <input
            placeholder="groups (or a label key, e.g. app)"
            value={labelDraft}
            onInput={(e) => setLabelDraft(e.currentTarget.value)}
            onChange={() => setLabel(labelDraft)}
            aria-label="label"
          />
        </label>
        <label>
          ports{' '}
          <input
            placeholder="the ports the policies name"
            value={portsDraft}
            onInput={(e) => setPortsDraft(e.currentTarget.value)}
            onChange={() => setPorts(portsDraft)}
            aria-label="ports"
          />
        </label>
        {matrix && (
          <label>
            showing{' '}
            {ports.trim() ? (
              <select aria-label="port" value={portIndex} onChange={(e) => setPortIndex(Number(e.currentTarget.value))}>
                {matrix.ports.map((p, i) => (
                  <option key={i} value={i}>
                    {portText(p)}
                  </option>
                ))}
              </select>
            ) : (
              <select aria-label="port" value={portText(matrix.ports[0])} onChange={(e) => setChosen(e.currentTarget.value)}>
                {matrix.suggestedPorts.map((p) => (
                  <option key={portText(p)} value={portText(p)}>
                    {portText(p)}
                  </option>
                ))}
              </select>
            )}
          </label>
        )}
        <fieldset class="off">
          <legend>preview with these switched off</legend>
          {policies.length === 0 && <span class="hint">no policies</span>}
          {policies.map((p) => (
            <label key={p}>
              <input
                type="checkbox"
                data-policy={p}
                checked={off.includes(p)}
                onChange={(e) => setOff((list) => (e.currentTarget.checked ? [...list, p] : list.filter((x) => x !== p)))}
              />{' '}
              {p}
            </label>
          ))}
        </fieldset>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <p class="legend">
        <span style={{ background: 'var(--allow)' }} />
        allowed
        <span style={{ background: 'var(--deny)' }} />
        denied
        <span style={{ background: 'var(--mixed)' }} />
        some pairs allowed, some denied
        <span style={{ background: '#e3e6ea' }} />
        no flow
        {preview && <strong class="changed-count"> · {changed} cell(s) would change (outlined; drawn as they would be)</strong>}
      </p>
      {matrix && grid && (
        <div class="matrix-wrap">
          {matrix.rows.length === 0 && <p class="hint">No groups in this tenant{label ? ' carry that label' : ''}: nothing to show.</p>}
          <table class="matrix" data-port={portText(matrix.ports[portIndex] ?? { protocol: '' })}>
            <thead>
              <tr>
                <th>from \ to</th>
                {matrix.rows.map((r) => (
                  <th key={r.name} class="col">
                    {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {matrix.rows.map((row, r) => (
                <tr key={row.name}>
                  <th>
                    {row.name} <span class="hint">({row.members})</span>
                  </th>
                  {matrix.rows.map((column, c) => {
                    const now = grid[r][c][portIndex];
                    const then = preview?.[r][c][portIndex];
                    const shown = then ?? now;
                    const differs = then !== undefined && then.verdict !== now.verdict;
                    return (
                      <td
                        key={column.name}
                        class={`cell ${shown.verdict}${differs ? ' changed' : ''}`}
                        data-from={row.name}
                        data-to={column.name}
                        data-verdict={now.verdict}
                        data-preview={then?.verdict ?? ''}
                        title={`${row.name} -> ${column.name} ${portText(matrix.ports[portIndex])}\n${cellText(now)}${differs && then ? `\n\nwith the preview: ${cellText(then)}` : ''}`}
                        onClick={() => setPicked({ row: r, column: c })}
                      >
                        {MARK[shown.verdict]}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {matrix.truncated && (
            <p class="hint">The tenant has more groups or endpoint classes than the matrix judges; some are left out.</p>
          )}
        </div>
      )}
      {picked && pickedCell && matrix && (
        <div class="cell-detail">
          <h4>
            {matrix.rows[picked.row].name} → {matrix.rows[picked.column].name} {portText(matrix.ports[portIndex])}
          </h4>
          <pre>{cellText(pickedCell)}</pre>
          {pickedPreview && pickedPreview.verdict !== pickedCell.verdict && (
            <pre class="preview-text">with the preview: {cellText(pickedPreview)}</pre>
          )}
        </div>
      )}
    </div>
  );
}
