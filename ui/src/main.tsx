/** The console's shell: the login gate, the navigation and the view named in the URL's hash. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, saveToken, savedToken, whoami, type Whoami } from './api';
import { ObjectsView } from './objects';
import { TopologyView } from './topology';
import { MatrixView } from './matrix';
import { ExplainView } from './explain';
import { HistoryView } from './history';
import { AuditView } from './audit';
import { FlowsView } from './flows';

const VIEWS = [
  { id: 'objects', title: 'Objects' },
  { id: 'topology', title: 'Topology' },
  { id: 'matrix', title: 'Policy matrix' },
  { id: 'explain', title: 'Explain' },
  { id: 'history', title: 'History', roles: ['admin'] },
  { id: 'audit', title: 'Audit', roles: ['admin', 'tenant-admin'] },
  { id: 'flows', title: 'Flows' },
] as const;

type ViewId = (typeof VIEWS)[number]['id'];

function currentView(): ViewId {
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
  return (VIEWS.find((v) => v.id === id)?.id ?? 'objects') as ViewId;
}

function Login({ onLogin, problem }: { onLogin: (token: string) => void; problem?: string }) {
  const [token, setToken] = useState('');
  return (
    <main class="login">
      <h1>Tenet</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onLogin(token.trim());
        }}
      >
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit" disabled={token.trim() === ''}>
          Log in
        </button>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <p class="hint">The token is kept in this tab only (session storage) and sent to this controller's API.</p>
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Whoami | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [checking, setChecking] = useState(savedToken() !== null);
  const [view, setView] = useState<ViewId>(currentView());

  const check = async () => {
    setChecking(true);
    try {
      setMe(await whoami());
      setProblem(undefined);
    } catch (error) {
      saveToken(null);
      setMe(undefined);
      setProblem(error instanceof ApiError && error.status === 401 ? 'That token was not accepted.' : String((error as Error).message));
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    if (savedToken() !== null) void check();
    const onHash = () => setView(currentView());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (checking) return <p class="loading">Checking the token…</p>;
  if (!me)
    return (
      <Login
        problem={problem}
        onLogin={(token) => {
          saveToken(token);
          void check();
        }}
      />
    );
  // Views the API would refuse this role anyway (history: admins; audit: not viewers) are not offered.
  const shown = VIEWS.filter((v) => !('roles' in v) || (v.roles as readonly string[]).includes(me.role));
  return (
    <div class="shell">
      <header>
        <strong class="brand">Tenet</strong>
        <nav>
          {shown.map((v) => (
            <a key={v.id} href={`#/${v.id}`} class={view === v.id ? 'active' : ''}>
              {v.title}
            </a>
          ))}
        </nav>
        <span class="who" data-role={me.role}>
          {me.role}
          {me.tenant ? ` of ${me.tenant}` : ''}
        </span>
        <button
          class="logout"
          onClick={() => {
            saveToken(null);
            setMe(undefined);
          }}
        >
          Log out
        </button>
      </header>
      <section class="view">
        {view === 'objects' && <ObjectsView me={me} />}
        {view === 'topology' && <TopologyView me={me} />}
        {view === 'matrix' && <MatrixView me={me} />}
        {view === 'explain' && <ExplainView me={me} />}
        {view === 'history' && <HistoryView me={me} />}
        {view === 'audit' && <AuditView me={me} />}
        {view === 'flows' && <FlowsView me={me} />}
      </section>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
