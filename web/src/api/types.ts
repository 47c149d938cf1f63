// The dashboard's names for the shapes of docs/openapi.json, the contract this dashboard is written
// against. Not written by hand: each is an alias of what `npm run gen:types` (openapi-typescript)
// generates from the document into schema.d.ts; change the document, not these.
import type { components } from './schema';

type Schemas = components['schemas'];

export type Level = Schemas['Verdict']['level'];
export type StatusCode = Schemas['Verdict']['status'];

export type User = Schemas['User'];
export type LoginAnswer = Schemas['LoginAnswer'];
export type MeAnswer = Schemas['MeAnswer'];
/** What can be verified by a code: the guardian's number, the account holder's own, the guardian's e-mail. */
export type VerifyField = Schemas['PhoneVerificationState']['field'];
export type PhoneVerificationState = Schemas['PhoneVerificationState'];
/** The editable fields of PATCH /api/me (its body less current_password); only the ones that change are sent. */
export type ProfileChanges = Omit<Schemas['ProfileChangeInput'], 'current_password'>;
/** One row of GET /api/me/sessions: `id` is a public id, not the session token. */
export type SessionInfo = Schemas['Session'];
export type SignupInput = Schemas['SignupInput'];
export type Device = Schemas['Device'];
export type StatusRow = Schemas['StatusRow'];
export type Vitals = Schemas['Vitals'];
export type RuleHit = Schemas['RuleHit'];
export type Guidance = Schemas['Guidance'];
export type Phase = Schemas['Incident']['phase'];
export type Incident = Schemas['Incident'];
export type IncidentEvent = Schemas['IncidentEvent'];
export type Notification = Schemas['Notification'];
export type IncidentDetail = Schemas['IncidentDetail'];
export type GuardianLink = Schemas['GuardianLink'];
/** GET /api/vitals?from=&to=: the readings per bucket, the bands of the wearer's rules, the usual range. */
export type VitalsTrend = Schemas['VitalsTrend'];
export type TrendBucket = Schemas['TrendBucket'];
/** One metric over the readings of a bucket that carry it. */
export type MetricStats = Schemas['MetricSummary'];
/** Where a rule calls a value caution or danger; `for_s`: only when it lasts that long. */
export type TrendBand = Schemas['ValueBand'];
export type UsualRange = Schemas['UsualRange'];
/** The metrics a bucket may summarise. */
export type TrendMetric = Exclude<keyof TrendBucket, 'start' | 'readings'>;
/**
 * A row of the posture history: GET /api/get_posture's rows, and rows the dashboard makes of stream
 * events. 0 Downstair, 1 Upstair, 2 Running, 3 Sitdown, 4 StandUp, 5 Walking, 6 Lying, 7 Fall (the
 * seed's labels, the API's `name`); the dashboard says them in its own words by the number.
 * Wider than the document on purpose: the dashboard also shows rows of older servers, which sent the
 * posture's name instead of its number and no name field (src/lib/posture.ts reads both).
 */
export type PostureRow = Omit<Schemas['PostureRow'], 'posture' | 'name'> & {
  posture: Schemas['PostureRow']['posture'] | string;
  name?: Schemas['PostureRow']['name'] | string;
};
/** Where a fall stands: a Fall window is "suspected" until the server confirms or dismisses it. */
export type FallState = Schemas['FallInfo']['state'];
/**
 * The stream's posture event: one per posture change or fall transition. Wider than the document on
 * purpose, like PostureRow: older servers sent the name as `posture`, `updated_at` instead of `at`,
 * and not every field.
 */
export type PostureEvent = Partial<Omit<Schemas['WebSocketPosture'], 'type' | 'wearer' | 'posture' | 'name'>> &
  Pick<Schemas['WebSocketPosture'], 'type' | 'wearer'> & {
    posture: Schemas['WebSocketPosture']['posture'] | string;
    /** The seed's label; older servers sent the model's class names. The dashboard goes by the number. */
    name?: Schemas['WebSocketPosture']['name'] | string;
    /** Older servers named the time updated_at. */
    updated_at?: string;
  };
/** The answer to POST /api/update_posture. */
export type PostureAnswer = Schemas['PostureResult'];
/** A message of the live stream (/api/stream); posture events as PostureEvent reads them. */
export type StreamMessage = Exclude<Schemas['StreamMessage'], Schemas['WebSocketPosture']> | PostureEvent;
