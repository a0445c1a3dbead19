// Builds the React renderer into dist/renderer; relative asset paths so Electron's app:// scheme and the browser host both serve it.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: 'app/renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../../dist/renderer', emptyOutDir: true, sourcemap: true, target: 'chrome120' },
});
