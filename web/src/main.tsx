import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { I18nProvider } from './i18n/i18n';
import { applyDisplay } from './lib/display';
import './styles.css';

// The saved text size and theme before the first paint, so the page does not jump or flash.
applyDisplay();

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <I18nProvider>
      <App />
    </I18nProvider>
  </StrictMode>,
);
