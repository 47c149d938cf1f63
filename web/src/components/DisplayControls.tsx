import { useI18n } from '../i18n/i18n';
import { TEXT_SIZES, useDisplay } from '../lib/display';

/**
 * In the header of every page: the text size in three steps (a group of pressed/unpressed buttons,
 * the "가" growing with the step) and the high-contrast switch. Big targets, words, no icons alone.
 */
export function DisplayControls() {
  const { t } = useI18n();
  const { textSize, setTextSize, contrast, setContrast } = useDisplay();
  return (
    <div className="display-controls">
      <div className="size-control" role="group" aria-labelledby="size-control-label" data-testid="size-control">
        <span id="size-control-label" className="size-control-label">
          {t('display.size')}
        </span>
        <span className="size-control-steps">
          {TEXT_SIZES.map((s) => (
            <button
              key={s}
              type="button"
              className={`size-step size-step-${s}`}
              aria-pressed={textSize === s}
              data-size={s}
              onClick={() => setTextSize(s)}
            >
              <span className="size-step-mark" aria-hidden="true">
                {t('display.size.mark')}
              </span>
              {t(`display.size.${s}`)}
            </button>
          ))}
        </span>
      </div>
      <button
        type="button"
        className="contrast-toggle"
        aria-pressed={contrast}
        data-testid="contrast-toggle"
        onClick={() => setContrast(!contrast)}
      >
        <span className="contrast-toggle-mark" aria-hidden="true" />
        {t('display.contrast')}
      </button>
    </div>
  );
}
