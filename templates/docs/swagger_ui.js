"use strict";

// The schemas are public, so no credentials are injected into their requests.
window.ui = SwaggerUIBundle({
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  layout: "StandaloneLayout",
  ...{{ settings|safe }},
});
