// Likeness JSON API helper: same-origin fetch with the session's CSRF token.
// Usage: Likeness.api("POST", "/api/join", {code: "..."}) -> Promise<{status, data}>.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function api(method, url, body, options) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrfToken()},
      signal: options && options.signal
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      if (response.status === 204) { return {status: 204, data: null}; }
      return response.json().then(function (data) {
        return {status: response.status, data: data};
      }, function () { return {status: response.status, data: null}; });
    });
  }
  window.Likeness = window.Likeness || {};
  window.Likeness.api = api;
  window.Likeness.csrfToken = csrfToken;
}());
