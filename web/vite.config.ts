import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the dashboard talks to a running VitalGuard server through Vite's proxy, so the
// session cookie and the WebSocket stay same-origin: VG_API=http://127.0.0.1:8080 npm run dev
const api = process.env.VG_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  server: {
    proxy: {
      // changeOrigin keeps the server's Origin check happy for POSTs and the WebSocket upgrade.
      '/api': {
        target: api,
        changeOrigin: true,
        ws: true,
        // The server refuses state-changing requests and WebSocket upgrades whose Origin names
        // another site; behind this proxy the browser's origin is Vite's, so present the API's.
        configure: (proxy) => {
          proxy.on('proxyReq', (req) => req.setHeader('origin', api));
          proxy.on('proxyReqWs', (req) => req.setHeader('origin', api));
        },
      },
    },
  },
  build: {
    outDir: 'dist',
    // No public source maps: the built files are all a browser (or anyone) gets.
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
});
