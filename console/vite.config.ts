import { defineConfig } from "vite";

// Built into dist/ and embedded in the hellojohn binary, served under /console/.
// No inline scripts or styles are emitted, so the page runs under a CSP without
// 'unsafe-inline'; no module-preload polyfill (it would be an inline script in old Vite).
export default defineConfig({
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: { proxy: { "/v1": "http://127.0.0.1:3000", "/cp": "http://127.0.0.1:3000" } },
});
