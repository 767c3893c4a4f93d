/* The API documentation page (/docs): starts Swagger UI from the vendored bundle, which the page
 * loads as a classic script before this module (the CSP forbids inline scripts and CDNs). */

window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
