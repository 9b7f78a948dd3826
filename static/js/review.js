/* Review grid: a page of proposals, least certain first. Each face is a toggle button: pressed
 * means "reject". Approve page (A) posts the whole page at once -- approve the unpressed faces,
 * reject the pressed ones -- with a token so a retry records nothing twice; then the next page.
 */
(function () {
  "use strict";

  const root = document.getElementById("review");
  if (!root) return;
  const urls = JSON.parse(root.dataset.urls);
  const msgs = JSON.parse(document.getElementById("review-messages").textContent);
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const grid = document.getElementById("review-grid");
  const empty = document.getElementById("review-empty");
  const status = document.getElementById("review-status");
  const source = document.getElementById("filter-source");
  const editState = document.getElementById("filter-edit");
  const approveButton = document.getElementById("approve-page");
  const nextButton = document.getElementById("next-page");
  const CROP = 160;

  let faces = [];
  let offset = 0;
  let submitting = false;

  function token() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function params() {
    const p = new URLSearchParams(window.location.search);
    if (p.get("source")) source.value = p.get("source");
    if (p.get("edit_state")) editState.value = p.get("edit_state");
  }

  function load() {
    const q = new URLSearchParams({ source: source.value, edit_state: editState.value,
                                    offset: String(offset) });
    root.dataset.state = "loading";
    return fetch(urls.page + "?" + q.toString(),
                 { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        faces = data.faces || [];
        render();
        root.dataset.state = faces.length ? "ready" : "empty";
      });
  }

  function drawCrop(canvas, img, box) {
    const w = img.naturalWidth, h = img.naturalHeight;
    const side = Math.max(box.width * w, box.height * h) * 1.4;
    const cx = (box.left + box.width / 2) * w, cy = (box.top + box.height / 2) * h;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#eaecf0";
    ctx.fillRect(0, 0, CROP, CROP);
    ctx.drawImage(img, cx - side / 2, cy - side / 2, side, side, 0, 0, CROP, CROP);
  }

  function card(face, index) {
    const li = document.createElement("li");
    li.className = "review-card";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "review-face";
    button.dataset.face = String(face.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", msgs.reject_face.replace("%n", String(index + 1))
      .replace("%f", face.title));
    const canvas = document.createElement("canvas");
    canvas.width = CROP;
    canvas.height = CROP;
    canvas.setAttribute("aria-hidden", "true");
    const img = new Image();
    img.addEventListener("load", function () { drawCrop(canvas, img, face.box); });
    img.src = face.thumb_url;
    const caption = document.createElement("span");
    caption.className = "review-caption";
    let text = face.score === null ? "" : msgs.score + " " + face.score.toFixed(2);
    if (face.edit_state) text += " · " + msgs.edit + ": " + face.edit_state;
    caption.textContent = text;
    const mark = document.createElement("span");
    mark.className = "reject-mark";
    mark.textContent = msgs.rejected;
    button.append(canvas, caption, mark);
    button.addEventListener("click", function () {
      const pressed = button.getAttribute("aria-pressed") === "true";
      button.setAttribute("aria-pressed", pressed ? "false" : "true");
    });
    li.append(button);
    return li;
  }

  function render() {
    grid.replaceChildren.apply(grid, faces.map(card));
    empty.hidden = faces.length > 0;
    approveButton.disabled = faces.length === 0;
  }

  function submit() {
    if (submitting || !faces.length) return;
    const approve = [], reject = [];
    grid.querySelectorAll("button.review-face").forEach(function (b) {
      (b.getAttribute("aria-pressed") === "true" ? reject : approve).push(Number(b.dataset.face));
    });
    submitting = true;
    approveButton.disabled = true;
    const body = { approve: approve, reject: reject, token: token() };
    let delay = 500;
    function attempt() {
      fetch(urls.submit, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf,
                   "Accept": "application/json" },
        body: JSON.stringify(body),
      }).then(function (r) {
        if (r.ok) return r.json().then(function (data) {
          status.textContent = msgs.done.replace("%a", String(data.approved))
            .replace("%r", String(data.rejected));
          submitting = false;
          offset = 0;     // the page's faces leave the model filter; the next ones move up
          return load().then(function () { grid.focus(); });
        });
        if (r.status >= 400 && r.status < 500 && r.status !== 429) {
          return r.json().then(function (data) {
            status.textContent = msgs.refused.replace("%s", data.error.message);
            submitting = false;
            approveButton.disabled = false;
          });
        }
        return Promise.reject(r);
      }).catch(function () {
        status.textContent = msgs.retrying;
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(attempt, delay);   // same token: recorded once
      });
    }
    attempt();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName)) return;
    if (ev.key === "a" || ev.key === "A") { ev.preventDefault(); submit(); }
  });
  approveButton.addEventListener("click", submit);
  nextButton.addEventListener("click", function () {
    offset += faces.length || 0;
    load();
  });
  [source, editState].forEach(function (s) {
    s.addEventListener("change", function () { offset = 0; load(); });
  });
  grid.tabIndex = -1;
  params();
  load();
})();
