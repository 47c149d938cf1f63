import { useId, type InputHTMLAttributes, type Ref } from 'react';
import { useI18n } from '../i18n/i18n';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'value'> {
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  error?: string | null;
  /** A neutral or positive message (e.g. "this ID is free"), announced politely. */
  info?: string | null;
  optional?: boolean;
  /** The input element (React 19 passes ref as a prop), e.g. to focus it. */
  ref?: Ref<HTMLInputElement>;
}

export function Field({ label, value, onChange, hint, error, info, optional, id, ref, ...rest }: FieldProps) {
  const { t } = useI18n();
  const auto = useId();
  const inputId = id ?? auto;
  const hintId = `${inputId}-hint`;
  const errId = `${inputId}-err`;
  const infoId = `${inputId}-info`;
  const describedBy = [hint ? hintId : null, error ? errId : null, info ? infoId : null].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={inputId}>
        {label} <span className="field-req">{optional ? t('common.optional') : t('common.required')}</span>
      </label>
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      <input
        ref={ref}
        id={inputId}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        required={!optional}
        {...rest}
      />
      <div aria-live="polite">
        {error ? (
          <p id={errId} className="field-error" data-testid={`error-${rest.name ?? inputId}`}>
            <span aria-hidden="true">⚠ </span>
            {error}
          </p>
        ) : info ? (
          <p id={infoId} className="field-info">
            {info}
          </p>
        ) : null}
      </div>
    </div>
  );
}
