/**
 * Audit trail: every write and every refused request (admins: all; tenant-admins: their tenant, as the
 * API narrows it), filtered by tenant (asked of the API), actor and outcome.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type Whoami } from './api';
import type { AuditEntry } from '../../src/core/auth/audit-entry';
import { auditEventText } from '../../src/core/auth/audit-events';

type Entry = AuditEntry;

export function AuditView({ me }: { me: Whoami }) {
  const [tenant, setTenant] = useState(me.tenant ?? '');
  const [tenantDraft, setTenantDraft] = useState(me.tenant ?? '');
  const [since, setSince] = useState('24h');
  const [actor, setActor] = useState('');
  const [outcome, setOutcome] = useState('');
  const [entries, setEntries] = useState<Entry[]>([]);
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    const query = new URLSearchParams({ limit: '2000' });
    if (tenant) query.set('tenant', tenant);
    if (since) query.set('since', since);
    api<{ items: Entry[] }>('GET', `/api/v1/audit?${query.toString()}`)
      .then((answer) => {
        setEntries([...answer.items].reverse());
        setProblem(undefined);
      })
      .catch((error: Error) => setProblem(error.message));
  }, [tenant, since]);

  const shown = useMemo(
    () =>
      entries.filter(
        (e) =>
          (!outcome || e.outcome === outcome) && (!actor || `${e.role}:${e.tokenId}`.toLowerCase().includes(actor.trim().toLowerCase())),
      ),
    [entries, actor, outcome],
  );
  return (
    <div class="audit">
      <div class="toolbar">
        <label>
          tenant{' '}
          <input
            aria-label="tenant"
            value={tenantDraft}
            disabled={me.tenant !== undefined}
            placeholder="all"
            onInput={(e) => setTenantDraft(e.currentTarget.value)}
            onChange={() => setTenant(tenantDraft.trim())}
          />
        </label>
        <label>
          since{' '}
          <select aria-label="since" value={since} onChange={(e) => setSince(e.currentTarget.value)}>
            {['1h', '24h', '7d', '30d', '90d'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          actor <input aria-label="actor" placeholder="role or token id" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
        </label>
        <label>
          outcome{' '}
          <select aria-label="outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="allowed">allowed</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </select>
        </label>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <table class="audit-table">
        <thead>
          <tr>
            <th>when</th>
            <th>who</th>
            <th>did</th>
            <th>tenant</th>
            <th>outcome</th>
            <th>summary</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, 1000).map((e) => (
            <tr key={e.id} data-outcome={e.outcome}>
              <td>{e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
              <td>
                {e.role}:{e.tokenId}
              </td>
              <td>
                {e.verb} {e.kind} {e.name ?? ''}
              </td>
              <td>{e.tenant ?? (e.tenants ?? []).join(', ')}</td>
              <td class={`outcome ${e.outcome}`}>
                {e.outcome} ({e.code})
              </td>
              {/* Named events first (a floating IP's move says from and to), then the generic summary. */}
              <td>{[...(e.events ?? []).map(auditEventText), e.summary ?? ''].filter(Boolean).join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="count">
        {shown.length} of {entries.length} entries
      </p>
    </div>
  );
}
