// The one place that talks HTTP to VitalGuard. It keeps the CSRF token in memory (never in
// storage: the session cookie is HttpOnly and the token is handed out again by GET /api/me),
// turns the server's error body into an ApiError with per-field problems, and reports a 401 on
// any request other than the login itself so the app can go back to the login screen.
import type {
  Device,
  GuardianLink,
  Incident,
  IncidentDetail,
  LoginAnswer,
  MeAnswer,
  PhoneVerificationState,
  PostureRow,
  ProfileChanges,
  SessionInfo,
  SignupInput,
  VerifyField,
  StatusRow,
  User,
  Vitals,
  VitalsTrend,
} from './types';

export interface FieldProblem {
  field: string;
  problem: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldProblem[];
  readonly retryAfterSeconds: number | null;

  constructor(status: number, code: string, message: string, fields: FieldProblem[], retryAfter: number | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfterSeconds = retryAfter;
  }

  /** Problems keyed by field name; several problems of one field are joined. */
  fieldMap(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.fields) out[f.field] = out[f.field] ? `${out[f.field]}; ${f.problem}` : f.problem;
    return out;
  }
}

/** Parses any response body into an ApiError; bodies that are not the documented shape still give one. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const retry = res.headers.get('Retry-After');
  const retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : null;
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let fields: FieldProblem[] = [];
  try {
    const body: unknown = await res.json();
    const err = (body as { error?: unknown } | null)?.error;
    if (err && typeof err === 'object') {
      const e = err as { code?: unknown; message?: unknown; fields?: unknown };
      if (typeof e.code === 'string') code = e.code;
      if (typeof e.message === 'string') message = e.message;
      if (Array.isArray(e.fields)) {
        fields = e.fields
          .filter((f): f is { field: string; problem: string } =>
            !!f && typeof f === 'object' && typeof (f as FieldProblem).field === 'string' &&
            typeof (f as FieldProblem).problem === 'string')
          .map((f) => ({ field: f.field, problem: f.problem }));
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): keep the status-based code.
  }
  return new ApiError(res.status, code, message, fields, retryAfter);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiClientOptions {
  fetch?: typeof fetch;
  /** Called when the server answers 401 to anything but a login: the session is gone. */
  onUnauthorized?: (err: ApiError) => void;
}

