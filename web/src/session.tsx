import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client';
import type { User } from './api/types';

export interface Session {
  api: ApiClient;
  user: User;
  refreshMe: () => Promise<void>;
  logout: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in screen');
  return s;
}
