/**
 * History (admins): every revision of intent, the diff of each (the YAML of each object before and
 * after, as `tenet diff` shows it), and rollback to a revision — its dry run first (what it would
 * create, change and delete, and the flows whose verdict would change), then an explicit confirmation.
 */
import { useEffect, useState } from 'preact/hooks';
import { diffLines } from 'diff';
import { api, ApiError, type ApplyResult, type HistoryEntry, type TenetObject, type Whoami } from './api';
import { intentOf, toYaml } from '../../src/cli/normalize';
import { ImpactTable } from './impact';

interface FullChange {
  kind: string;
  tenant?: string;
  name: string;
  action: 'created' | 'configured' | 'deleted';
  before?: TenetObject;
  after?: TenetObject;
}

interface FullRecord extends Omit<HistoryEntry, 'changes'> {
  changes: FullChange[];
}

function Diff({ change }: { change: FullChange }) {
  const before = change.before ? toYaml(intentOf(change.before)) : '';
  const after = change.after ? toYaml(intentOf(change.after)) : '';
  return (
    <div class="diff" data-change={`${change.kind}/${change.tenant ?? ''}/${change.name}`}>
      <h5>
        {change.kind} {change.tenant ? `${change.tenant}/` : ''}
        {change.name}: {change.action}
      </h5>
      <pre>
        {diffLines(before, after).map((part, i) => (
          <span key={i} class={part.added ? 'add' : part.removed ? 'del' : 'same'}>
            {part.value
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => `${part.added ? '+' : part.removed ? '-' : ' '} ${line}`)
              .join('\n') + '\n'}
          </span>
        ))}
      </pre>
    </div>
  );
}

export function HistoryView({ me }: { me: Whoami }) {
  const [items, setItems] = useState<HistoryEntry[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [record, setRecord] = useState<FullRecord | undefined>();
  const [plan, setPlan] = useState<{ revision: number; result: ApplyResult } | undefined>();
  const [done, setDone] = useState<ApplyResult | undefined>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    api<{ items: HistoryEntry[] }>('GET', '/api/v1/history')
      .then((answer) => setItems([...answer.items].reverse()))
      .catch((error: Error) => setProblem(error.message));
  }, [reload]);

  const open = async (revision: number) => {
    setPlan(undefined);
    setDone(undefined);
    try {
      setRecord(await api<FullRecord>('GET', `/api/v1/history/${revision}`));
    } catch (error) {
      setProblem((error as Error).message);
    }
  };
  const rollback = async (revision: number, dryRun: boolean) => {
    setProblem(undefined);
    try {
      const result = await api<ApplyResult>('POST', '/api/v1/rollback', { revision, dryRun });
      if (dryRun) setPlan({ revision, result });
      else {
        setPlan(undefined);
        setDone(result);
        setReload((n) => n + 1);
      }
    } catch (error) {
      setPlan(undefined);
      setProblem(
        error instanceof ApiError
          ? `${error.status} ${error.reason}: ${error.message}${error.details.length ? ` (${error.details.join('; ')})` : ''}`
          : String(error),
      );
    }
  };

  if (me.role !== 'admin') return <p class="hint">History spans tenants: only admins may read it.</p>;
  return (
    <div class="history">
      <div class="list">
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <table class="history-table">
          <thead>
            <tr>
              <th>rev</th>
              <th>when</th>
              <th>who</th>
              <th>verb</th>
              <th>changes</th>
            </tr>
          </thead>
          <tbody>
            {items.map((h) => (
              <tr
                key={h.revision}
                data-revision={h.revision}
                class={record?.revision === h.revision ? 'selected' : ''}
                onClick={() => void open(h.revision)}
              >
                <td>{h.revision}</td>
                <td>{h.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
                <td>{h.actor}</td>
                <td>
                  {h.verb}
                  {h.message ? <span class="hint"> {h.message}</span> : null}
                </td>
                <td>
                  {h.changes
                    .slice(0, 4)
                    .map((c) => `${c.action} ${c.kind} ${c.tenant ? `${c.tenant}/` : ''}${c.name}`)
                    .join(', ')}
                  {h.changes.length > 4 ? ` and ${h.changes.length - 4} more` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel">
        {done && (
          <p class="applied" role="status">
            Rolled back{done.revision !== null ? ` as revision ${done.revision}` : ' (nothing to change)'}:{' '}
            {done.results.map((r) => `${r.kind} ${r.tenant ? `${r.tenant}/` : ''}${r.name} ${r.action}`).join(', ') || 'no change'}
          </p>
        )}
        {record && (
          <>
            <h4>
              Revision {record.revision} · {record.verb} by {record.actor}
            </h4>
            <button class="rollback" onClick={() => void rollback(record.revision, true)}>
              Roll back to revision {record.revision}…
            </button>
            {plan && plan.revision === record.revision && (
              <div class="confirm" role="dialog" aria-label="confirm rollback">
                <p>Rolling back to revision {plan.revision} restores all intent as it was right after it, as one new revision. It would:</p>
                <ul>
                  {plan.result.results.length === 0 && <li>change nothing</li>}
                  {plan.result.results.map((r, i) => (
                    <li key={i} data-action={r.action}>
                      {r.action} {r.kind} {r.tenant ? `${r.tenant}/` : ''}
                      {r.name}
                    </li>
                  ))}
                </ul>
                <ImpactTable impact={plan.result.impact} truncated={plan.result.impactTruncated === true} />
                <button class="confirm-rollback primary" onClick={() => void rollback(plan.revision, false)}>
                  Confirm rollback to revision {plan.revision}
                </button>{' '}
                <button onClick={() => setPlan(undefined)}>Cancel</button>
              </div>
            )}
            {record.changes.map((c, i) => (
              <Diff key={i} change={c} />
            ))}
          </>
        )}
        {!record && <p class="hint">Pick a revision to see what it changed.</p>}
      </div>
    </div>
  );
}
