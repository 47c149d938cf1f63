// Shapes of docs/api.md, the contract this dashboard is written against.

export type Level = 'normal' | 'caution' | 'danger';
export type StatusCode = 0 | 1 | 2;

export interface User {
  id: string;
  name: string;
  age?: number;
  address?: string;
  detailed_address?: string;
  phone_num?: string;
  guard_name?: string;
  guard_phone_num?: string;
  rule_profile?: string;
  [extra: string]: unknown;
}

export interface LoginAnswer {
  user: User;
  csrf_token: string;
  session_expires_at?: string;
  idle_timeout_seconds?: number;
}

export interface MeAnswer {
  user: User;
  csrf_token: string;
  session_expires_at?: string;
}

export interface SignupInput {
  id: string;
  password: string;
  name: string;
  age: number;
  address: string;
  detailed_address?: string;
  phone_num: string;
  guard_name?: string;
  guard_phone_num?: string;
}

export interface Device {
  device_id: string | number;
  name: string;
  created_at: string;
  last_seen_at?: string | null;
  revoked_at?: string | null;
  active: boolean;
}

export interface StatusRow {
  status: StatusCode;
  level: Level;
  updated_at: string;
  reading_at?: string | null;
  causes?: string[];
  explanation?: string;
}

export interface Vitals {
  timestamp: string;
  heart_rate?: number;
  respiration_rate?: number;
  spo2?: number;
  skin_temp?: number;
  steps?: number;
  calories?: number;
  glucose?: number;
}

export interface RuleHit {
  rule: string;
  kind?: string;
  metric?: string;
  level?: Level;
  value?: number | null;
  detail?: string;
}

export interface Guidance {
  language: string;
  state: string;
  cause: string;
  actions: string[];
  warning: string;
  call_119: boolean;
  sources?: { publisher: string; title: string; url: string }[];
  text?: string;
}

export type Phase = 'guidance' | 'guardians' | 'countdown' | 'dispatched' | 'closed';

export interface Incident {
  id: number;
  wearer: string;
  kind: 'vitals' | 'fall' | 'sos';
  phase: Phase;
  status: StatusCode;
  level: Level;
  max_status?: StatusCode;
  causes?: string[];
  rules?: string[];
  explanation?: string;
  opened_at: string;
  updated_at?: string;
  deadline?: string;
  seconds_left?: number;
  escalate_at?: string;
  guardians_notified_at?: string;
  dispatched_at?: string;
  acknowledged_at?: string;
  acknowledged_by?: string;
  wearer_ok_at?: string;
  snoozed_until?: string;
  closed_at?: string;
  close_reason?: string;
  guidance?: Guidance | null;
}

export interface IncidentEvent {
  at: string;
  type: string;
  actor?: string;
  detail?: unknown;
}

export interface Notification {
  channel: 'sms' | 'webhook' | 'email' | 'emergency' | string;
  to: string;
  purpose: string;
  state: 'pending' | 'delivering' | 'delivered' | 'failed' | string;
  attempts?: number;
  last_error?: string | null;
  delivered_at?: string | null;
}

export interface IncidentDetail {
  incident: Incident;
  events: IncidentEvent[];
  notifications: Notification[];
}

export interface GuardianLink {
  id: number | string;
  wearer: { id: string; name: string };
  guardian: { id: string; name: string };
  state: 'pending' | 'active';
  requested_by: 'wearer' | 'guardian';
  created_at: string;
}

export interface PostureRow {
  /** 0 Downstairs, 1 Upstairs, 2 Running, 3 Sitting, 4 Standing, 5 Walking, 6 Lying, 7 Fall. */
  posture: number | string;
  name?: string;
  updated_at: string;
}

/** Where a fall stands: a Fall window is "suspected" until the server confirms or dismisses it. */
export type FallState = 'none' | 'suspected' | 'confirmed' | 'dismissed';

/** The stream's posture event: one per classified window. */
export interface PostureEvent {
  type: 'posture';
  wearer: string;
  posture: number | string;
  name?: string;
  previous_posture?: number | null;
  changed?: boolean;
  fall?: FallState;
  at?: string;
  /** Older servers named the time updated_at. */
  updated_at?: string;
}

/** The answer to POST /api/update_posture. */
export interface PostureAnswer {
  posture: number;
  name: string;
  other?: boolean;
  probabilities?: Record<string, number>;
  updated_at: string;
  model?: string;
  fall?: { state: FallState; [extra: string]: unknown };
}

export type StreamMessage =
  | { type: 'hello'; wearer: string; status: StatusCode | null; level: Level | null }
  | {
      type: 'detection';
      wearer: string;
      changed: boolean;
      previous_status: StatusCode | null;
      status: StatusCode;
      level: Level;
      causes: string[];
      rules: RuleHit[];
      explanation: string;
      advice_only: boolean;
      reading_at: string | null;
      received_at: string;
      detected_at: string;
    }
  | { type: 'incident'; incident: Incident; notices?: string[] }
  | PostureEvent;
