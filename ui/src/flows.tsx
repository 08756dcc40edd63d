/**
 * Flows: a live tail of the flow and deny records the agents reported (`tenet flows -w`). The API has
 * no stream for them, so the view does what the CLI does: one read with the filters, then once a
 * second what came after the last record number seen. The API narrows a tenant role to its tenant.
 */
import { useEffect, useState } from 'preact/hooks';
import type { FlowRecord } from '../../src/core/flows/record-types';
import { countsText, peerText, rulesText, serviceText, verdictWord } from '../../src/core/flows/describe';
import { api, ApiError, type Whoami } from './api';

/** The API's message and, for a refused query, which filter it refused and why. */
const said = (error: Error): string =>
  error instanceof ApiError && error.details.length > 0 ? `${error.message}: ${error.details.join('; ')}` : error.message;

interface FlowsAnswer {
  items: FlowRecord[];
  seq: number;
  truncated: boolean;
  dropped?: { controllerEvicted: number; hosts: Record<string, { evicted: number; lostLog: number; lostConntrack: number }> };
}

interface Filters {
  tenant: string;
  from: string;
  to: string;
  verdict: string;
  since: string;
}

/** Records kept on the page: the newest; older ones are still in the controller's ring. */
const KEEP = 1000;
const POLL_MS = 1000;

function query(filters: Filters, after?: number): string {
  const q = new URLSearchParams();
  for (const key of ['tenant', 'from', 'to', 'verdict'] as const) if (filters[key]) q.set(key, filters[key]);
  // Watching asks by record number only, as `tenet flows -w` does.
  if (after !== undefined) q.set('after', String(after));
  else {
    if (filters.since) q.set('since', filters.since);
    q.set('limit', String(KEEP));
  }
  return q.toString();
}

function FilterInput({
  name,
  value,
  placeholder,
  disabled,
  onSet,
}: {
  name: string;
  value: string;
  placeholder: string;
  disabled?: boolean;
  onSet: (v: string) => void;
}) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <label>
      {name}{' '}
      <input
        aria-label={name}
        value={draft}
        disabled={disabled}
        placeholder={placeholder}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onChange={() => onSet(draft.trim())}
      />
    </label>
  );
}

export function FlowsView({ me }: { me: Whoami }) {
  const [filters, setFilters] = useState<Filters>({ tenant: me.tenant ?? '', from: '', to: '', verdict: '', since: '15m' });
  const [records, setRecords] = useState<FlowRecord[]>([]);
  const [live, setLive] = useState(true);
  const [truncated, setTruncated] = useState(false);
  const [lost, setLost] = useState(0);
  const [problem, setProblem] = useState<string | undefined>();
  const set = (key: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));

  useEffect(() => {
    // One generation per filter set: an answer to an older filter set never lands on this one.
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cursor = 0;
    const poll = async () => {
      try {
        const answer = await api<FlowsAnswer>('GET', `/api/v1/flows?${query(filters, cursor)}`);
        if (stopped) return;
        cursor = answer.seq;
        if (answer.items.length > 0) setRecords((old) => [...[...answer.items].reverse(), ...old].slice(0, KEEP));
        setProblem(undefined);
      } catch (error) {
        if (!stopped) setProblem(said(error as Error));
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    api<FlowsAnswer>('GET', `/api/v1/flows?${query(filters)}`)
      .then((answer) => {
        if (stopped) return;
        cursor = answer.seq;
        setRecords([...answer.items].reverse());
        setTruncated(answer.truncated);
        setLost(
          answer.dropped
            ? answer.dropped.controllerEvicted +
                Object.values(answer.dropped.hosts).reduce((n, h) => n + h.evicted + h.lostLog + h.lostConntrack, 0)
            : 0,
        );
        setProblem(undefined);
        if (live) timer = setTimeout(() => void poll(), POLL_MS);
      })
      .catch((error: Error) => {
        if (stopped) return;
        setRecords([]);
        setProblem(said(error));
      });
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [filters, live]);

  return (
    <div class="flows">
      <div class="toolbar">
        <FilterInput name="tenant" value={filters.tenant} placeholder="all" disabled={me.tenant !== undefined} onSet={set('tenant')} />
        <FilterInput name="from" value={filters.from} placeholder="endpoint or address" onSet={set('from')} />
        <FilterInput name="to" value={filters.to} placeholder="endpoint or address" onSet={set('to')} />
        <label>
          verdict{' '}
          <select aria-label="verdict" value={filters.verdict} onChange={(e) => set('verdict')(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="allow">allowed</option>
            <option value="deny">denied</option>
            <option value="log">logged</option>
          </select>
        </label>
        <label>
          since{' '}
          <select aria-label="since" value={filters.since} onChange={(e) => set('since')(e.currentTarget.value)}>
            {['1m', '5m', '15m', '1h', '24h'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="live">
          <input type="checkbox" aria-label="live" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} /> live
        </label>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <table class="flows-table">
        <thead>
          <tr>
            <th>time</th>
            <th>tenant</th>
            <th>from → to</th>
            <th>protocol</th>
            <th>verdict</th>
            <th>decided by</th>
            <th>service</th>
            <th>packets / bytes</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.seq} data-seq={r.seq} data-verdict={r.verdict} data-tenant={r.tenant}>
              <td title={`recorded on ${r.host}`}>{r.time.replace('T', ' ').replace(/Z$/, '')}</td>
              <td class="tenant">{r.tenant}</td>
              <td class="peers">
                <span class="from">{peerText(r.from)}</span> → <span class="to">{peerText(r.to)}</span>
              </td>
              <td>
                {r.protocol}
                {r.to.port !== undefined ? `/${r.to.port}` : ''}
              </td>
              <td class={`verdict-cell ${r.verdict}`}>{r.type === 'flow-end' ? 'allowed (ended)' : verdictWord(r).toLowerCase()}</td>
              <td class="rules">{rulesText(r)}</td>
              <td>{serviceText(r)}</td>
              <td>{countsText(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="count">
        {records.length} records{live ? ', live' : ', paused'}
        {truncated ? '; older matching records left out' : ''}
        {lost > 0 ? `; ${lost} records let go by the agents or the controller` : ''}
      </p>
    </div>
  );
}
