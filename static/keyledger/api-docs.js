// Starts Swagger UI (vendored under static/vendor/swagger-ui/) on the API docs page. A file,
// not an inline script: the Content-Security-Policy forbids those. The schema's address comes
// from the page (data-schema-url); "Try it out" calls go out with the signed-in session.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle === "undefined") { return; }
    var csrf = root.dataset.csrfToken;
    window.SwaggerUIBundle({
      url: root.dataset.schemaUrl,
      domNode: root,
      deepLinking: false,
      tryItOutEnabled: false,
      validatorUrl: null,
      requestInterceptor: function (request) {
        request.headers["X-CSRFToken"] = csrf;
        return request;
      }
    });
  });
})();