function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class ApiClient {
  private csrf: string | null = null;
  private readonly fetchImpl: typeof fetch;
  onUnauthorized: ((err: ApiError) => void) | undefined;

  constructor(opts: ApiClientOptions = {}) {
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.onUnauthorized = opts.onUnauthorized;
  }

  get csrfToken(): string | null {
    return this.csrf;
  }

  setCsrfToken(token: string | null): void {
    this.csrf = token;
  }

  /**
   * noAuthRedirect: a 401 is the caller's to handle (login, the first GET /api/me).
   * reauth: the request carries current_password, so a 401 invalid_credentials means "wrong password"
   * and the session is still good; any other 401 (session_expired, unauthenticated) still ends it.
   */
  async request<T>(method: Method, path: string, body?: unknown, opts: { noAuthRedirect?: boolean; reauth?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    const res = await this.fetchImpl(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401 && !opts.noAuthRedirect && !(opts.reauth && err.code === 'invalid_credentials')) {
        this.csrf = null;
        this.onUnauthorized?.(err);
      }
      throw err;
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // Accounts
  async login(id: string, password: string): Promise<LoginAnswer> {
    const a = await this.request<LoginAnswer>('POST', '/api/login', { id, password }, { noAuthRedirect: true });
    this.csrf = a.csrf_token;
    return a;
  }
  async me(): Promise<MeAnswer> {
    const a = await this.request<MeAnswer>('GET', '/api/me', undefined, { noAuthRedirect: true });
    this.csrf = a.csrf_token;
    return a;
  }
  async logout(): Promise<void> {
    try {
      await this.request('POST', '/api/logout', {}, { noAuthRedirect: true });
    } finally {
      this.csrf = null;
    }
  }
  signup(input: SignupInput): Promise<{ user: User }> {
    return this.request('POST', '/api/signup', input, { noAuthRedirect: true });
  }
  checkId(id: string): Promise<{ id: string; available: boolean }> {
    return this.request('GET', `/api/check_id${qs({ id })}`, undefined, { noAuthRedirect: true });
  }

  // Account self-service (docs/api.md). Each change of the profile, the password or the guardian's
  // e-mail carries the current password; a wrong one is a 401 invalid_credentials that keeps the session.
  updateProfile(current_password: string, changes: ProfileChanges): Promise<MeAnswer> {
    return this.request('PATCH', '/api/me', { current_password, ...changes }, { reauth: true });
  }
  /** The wearer says the address 119 would be told is still right. */
  confirmAddress(): Promise<MeAnswer> {
    return this.request('POST', '/api/me/address/confirm', {});
  }
  /** Ends every other session of the account; this one stays. */
  changePassword(current_password: string, new_password: string): Promise<{ sessions_ended: number }> {
    return this.request('POST', '/api/me/password', { current_password, new_password }, { reauth: true });
  }
  listSessions(): Promise<{ sessions: SessionInfo[] }> {
    return this.request('GET', '/api/me/sessions');
  }
  endSession(id: string): Promise<void> {
    return this.request('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`);
  }
  endOtherSessions(): Promise<{ sessions_ended: number }> {
    return this.request('DELETE', '/api/me/sessions');
  }
  /** "" removes the address. A new address is unverified until its code is confirmed. */
  setGuardEmail(guard_email: string, current_password: string): Promise<MeAnswer> {
    return this.request('PUT', '/api/me/guard_email', { guard_email, current_password }, { reauth: true });
  }

  // Verification of the guardian's number, the account holder's own number or the guardian's e-mail:
  // each gets messages only once its owner entered the code sent to it.
  sendPhoneCode(field: VerifyField = 'guard_phone_num'): Promise<PhoneVerificationState> {
    return this.request('POST', '/api/phone/verification', { field });
  }
  confirmPhoneCode(code: string, field: VerifyField = 'guard_phone_num'): Promise<PhoneVerificationState> {
    return this.request('POST', '/api/phone/verification/confirm', { code, field });
  }

  // Devices
  listDevices(): Promise<{ devices: Device[] }> {
    return this.request('GET', '/api/devices');
  }
  pairDevice(name: string): Promise<{ device: Device; device_token: string }> {
    return this.request('POST', '/api/devices', { name });
  }
  revokeDevice(id: string | number): Promise<unknown> {
    return this.request('DELETE', `/api/devices/${encodeURIComponent(String(id))}`);
  }

  // Vitals and status
  getStatuses(limit: number, wearer?: string): Promise<{ statuses: StatusRow[] }> {
    return this.request('GET', `/api/get_status/${qs({ limit, wearer })}`);
  }
  getVitals(wearer?: string): Promise<{ vitals: Vitals[] }> {
    return this.request('GET', `/api/vitals${qs({ wearer })}`);
  }
  /**
   * The readings of [from, to) summarised per bucket (the server picks the bucket, at most `points` of
   * them), with the wearer's caution/danger bands and usual range. One call per range change.
   */
  getVitalsTrend(opts: { from: string; to: string; points?: number; wearer?: string }): Promise<VitalsTrend> {
    return this.request('GET', `/api/vitals${qs(opts)}`);
  }
  /** The most recent UserPosture rows, newest first (the server's default is 10). 503 when it has no posture model. */
  getPostures(wearer?: string, limit?: number): Promise<{ postures: PostureRow[] }> {
    return this.request('GET', `/api/get_posture/${qs({ wearer, limit })}`);
  }
  ruleProfiles(): Promise<{ rule_profiles: string[] }> {
    return this.request('GET', '/api/rule_profiles');
  }
  setRuleProfile(rule_profile: string): Promise<unknown> {
    return this.request('PUT', '/api/me/rule_profile', { rule_profile });
  }

  // Incidents
  listIncidents(opts: { limit?: number; wearer?: string; lang?: string } = {}): Promise<{ incidents: Incident[] }> {
    return this.request('GET', `/api/incidents${qs(opts)}`);
  }
  getIncident(id: number, lang?: string): Promise<IncidentDetail> {
    return this.request('GET', `/api/incidents/${id}${qs({ lang })}`);
  }
  imOk(id: number): Promise<{ incident: Incident }> {
    return this.request('POST', `/api/incidents/${id}/ok`, {});
  }
  acknowledge(id: number): Promise<{ incident: Incident }> {
    return this.request('POST', `/api/incidents/${id}/ack`, {});
  }
  emergencyCall(location?: { latitude: number; longitude: number; accuracy_m?: number }): Promise<{ incident: Incident }> {
    return this.request('POST', '/api/emergency_call/', location ?? {});
  }

  // Guardians
  guardians(): Promise<{ wearers: GuardianLink[]; guardians: GuardianLink[] }> {
    return this.request('GET', '/api/guardians');
  }
  /** 202 whether or not the id belongs to anyone; the request shows in guardians() if it reached someone. */
  inviteGuardian(guardian_id: string): Promise<{ requested: true; guardian_id: string }> {
    return this.request('POST', '/api/guardians', { guardian_id });
  }
  askToWatch(wearer_id: string): Promise<{ requested: true; wearer_id: string }> {
    return this.request('POST', '/api/guardians', { wearer_id });
  }
  acceptLink(id: number | string): Promise<unknown> {
    return this.request('POST', `/api/guardians/${encodeURIComponent(String(id))}/accept`, {});
  }
  endLink(id: number | string): Promise<unknown> {
    return this.request('DELETE', `/api/guardians/${encodeURIComponent(String(id))}`);
  }
}

export const api = new ApiClient();
