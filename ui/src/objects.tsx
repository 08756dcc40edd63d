/**
 * Objects: every kind listed, one object described or shown as YAML, and edit-and-apply through the
 * API's apply with a dry run first (its results and the flows whose verdict would change), the same
 * validation the CLI gets, each problem shown on its line.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import YAML from 'yaml';
import { api, ApiError, collectionPath, itemPath, type ApplyResult, type List, type TenetObject, type Whoami } from './api';
import { KINDS, kindByName, type UiKind } from './kinds';
import { intentOf, toYaml } from '../../src/cli/normalize';
import { placeErrors, type FieldError } from './field-errors';
import { YamlEditor } from './yaml-editor';
import { ImpactTable } from './impact';
import { summary } from './summary';

type Tab = 'describe' | 'yaml' | 'edit';

function hashParams(): URLSearchParams {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}

export function ObjectsView({ me }: { me: Whoami }) {
  const params = hashParams();
  const [kind, setKind] = useState<UiKind>(kindByName(params.get('kind') ?? '') ?? KINDS[0]);
  const [tenant, setTenant] = useState<string>(me.tenant ?? '');
  const [tenants, setTenants] = useState<string[]>([]);
  const [items, setItems] = useState<TenetObject[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<TenetObject | undefined>();
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  /** Which kind and tenant the list on screen is of (tests and people can tell a finished load). */
  const [loaded, setLoaded] = useState('');

  useEffect(() => {
    api<List>('GET', '/api/v1/tenants')
      .then((list) => setTenants(list.items.map((t) => t.metadata.name)))
      .catch(() => setTenants(me.tenant ? [me.tenant] : []));
  }, [reload]);

  useEffect(() => {
    setProblem(undefined);
    const path = collectionPath(kind.plural, kind.tenantScoped, tenant || undefined);
    setLoaded('');
    api<List>('GET', path)
      .then((list) => setItems(list.items))
      .catch((error: Error) => {
        setItems([]);
        setProblem(error.message);
      })
      .finally(() => setLoaded(`${kind.kind}/${tenant}`));
  }, [kind, tenant, reload]);

  const shown = useMemo(() => {
    const words = filter.trim().toLowerCase();
    if (!words) return items;
    return items.filter((o) =>
      JSON.stringify([o.metadata.name, o.metadata.tenant, o.metadata.labels, summary(o)])
        .toLowerCase()
        .includes(words),
    );
  }, [items, filter]);

  const open = async (object: TenetObject) => {
    setCreating(false);
    const info = kindByName(object.kind)!;
    try {
      setSelected(await api<TenetObject>('GET', itemPath(info.plural, info.tenantScoped, object.metadata.tenant, object.metadata.name)));
    } catch (error) {
      setProblem((error as Error).message);
    }
  };

  return (
    <div class="objects">
      <aside class="kinds">
        {KINDS.map((k) => (
          <button
            key={k.kind}
            class={k.kind === kind.kind ? 'active' : ''}
            data-kind={k.kind}
            onClick={() => {
              setKind(k);
              setSelected(undefined);
              setCreating(false);
            }}
          >
            {k.plural}
          </button>
        ))}
      </aside>
      <div class="list">
        <div class="toolbar">
          {kind.tenantScoped && (
            <select
              aria-label="tenant"
              value={tenant}
              onChange={(e) => setTenant(e.currentTarget.value)}
              disabled={me.tenant !== undefined}
            >
              {me.tenant === undefined && <option value="">all tenants</option>}
              {tenants.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
          <input
            type="search"
            placeholder="filter by name, label, address"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
          <button onClick={() => setReload((n) => n + 1)}>Refresh</button>
          {kind.intent && (
            <button
              class="new"
              onClick={() => {
                setSelected(undefined);
                setCreating(true);
              }}
            >
              New {kind.kind}
            </button>
          )}
        </div>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <table class="objects-table">
          <thead>
            <tr>
              {kind.tenantScoped && <th>tenant</th>}
              <th>name</th>
              <th>summary</th>
              <th>labels</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, 500).map((o) => (
              <tr
                key={`${o.metadata.tenant ?? ''}/${o.metadata.name}`}
                data-name={o.metadata.name}
                class={
                  selected && selected.metadata.name === o.metadata.name && selected.metadata.tenant === o.metadata.tenant ? 'selected' : ''
                }
                onClick={() => void open(o)}
              >
                {kind.tenantScoped && <td>{o.metadata.tenant}</td>}
                <td>{o.metadata.name}</td>
                <td>{summary(o)}</td>
                <td class="labels">
                  {Object.entries(o.metadata.labels ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="count" data-loaded={loaded}>
          {shown.length} of {items.length} {kind.plural}
          {shown.length > 500 ? ' (first 500 shown: narrow the filter)' : ''}
        </p>
      </div>
      {(selected || creating) && (
        <ObjectPanel
          key={
            selected
              ? `${selected.kind}/${selected.metadata.tenant}/${selected.metadata.name}/${selected.metadata.resourceVersion}`
              : `new-${kind.kind}`
          }
          me={me}
          object={selected}
          template={creating ? template(kind, tenant || me.tenant) : undefined}
          onApplied={() => setReload((n) => n + 1)}
        />
      )}
    </div>
  );
}

function template(kind: UiKind, tenant: string | undefined): string {
  const metadata: Record<string, unknown> = { name: 'new-name' };
  if (kind.tenantScoped) metadata.tenant = tenant ?? 'TENANT';
  return toYaml({ apiVersion: 'tenet.dev/v1', kind: kind.kind, metadata, spec: {} });
}

function ObjectPanel({ me, object, template, onApplied }: { me: Whoami; object?: TenetObject; template?: string; onApplied: () => void }) {
  const editable = object ? kindByName(object.kind)?.intent === true : true;
  const [tab, setTab] = useState<Tab>(object ? 'describe' : 'edit');
  const original = object ? toYaml(intentOf(object)) : (template ?? '');
  return (
    <div class="panel" data-object={object ? `${object.kind}/${object.metadata.tenant ?? ''}/${object.metadata.name}` : 'new'}>
      <div class="tabs">
        {object && (
          <button class={tab === 'describe' ? 'active' : ''} onClick={() => setTab('describe')}>
            Describe
          </button>
        )}
        {object && (
          <button class={tab === 'yaml' ? 'active' : ''} onClick={() => setTab('yaml')}>
            YAML
          </button>
        )}
        {editable && (
          <button class={tab === 'edit' ? 'active' : ''} onClick={() => setTab('edit')}>
            Edit
          </button>
        )}
      </div>
      {tab === 'describe' && object && <Describe object={object} />}
      {tab === 'yaml' && object && <pre class="yaml">{toYaml(object)}</pre>}
      {tab === 'edit' && <Edit me={me} original={original} onApplied={onApplied} />}
    </div>
  );
}

function Describe({ object }: { object: TenetObject }) {
  const rows: Array<[string, string]> = [
    ['Kind', object.kind],
    ['Name', object.metadata.name],
    ...(object.metadata.tenant ? ([['Tenant', object.metadata.tenant]] as Array<[string, string]>) : []),
    [
      'Labels',
      Object.entries(object.metadata.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '<none>',
    ],
    ['Created', object.metadata.createdAt ?? ''],
    ['Revision', object.metadata.resourceVersion ?? ''],
    ['Summary', summary(object)],
  ];
  return (
    <div class="describe">
      <table>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Spec</h4>
      <pre class="yaml">{toYaml(object.spec)}</pre>
      {object.status !== undefined && (
        <>
          <h4>Status</h4>
          <pre class="yaml">{toYaml(object.status)}</pre>
        </>
      )}
    </div>
  );
}

interface Preview {
  text: string;
  result: ApplyResult;
}

function Edit({ me, original, onApplied }: { me: Whoami; original: string; onApplied: () => void }) {
  const [text, setText] = useState(original);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [preview, setPreview] = useState<Preview | undefined>();
  const [applied, setApplied] = useState<ApplyResult | undefined>();
  const [busy, setBusy] = useState(false);
  // The API decides (a viewer's apply is refused with 403); the button is simply not offered to a viewer.
  const mayApply = me.role !== 'viewer';

  const objects = (): unknown[] | undefined => {
    try {
      const docs = YAML.parseAllDocuments(text);
      const list = Array.isArray(docs) ? docs : [];
      const bad = list.find((d) => d.errors.length > 0);
      if (bad) {
        const error = bad.errors[0];
        setErrors([{ document: 0, field: '', message: error.message, line: error.linePos?.[0].line }]);
        setProblem(`the YAML does not parse: ${error.message}`);
        return undefined;
      }
      return list.map((d) => d.toJS() as unknown).filter((o) => o !== null);
    } catch (error) {
      setProblem(`the YAML does not parse: ${(error as Error).message}`);
      return undefined;
    }
  };

  const send = async (dryRun: boolean) => {
    setProblem(undefined);
    setErrors([]);
    setApplied(undefined);
    const list = objects();
    if (!list) return;
    setBusy(true);
    try {
      const result = await api<ApplyResult>('POST', '/api/v1/apply', {
        objects: list,
        dryRun,
        ...(dryRun ? {} : { message: 'edited in the web console' }),
      });
      if (dryRun) setPreview({ text, result });
      else {
        setPreview(undefined);
        setApplied(result);
        onApplied();
      }
    } catch (error) {
      setPreview(undefined);
      if (error instanceof ApiError) {
        setProblem(`${error.status} ${error.reason}: ${error.message}`);
        setErrors(placeErrors(text, error.details));
      } else setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const current = preview !== undefined && preview.text === text;
  return (
    <div class="edit">
      <YamlEditor
        value={text}
        errors={errors}
        onInput={(value) => {
          setText(value);
          setApplied(undefined);
        }}
      />
      <div class="actions">
        <button class="preview" disabled={busy} onClick={() => void send(true)}>
          Preview impact
        </button>
        {mayApply && (
          <button
            class="apply primary"
            disabled={busy || !current}
            title={current ? '' : 'preview the impact of this text first'}
            onClick={() => void send(false)}
          >
            Apply
          </button>
        )}
        {!mayApply && <span class="hint">viewer: read only</span>}
      </div>
      {problem && (
        <div class="error" role="alert">
          <p>{problem}</p>
          {errors.length > 0 && (
            <ul class="field-errors">
              {errors.map((e, i) => (
                <li key={i} class="field-error" data-field={e.field} data-line={e.line ?? ''}>
                  {e.line !== undefined ? `line ${e.line}: ` : ''}
                  {e.field ? `${e.field}: ` : ''}
                  {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {current && preview && (
        <div class="preview-result" data-testid="preview">
          <h4>Dry run</h4>
          <ul>
            {preview.result.results.map((r, i) => (
              <li key={i} data-action={r.action}>
                {r.kind} {r.tenant ? `${r.tenant}/` : ''}
                {r.name}: {r.action}
              </li>
            ))}
          </ul>
          <ImpactTable impact={preview.result.impact} truncated={preview.result.impactTruncated === true} />
        </div>
      )}
      {applied && (
        <p class="applied" role="status">
          Applied{applied.revision !== null ? ` as history revision ${applied.revision}` : ' (nothing changed)'}:{' '}
          {applied.results.map((r) => `${r.kind} ${r.name} ${r.action}`).join(', ')}
        </p>
      )}
    </div>
  );
}
