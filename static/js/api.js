/* Likeness browser helpers, loaded on every page (base.html) before the page's own script.
 *
 *   Likeness.api(method, url, body, options) -> Promise<{ok, status, data}>
 *       same-origin JSON request with the session's CSRF token; rejects only when the network
 *       fails. options: {signal, keepalive}.
 *   Likeness.send(url, body, onRetry) -> Promise<{ok, status, data}>
 *       a POST that is retried (backoff up to 15 s) until the server gives a final answer:
 *       any 2xx, or a 4xx other than 408/429. Give the body a Likeness.token() so the server
 *       records a retried request once.
 *   Likeness.token() -> a random client token.
 *   Likeness.drawCrop(canvas, img, box, margin) draws the face `box` (fractions of the image)
 *       of a loaded <img> into a square canvas, with `margin` times the face's size around it.
 *   Likeness.faceCard(face, size, caption, name, mark) -> {li, button, canvas}
 *       a face in a page of faces (review, grid): a toggle button (aria-pressed) holding a
 *       size x size canvas for the crop, the visible `caption` element, a visually hidden
 *       `name` (what pressing does; the accessible name keeps the visible text) and the
 *       `mark` shown while pressed.
 *   Likeness.stopText(stop, msgs) -> {open, done}
 *       the stop signal's two sentences (progress API `stop`), from the templates
 *       msgs.stop_open ("{uncertain}", "{left}") and msgs.stop_done ("{found}", "{left}").
 */
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function api(method, url, body, options) {
    const init = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      signal: options && options.signal,
      keepalive: Boolean(options && options.keepalive),
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function isFinal(status) {
    return status < 500 && status !== 408 && status !== 429;
  }

  function send(url, body, onRetry) {
    let delay = 500;
    return new Promise(function (resolve) {
      function attempt() {
        api("POST", url, body, { keepalive: true }).then(function (result) {
          if (isFinal(result.status)) { resolve(result); return; }
          return Promise.reject(result);
        }).catch(function () {
          if (onRetry) onRetry();
          delay = Math.min(delay * 2, 15000);
          window.setTimeout(attempt, delay);
        });
      }
      attempt();
    });
  }

  function token() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function drawCrop(canvas, img, box, margin) {
    const w = img.naturalWidth, h = img.naturalHeight;
    const side = Math.max(box.width * w, box.height * h) * margin;
    const cx = (box.left + box.width / 2) * w, cy = (box.top + box.height / 2) * h;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#eaecf0";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, cx - side / 2, cy - side / 2, side, side,
                  0, 0, canvas.width, canvas.height);
  }

  function faceCard(face, size, caption, name, mark) {
    const li = document.createElement("li");
    li.className = "review-card";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "review-face";
    button.dataset.face = String(face.id);
    button.setAttribute("aria-pressed", "false");
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    canvas.setAttribute("aria-hidden", "true");
    caption.classList.add("review-caption");
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + name;
    const pressedMark = document.createElement("span");
    pressedMark.className = "reject-mark";
    pressedMark.textContent = mark;
    button.append(canvas, caption, hidden, pressedMark);
    li.append(button);
    return { li: li, button: button, canvas: canvas };
  }

  function stopText(stop, msgs) {
    const values = { uncertain: stop.uncertain, found: stop.found,
                     left: stop.left_low === stop.left_high ? String(stop.left_low)
                       : stop.left_low + "–" + stop.left_high };
    function fill(template) {
      return template.replace(/\{(\w+)\}/g, function (all, name) {
        return name in values ? String(values[name]) : all;
      });
    }
    return { open: fill(msgs.stop_open), done: fill(msgs.stop_done) };
  }

  window.Likeness = { api: api, send: send, token: token, drawCrop: drawCrop,
                      faceCard: faceCard, stopText: stopText, csrfToken: csrfToken };
}());
