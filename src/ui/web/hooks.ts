/** hooks: data from the API, polled while the tab is visible; the location's hash as the route. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly reload: () => void;
}

/** GETs `path` now and again every `everyMs` (when given) while the page is visible. */
export function useApi<T>(path: string | null, everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  // deps: tick asks for a reload
  useEffect(() => {
    if (path === null) return;
    let live = true;
    api<T>(path).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  useEvery(everyMs, reload);
  return { data, error, reload };
}

/** Calls `fn` every `ms` while the page is visible (not at all without `ms`). */
export function useEvery(ms: number | undefined, fn: () => void): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === undefined) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** The route: the hash without `#`, `/` when empty. */
export function useRoute(): string {
  const read = () => decodeURI(location.hash.replace(/^#/, '')) || '/';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
