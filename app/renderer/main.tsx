// Renderer entry: connect to whichever host serves us and render the studio.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectStudio } from './api/connect.js';
import { App } from './App.js';
import { I18nProvider } from './i18n/i18n.js';
import './styles.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <I18nProvider>
        <App api={connectStudio()} />
      </I18nProvider>
    </StrictMode>,
  );
}
