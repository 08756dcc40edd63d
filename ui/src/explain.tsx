/**
 * Explain: pick A, B and a port; the controller answers the verdict and the rule that decided each
 * direction (GET .../explain, as `tenet explain -o json`); admins may ask for the trace of chains walked.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type List, type TenetObject, type Whoami } from './api';
import type { Decision } from '../../src/core/policy/explain';
import { describeDecision } from '../../src/core/policy/explain';
import { TenantPicker } from './tenant-picker';
import { endpointAddresses } from './topology-model';

interface Answer {
  from: { endpoint?: string; address: string };
  to: { endpoint?: string; address: string };
  protocol: string;
  port?: number;
  allowed: boolean;
  egress: Decision;
  ingress: Decision;
  trace?: string[];
}

export function ExplainView({ me }: { me: Whoami }) {
  const [tenant, setTenant] = useState(me.tenant ?? '');
  const [endpoints, setEndpoints] = useState<TenetObject[]>([]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [port, setPort] = useState('tcp/80');
  const [trace, setTrace] = useState(false);
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    if (!tenant) return;
    api<List>('GET', `/api/v1/tenants/${encodeURIComponent(tenant)}/endpoints`)
      .then((list) => setEndpoints(list.items))
      .catch((error: Error) => setProblem(error.message));
  }, [tenant]);

  const ask = async () => {
    setProblem(undefined);
    setAnswer(undefined);
    const query = new URLSearchParams({ from: from.trim(), to: to.trim(), port: port.trim() });
    if (trace) query.set('verbose', '1');
    try {
      setAnswer(await api<Answer>('GET', `/api/v1/tenants/${encodeURIComponent(tenant)}/explain?${query.toString()}`));
    } catch (error) {
      setProblem((error as Error).message);
    }
  };
  const end = (e: Answer['from']) => (e.endpoint ? `${e.endpoint} (${e.address})` : e.address);
  return (
    <div class="explain">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void ask();
        }}
      >
        <TenantPicker me={me} value={tenant} onChange={setTenant} />
        <label>
          from
          <input
            name="from"
            list="explain-endpoints"
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
            placeholder="endpoint or address"
          />
        </label>
        <label>
          to
          <input
            name="to"
            list="explain-endpoints"
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
            placeholder="endpoint or address"
          />
        </label>
        <label>
          port
          <input name="port" value={port} onInput={(e) => setPort(e.currentTarget.value)} placeholder="tcp/5432, udp/53, icmp" />
        </label>
        {me.role === 'admin' && (
          <label>
            <span>
              <input type="checkbox" checked={trace} onChange={(e) => setTrace(e.currentTarget.checked)} /> trace
            </span>
          </label>
        )}
        <button type="submit" class="primary" disabled={!tenant || !from.trim() || !to.trim()}>
          Explain
        </button>
        <datalist id="explain-endpoints">
          {endpoints.map((e) => (
            <option key={e.metadata.name} value={e.metadata.name}>
              {endpointAddresses(e).join(' ')}
            </option>
          ))}
        </datalist>
      </form>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {answer && (
        <div class="explain-answer">
          <p class={`verdict ${answer.allowed ? 'allowed' : 'denied'}`}>
            {end(answer.from)} → {end(answer.to)} {answer.protocol}
            {answer.port !== undefined ? `/${answer.port}` : ''}: {answer.allowed ? 'ALLOWED' : 'DENIED'}
          </p>
          <pre class="decisions">
            {describeDecision('egress', answer.egress)}
            {'\n'}
            {describeDecision('ingress', answer.ingress)}
          </pre>
          {answer.trace && <pre class="trace">{answer.trace.join('\n')}</pre>}
        </div>
      )}
    </div>
  );
}
