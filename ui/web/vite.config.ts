import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build is embedded in the daemon (ui/build.rs) and served under a Content-Security-Policy that allows
// only our own scripts and styles: nothing may be inlined into index.html.
export default defineConfig({
  plugins: [react()],
  build: {
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
