/** The dashboard: a key gate, then pages chosen by the location's hash. */
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, keepKey, storedKey } from './api';
import { useRoute } from './hooks';
import { FunctionPage } from './pages/function';
import { FunctionsPage } from './pages/functions';
import { InvocationPage } from './pages/invocation';
import { UsagePage } from './pages/usage';

type Gate = { state: 'checking' } | { state: 'open' } | { state: 'closed'; refused?: string };

/** Why a key was not let in, in words a person can act on. */
function refusal(e: unknown): string {
  if (e instanceof ApiError && e.status === 401) return `This key was refused: ${e.message}.`;
  if (e instanceof ApiError && e.status === 403) {
    return `This key cannot read functions (${e.message}): use a deploy or admin key.`;
  }
  return `Gust did not answer: ${(e as Error).message}`;
}

function App() {
  const [gate, setGate] = useState<Gate>({ state: 'checking' });
  const check = () => {
    setGate({ state: 'checking' });
    api('/functions').then(
      () => setGate({ state: 'open' }),
      (e: unknown) => {
        const hadKey = storedKey() !== null;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) keepKey(null);
        // without a key kept, a 401 is no refusal: the page only asks for one
        const asked = !hadKey && e instanceof ApiError && e.status === 401;
        setGate(asked ? { state: 'closed' } : { state: 'closed', refused: refusal(e) });
      },
    );
  };
  // deps: once, at load
  useEffect(check, []);
  if (gate.state === 'checking') return <p class="muted">Loading…</p>;
  if (gate.state === 'closed') {
    return (
      <KeyForm
        refused={gate.refused}
        onKey={(key) => {
          keepKey(key);
          check();
        }}
      />
    );
  }
  return (
    <Shell
      onForget={() => {
        keepKey(null);
        setGate({ state: 'closed' });
      }}
    />
  );
}

function KeyForm({ refused, onKey }: { refused: string | undefined; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="card key-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (key.trim()) onKey(key.trim());
      }}
    >
      <h1>Gust dashboard</h1>
      <p>
        Enter an API key with the deploy or admin scope. It is kept in this tab only (session storage).
        <code>gust up</code> writes the admin key to <code>&lt;data&gt;/admin.key</code>.
      </p>
      {refused && (
        <p class="error" role="alert">
          {refused}
        </p>
      )}
      <label for="key">API key</label>
      <input
        id="key"
        name="key"
        type="password"
        autocomplete="off"
        spellcheck={false}
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
        required
      />
      <button type="submit">Open the dashboard</button>
    </form>
  );
}

function Shell({ onForget }: { onForget: () => void }) {
  const route = useRoute();
  const fn = /^\/functions\/([^/]+)$/.exec(route);
  const inv = /^\/invocations\/([^/]+)$/.exec(route);
  const page = fn ? (
    <FunctionPage name={fn[1]!} />
  ) : inv ? (
    <InvocationPage id={inv[1]!} />
  ) : route === '/usage' ? (
    <UsagePage />
  ) : (
    <FunctionsPage />
  );
  return (
    <>
      <button type="button" class="skip" onClick={skipToMain}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/">
          Gust
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route === '/' ? 'page' : undefined}>
            Functions
          </a>
          <a href="#/usage" aria-current={route === '/usage' ? 'page' : undefined}>
            Usage
          </a>
        </nav>
        <button type="button" class="quiet" onClick={onForget}>
          Forget key
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

/** The hash is the route: the skip link is a button that moves focus, not a link. */
function skipToMain(): void {
  document.getElementById('main')?.focus();
}

render(<App />, document.getElementById('app')!);
