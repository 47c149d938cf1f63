// The SOS call's location (issue 19): the browser's position, asked for when the wearer presses
// 신고하기 and sent with POST /api/emergency_call/ (the 119 report carries it). The call never waits
// on it: without the wearer's permission, without a position, or when the browser is slow, it goes
// without one after at most LOCATION_TIMEOUT_MS.
import { ApiError, type ApiClient } from '../api/client';
import type { Incident } from '../api/types';

export interface SosLocation {
  latitude: number;
  longitude: number;
  accuracy_m?: number;
}

/** The longest the call waits for a position, permission prompt included. */
export const LOCATION_TIMEOUT_MS = 3000;
/** A position the browser already has, up to a minute old, is good enough and comes at once. */
export const LOCATION_MAX_AGE_MS = 60_000;

/** The largest accuracy POST /api/emergency_call/ accepts (docs/openapi.json). */
const MAX_ACCURACY_M = 100_000;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Where the browser keeps the position, if it has one (absent on plain http, in old browsers, in tests). */
export function browserGeolocation(): Geolocation | undefined {
  return typeof navigator !== 'undefined' && navigator.geolocation ? navigator.geolocation : undefined;
}

/**
 * The wearer's position, or null when the browser has none to give: no geolocation, permission
 * denied, no fix, or nothing within `timeoutMs` (our own timer, since the browser's timeout does
 * not count the time the permission prompt stays open). Never rejects.
 */
export function currentLocation(geo: Geolocation | undefined = browserGeolocation(), timeoutMs = LOCATION_TIMEOUT_MS): Promise<SosLocation | null> {
  return new Promise((resolve) => {
    if (!geo || typeof geo.getCurrentPosition !== 'function') {
      resolve(null);
      return;
    }
    let done = false;
    const finish = (v: SosLocation | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    try {
      geo.getCurrentPosition(
        (p) => {
          const { latitude, longitude, accuracy } = p.coords;
          if (!finite(latitude) || !finite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
            finish(null);
            return;
          }
          const location: SosLocation = { latitude, longitude };
          // The server takes 0–100 km; a coarser fix is sent without its accuracy rather than refused.
          if (finite(accuracy) && accuracy >= 0 && accuracy <= MAX_ACCURACY_M) location.accuracy_m = accuracy;
          finish(location);
        },
        () => finish(null),
        { enableHighAccuracy: false, maximumAge: LOCATION_MAX_AGE_MS, timeout: timeoutMs },
      );
    } catch {
      finish(null);
    }
  });
}

export interface SosResult {
  incident: Incident;
  /** Whether the call carried the wearer's position. */
  located: boolean;
}

/** The SOS: the position if the browser gives one in time, then the call, with it or without. */
export async function callForHelp(api: Pick<ApiClient, 'emergencyCall'>, geo: Geolocation | undefined = browserGeolocation(), timeoutMs = LOCATION_TIMEOUT_MS): Promise<SosResult> {
  const location = await currentLocation(geo, timeoutMs);
  if (location) {
    try {
      return { incident: (await api.emergencyCall(location)).incident, located: true };
    } catch (e) {
      // A position the server will not take must not stop the call: send it again without one.
      if (!(e instanceof ApiError && e.status === 400)) throw e;
    }
  }
  return { incident: (await api.emergencyCall()).incident, located: false };
}
