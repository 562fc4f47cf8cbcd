// Starts Swagger UI on this server's own OpenAPI document: everything the
// page loads comes from gantryd (no validator, no external network).
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: 'swagger.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
