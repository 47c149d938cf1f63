import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { api as defaultApi, type ApiClient } from './api/client';
import { DemoBanner } from './components/DemoBanner';
import { DisplayControls } from './components/DisplayControls';
import type { User } from './api/types';
import { TimeZoneScope, useI18n } from './i18n/i18n';
import { DisplayProvider } from './lib/display';
import { navigate, useRoute } from './lib/route';
import { Dashboard } from './pages/Dashboard';
import { Guardian } from './pages/Guardian';
import { Login } from './pages/Login';
import { Register } from './pages/Register';
import { Settings } from './pages/Settings';
import { TREND_RANGES, type TrendRange } from './lib/trends';
import { SessionContext, type Session } from './session';

// Trends and the day diary carry the zooming charts: their own chunk, loaded when first opened.
const Trends = lazy(() => import('./pages/Trends').then((m) => ({ default: m.Trends })));
const Diary = lazy(() => import('./pages/Diary').then((m) => ({ default: m.Diary })));

/**
 * The zone a wearer's screens write clock times in: the signed-in wearer's own (GET /api/me). A guardian
 * watching someone else is told only the wearer's id and name (GET /api/guardians has no time zone), so
 * there the browser's zone stands (undefined).
 */
function wearerZone(user: User, watched: string | undefined): string | undefined {
  return watched ? undefined : user.time_zone;
}

type Auth = { state: 'checking' } | { state: 'out'; notice: string | null } | { state: 'in'; user: User };

function Header({ signedIn, path, onLogout }: { signedIn: boolean; path: string; onLogout: () => void }) {
  const { t, lang, setLang } = useI18n();
  const link = (to: string, key: 'nav.dashboard' | 'nav.guardian' | 'nav.settings') => (
    <a href={`#${to}`} aria-current={path === to ? 'page' : undefined} className={path === to ? 'current' : ''}>
      {t(key)}
    </a>
  );
  return (
    <header className="app-header">
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); const m = document.getElementById('main'); m?.setAttribute('tabindex', '-1'); m?.focus(); }}>
        {t('app.skip')}
      </a>
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">♥</span> {t('app.name')}
      </div>
      <button type="button" className="btn-lang" onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')} lang={lang === 'ko' ? 'en' : 'ko'}>
        {t('lang.switch')}
      </button>
      <DisplayControls />
      {signedIn ? (
        <nav aria-label={t('nav.main')}>
          {link('/dashboard', 'nav.dashboard')}
          {link('/guardian', 'nav.guardian')}
          {link('/settings', 'nav.settings')}
          <button type="button" className="btn-nav" onClick={onLogout}>
            {t('nav.logout')}
          </button>
        </nav>
      ) : null}
    </header>
  );
}

export function App({ api = defaultApi }: { api?: ApiClient }) {
  const { t } = useI18n();
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });

  useEffect(() => {
    api.onUnauthorized = () => setAuth({ state: 'out', notice: t('login.expired') });
  }, [api, t]);

  useEffect(() => {
    api.me().then(
      (a) => setAuth({ state: 'in', user: a.user }),
      () => setAuth({ state: 'out', notice: null }),
    );
  }, [api]);

  const refreshMe = useCallback(async () => {
    const a = await api.me();
    setAuth({ state: 'in', user: a.user });
  }, [api]);
  const logout = useCallback(async () => {
    await api.logout().catch(() => undefined);
    setAuth({ state: 'out', notice: null });
    navigate('/login');
  }, [api]);

  // Signed out: only login and register; signed in: never them.
  useEffect(() => {
    if (auth.state === 'out' && route.path !== '/login' && route.path !== '/register') navigate('/login');
    if (auth.state === 'in' && (route.path === '/login' || route.path === '/register' || route.path === '/')) navigate('/dashboard');
  }, [auth.state, route.path]);

  const session: Session | null = useMemo(
    () => (auth.state === 'in' ? { api, user: auth.user, refreshMe, logout } : null),
    [api, auth, refreshMe, logout],
  );

  let body: React.ReactNode;
  if (auth.state === 'checking') body = <main id="main" className="narrow"><p>{t('common.loading')}</p></main>;
  else if (auth.state === 'out') {
    body =
      route.path === '/register' ? (
        <Register api={api} onRegistered={() => { setAuth({ state: 'out', notice: t('login.registered') }); navigate('/login'); }} />
      ) : (
        <Login
          api={api}
          notice={auth.notice}
          onLoggedIn={(a) => {
            setAuth({ state: 'in', user: a.user });
            navigate('/dashboard');
            // The login answers the plain profile; GET /api/me adds what only it says (verified numbers,
            // the address check), which the dashboard asks about.
            void refreshMe().catch(() => undefined);
          }}
        />
      );
  } else if (route.path === '/guardian') body = <Guardian />;
  else if (route.path === '/settings') body = <Settings />;
  else if (route.path === '/trends' || route.path === '/diary') {
    // The wearer's own records, or those of a wearer a guardian watches (?wearer=…&name=…).
    const wearer = route.params.get('wearer') ?? undefined;
    const self = wearer === auth.user.id ? undefined : wearer;
    const name = self ? route.params.get('name') ?? self : undefined;
    const range = route.params.get('range');
    body = (
      <TimeZoneScope zone={wearerZone(auth.user, self)}>
        <Suspense fallback={<main id="main"><p role="status">{t('common.loading')}</p></main>}>
          {route.path === '/trends' ? (
            <Trends key={self ?? '(self)'} wearer={self} wearerName={name} initialRange={(TREND_RANGES as readonly string[]).includes(range ?? '') ? (range as TrendRange) : undefined} />
          ) : (
            <Diary key={self ?? '(self)'} wearer={self} wearerName={name} day={route.params.get('day')} />
          )}
        </Suspense>
      </TimeZoneScope>
    );
  } else {
    const wearer = route.params.get('wearer') ?? undefined;
    const self = wearer === auth.user.id ? undefined : wearer;
    body = (
      <TimeZoneScope zone={wearerZone(auth.user, self)}>
        <Dashboard key={self ?? '(self)'} wearer={self} wearerName={self ? route.params.get('name') ?? self : undefined} />
      </TimeZoneScope>
    );
  }

  return (
    <DisplayProvider>
      <SessionContext.Provider value={session}>
        <DemoBanner />
        <Header signedIn={auth.state === 'in'} path={route.path} onLogout={() => void logout()} />
        {body}
      </SessionContext.Provider>
    </DisplayProvider>
  );
}
