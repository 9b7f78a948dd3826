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

  function params() {
    const p = new URLSearchParams(window.location.search);
    if (p.get("source")) source.value = p.get("source");
    if (p.get("edit_state")) editState.value = p.get("edit_state");
  }

  function load() {
    const q = new URLSearchParams({ source: source.value, edit_state: editState.value,
                                    offset: String(offset) });
    root.dataset.state = "loading";
    return Likeness.api("GET", urls.page + "?" + q.toString())
      .then(function (r) {
        faces = (r.data && r.data.faces) || [];
        render();
        root.dataset.state = faces.length ? "ready" : "empty";
      });
  }

  function card(face, index) {
    const caption = document.createElement("span");
    let text = face.score === null ? "" : msgs.score + " " + face.score.toFixed(2);
    if (face.edit_state) text += " · " + msgs.edit + ": " + face.edit_state;
    caption.textContent = text;
    const made = Likeness.faceCard(face, CROP, caption, msgs.reject_face
      .replace("%n", String(index + 1)).replace("%f", face.title), msgs.rejected);
    const img = new Image();
    img.addEventListener("load", function () {
      Likeness.drawCrop(made.canvas, img, face.box, 1.4);
    });
    img.src = face.thumb_url;
    made.button.addEventListener("click", function () {
      const pressed = made.button.getAttribute("aria-pressed") === "true";
      made.button.setAttribute("aria-pressed", pressed ? "false" : "true");
    });
    return made.li;
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
    // The same token on every retry: the server records the page once.
    const body = { approve: approve, reject: reject, token: Likeness.token() };
    Likeness.send(urls.submit, body, function () { status.textContent = msgs.retrying; })
      .then(function (r) {
        submitting = false;
        if (!r.ok) {
          const error = r.data && r.data.error;
          status.textContent = msgs.refused.replace("%s", (error && error.message) || r.status);
          approveButton.disabled = false;
          return;
        }
        status.textContent = msgs.done.replace("%a", String(r.data.approved))
          .replace("%r", String(r.data.rejected));
        offset = 0;     // the page's faces leave the model filter; the next ones move up
        return load().then(function () { grid.focus(); });
      });
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
