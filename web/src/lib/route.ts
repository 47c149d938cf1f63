// Hash routes (#/login, #/dashboard?wearer=kim01, …) so that any URL works when the server serves
// web/dist as plain files, without a fallback to index.html for deep paths.
import { useEffect, useState } from 'react';

export interface Route {
  path: string;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', query = ''] = raw.split('?', 2);
  return { path: path.startsWith('/') ? path : `/${path}`, params: new URLSearchParams(query) };
}

export function navigate(to: string): void {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** A link that keeps whom a guardian looks at: "#/diary?wearer=…&name=…&day=…" (no wearer: one's own). */
export function wearerLink(path: string, wearer: string | undefined, name: string | undefined, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  if (wearer) p.set('wearer', wearer);
  if (wearer && name) p.set('name', name);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const q = p.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}
