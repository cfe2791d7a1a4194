import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build is embedded in the daemon (ui/build.rs) and served under a Content-Security-Policy that allows
// only our own scripts and styles: nothing may be inlined into index.html.
export default defineConfig({
  plugins: [react()],
  // The server puts a fresh nonce here in every answer with the page (ui/src/web.rs); the editor reads it from
  // the `csp-nonce` meta tag Vite adds, for the style elements CodeMirror creates.
  html: { cspNonce: "__SIGHTLINE_CSP_NONCE__" },
  build: {
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
