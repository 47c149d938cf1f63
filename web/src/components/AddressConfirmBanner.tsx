import { useState } from 'react';
import type { ApiClient } from '../api/client';
import type { User } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { explainError } from '../lib/accountErrors';
import { addressFor119 } from '../lib/profile';

/**
 * The wearer's dashboard asks, calmly, whether the address 119 would be told is still right when the
 * server says it is due (never confirmed, or long ago: `address_confirm_due`). Two answers: "yes"
 * (POST /api/me/address/confirm) or "change it" (the details form in Settings, address focused).
 * After "yes" it thanks once and stays until the page changes, so the answer is seen to have worked.
 */
export function AddressConfirmBanner({ user, api, onConfirmed }: { user: User; api: ApiClient; onConfirmed: () => Promise<void> | void }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (done) {
    return (
      <p className="notice address-confirmed" role="status" data-testid="address-confirmed">
        {t('address.confirm.thanks')}
      </p>
    );
  }
  if (!user.address_confirm_due) return null;

  const yes = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.confirmAddress();
      setDone(true);
      await onConfirmed();
    } catch (e) {
      setError(explainError(e, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="address-confirm panel" aria-labelledby="address-confirm-title" data-testid="address-confirm">
      <h2 id="address-confirm-title">{t('address.confirm.title')}</h2>
      <p className="address-confirm-address" data-testid="address-confirm-address">
        {addressFor119(user.address, user.detailed_address)}
      </p>
      <p className="field-hint">{t('address.confirm.text')}</p>
      <div className="btn-row">
        <button type="button" className="btn btn-ok" onClick={() => void yes()} disabled={busy} data-testid="address-yes">
          {t('address.confirm.yes')}
        </button>
        <a className="btn btn-secondary" href="#/settings?edit=address" data-testid="address-change">
          {t('address.confirm.change')}
        </a>
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
