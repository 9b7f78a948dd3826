/* Classify: one face at a time, keyboard first.
 *
 * - Prefetch: a few faces are reserved ahead (POST queue/next) and their images preloaded, so a
 *   key press shows the next face from memory, without waiting for the network.
 * - Outbox: every answer, undo and drawn box gets a random token and goes into an outbox kept
 *   in sessionStorage; one sender posts them in order and retries until the server answers.
 *   The server records a token once, so a retry never doubles an answer and a reload loses none.
 * - Undo (U/Z) re-shows the last face at once from local history and queues an undo; the server
 *   takes back this user's newest answer, in the same order.
 */
(function () {
  "use strict";

  const root = document.getElementById("classify");
  if (!root) return;
  const urls = JSON.parse(root.dataset.urls);
  const msgs = JSON.parse(document.getElementById("classify-messages").textContent);
  const projectId = root.dataset.project;
  const OUTBOX_KEY = "likeness.outbox." + projectId;
  const PREFETCH = 5;
  const RENEW_MS = 45000;
  const EMPTY_POLL_MS = 4000;

  const el = {
    crop: document.getElementById("face-crop"),
    img: document.getElementById("face-image"),
    frame: document.getElementById("image-frame"),
    box: document.getElementById("face-box"),
    others: document.getElementById("other-boxes"),
    layer: document.getElementById("draw-layer"),
    link: document.getElementById("file-link"),
    source: document.getElementById("face-source"),
    empty: document.getElementById("empty"),
    status: document.getElementById("status"),
    answered: document.getElementById("answered-count"),
    outbox: document.getElementById("outbox-count"),
    drawControls: document.getElementById("draw-controls"),
    drawSave: document.getElementById("draw-save"),
    drawSaveOther: document.getElementById("draw-save-other"),
    drawCancel: document.getElementById("draw-cancel"),
    reference: document.getElementById("reference-image"),
  };

  let current = null;          // the face shown
  let queue = [];              // prefetched faces, reserved for me
  let history = [];            // faces answered on this page, newest last (for instant undo)
  let fetching = false;
  let answered = 0;
  let drawing = null;          // {tool, replaces}
  let outbox = loadOutbox();
  let sending = false;
  const preloaded = new Map(); // url -> Image

  // --- helpers ---------------------------------------------------------------------------

  const token = Likeness.token;

  function say(text) { el.status.textContent = text; }

  function format(template, value) { return template.replace("%s", value); }

  // The file's description page on Commons (not the raw image).
  function filePage(title) {
    const path = encodeURIComponent(title.replace(/ /g, "_")).replace(/%3A/g, ":")
      .replace(/%2F/g, "/");
    return root.dataset.wiki + path;
  }

  function post(url, body, keepalive) {
    return Likeness.api("POST", url, body, { keepalive: keepalive });
  }

  function loadOutbox() {
    try { return JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]"); }
    catch (e) { return []; }
  }

  function saveOutbox() {
    try { sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox)); } catch (e) { /* full */ }
    el.outbox.textContent = String(outbox.length);
    root.dataset.outbox = String(outbox.length);
  }

  function preload(face) {
    if (face.thumb_url && !preloaded.has(face.thumb_url)) {
      const im = new Image();
      im.decoding = "async";
      im.src = face.thumb_url;
      preloaded.set(face.thumb_url, im);
      if (preloaded.size > 30) preloaded.delete(preloaded.keys().next().value);
    }
  }

  function heldIds() {
    const ids = queue.map(function (f) { return f.id; });
    if (current) ids.push(current.id);
    return ids;
  }

  // Faces answered here whose answer the server may not have yet: never take them back from
  // a prefetch (they are still unlabelled and reserved for me until the answer lands).
  function pendingIds() {
    return outbox.filter(function (x) { return x.kind === "answer"; })
      .map(function (x) { return x.body.face_id; });
  }

  // --- the queue -------------------------------------------------------------------------

  function prefetch(force) {
    const want = PREFETCH - queue.length;
    if (fetching || (!force && want <= 0)) return;
    fetching = true;
    const held = heldIds().concat(pendingIds()).slice(0, 40);
    post(urls.next, { k: Math.max(0, want), held: held })
      .then(function (r) { return r.ok ? r.data : Promise.reject(r); })
      .then(function (data) {
        const known = new Set(heldIds().concat(pendingIds()));
        data.faces.forEach(function (f) {
          if (!known.has(f.id)) { queue.push(f); preload(f); }
        });
        if (!current && queue.length) advance();
        else if (!current) showEmpty();
        showQueued();
      })
      .catch(function () {
        if (!current) showEmpty();
        else window.setTimeout(function () { prefetch(false); }, 1000);   // try again
      })
      .finally(function () { fetching = false; });
  }

  function showEmpty() {
    if (el.status.textContent === msgs.loading) say("");
    el.empty.hidden = false;
    root.dataset.state = "empty";
    window.setTimeout(function () { if (!current) prefetch(true); }, EMPTY_POLL_MS);
  }

  function advance() {
    current = queue.shift() || null;
    render();
    prefetch(false);
  }

  function showQueued() { root.dataset.queued = String(queue.length); }

  // --- rendering -------------------------------------------------------------------------

  function render() {
    showQueued();
    if (!current) {
      el.img.removeAttribute("src");
      el.box.hidden = true;
      el.others.replaceChildren();
      clearCrop();
      root.dataset.face = "";
      showEmpty();
      return;
    }
    el.empty.hidden = true;
    if (root.dataset.state !== "face") say("");
    root.dataset.state = "face";
    root.dataset.face = String(current.id);
    const face = current;
    el.img.alt = format(msgs.face_of, face.title);
    el.link.textContent = face.title;
    el.link.href = filePage(face.title);
    const notes = [];
    if (face.source === "seed") notes.push(msgs.source_seed);
    if (face.source === "manual") notes.push(msgs.source_manual);
    if (face.score !== null && face.score !== undefined) {
      notes.push(format(msgs.score, face.score.toFixed(2)));
    }
    el.source.textContent = notes.length ? "(" + notes.join(", ") + ")" : "";
    LikenessBoxDraw.place(el.box, face.box);
    el.box.hidden = false;
    el.others.replaceChildren();
    if (el.img.getAttribute("src") !== face.thumb_url) {
      clearCrop();
      el.img.src = face.thumb_url;
    }
    if (el.img.complete && el.img.naturalWidth) drawCrop();
    loadOtherBoxes(face);
  }

  function clearCrop() {
    const ctx = el.crop.getContext("2d");
    ctx.clearRect(0, 0, el.crop.width, el.crop.height);
  }

  function drawCrop() {
    // The face and a margin of 0.3 times its size on each side, as a square.
    if (current && el.img.naturalWidth) Likeness.drawCrop(el.crop, el.img, current.box, 1.6);
  }

  function drawOtherBoxes(boxes) {
    const nodes = boxes.map(function (box) {
      const d = document.createElement("div");
      d.className = "other-box";
      LikenessBoxDraw.place(d, box);
      return d;
    });
    el.others.replaceChildren.apply(el.others, nodes);
  }

  function loadOtherBoxes(face) {
    if (face.others) { drawOtherBoxes(face.others); return; }   // sent with the face
    Likeness.api("GET", urls.image_faces.replace(/\/0\/faces$/, "/" + face.image_id + "/faces"))
      .then(function (r) { return r.ok ? r.data : { faces: [] }; })
      .then(function (data) {
        if (!current || current.id !== face.id) return;
        drawOtherBoxes(data.faces.filter(function (f) { return f.id !== face.id; })
          .map(function (f) { return f.box; }));
      })
      .catch(function () { /* context only */ });
  }

  el.img.addEventListener("load", function () {
    // Fit tall images on screen: the frame (and so the box overlay) keeps the image's aspect.
    const ratio = el.img.naturalWidth / el.img.naturalHeight;
    el.frame.style.maxWidth = "calc(60vh * " + ratio.toFixed(4) + ")";
    drawCrop();
  });

  // --- answering -------------------------------------------------------------------------

  function answer(value) {
    if (!current || drawing) return;
    const started = performance.now();
    const face = current;
    const item = { kind: "answer", url: urls.answer, token: token(),
                   body: { face_id: face.id, answer: value } };
    history.push(face);
    if (history.length > 200) history.shift();
    enqueue(item);
    answered += 1;
    el.answered.textContent = String(answered);
    root.dataset.answered = String(answered);
    advance();
    // Key press to the next face on screen, for the browser test's report.
    root.dataset.lastRenderMs = (performance.now() - started).toFixed(1);
  }

  function undo() {
    if (drawing) return;
    enqueue({ kind: "undo", url: urls.undo, token: token(), body: {} });
    const face = history.pop();
    if (face && face.drawnBox) {
      say(msgs.undone);        // the server takes back the drawn box's answer
    } else if (face) {
      // Show it again at once; the server re-reserves it for me when it takes the answer back.
      if (current) queue.unshift(current);
      current = face;
      answered = Math.max(0, answered - 1);
      el.answered.textContent = String(answered);
      render();
      say(msgs.undone);
    }
  }

  function enqueue(item) {
    outbox.push(item);
    saveOutbox();
    flush();
  }

  function flush() {
    if (sending || !outbox.length) return;
    sending = true;
    const item = outbox[0];
    const body = Object.assign({ token: item.token }, item.body);
    Likeness.send(item.url, body, function () { say(msgs.retrying); })
      .then(function (r) {
        if (r.ok) {
          done(item, r.data);
        } else {
          // Will never succeed (e.g. the face was deleted): drop it and say so.
          const error = r.data && r.data.error;
          say(format(msgs.refused, (error && error.message) || String(r.status)));
          drop(item);
        }
        sending = false;
        flush();
      });
  }

  function drop(item) {
    outbox = outbox.filter(function (x) { return x.token !== item.token; });
    saveOutbox();
  }

  function done(item, data) {
    drop(item);
    if (item.kind === "undo") {
      if (!data.undone) say(msgs.nothing_to_undo);
      else if (!data.undone.held) {
        // Someone else has this face on screen now (an undone skip): never show it to two.
        if (current && current.id === data.undone.face_id) advance();
        say(msgs.taken);
      } else if (data.face && !history.length && (!current || current.id !== data.face.id)) {
        // After a reload there is no local history: show the face the server brought back.
        if (current) queue.unshift(current);
        current = data.face;
        preload(current);
        render();
      }
    } else if (item.kind !== "box" && !outbox.length) {
      say(msgs.saved);
    }
  }

  // --- drawing a missed face or fixing a box -----------------------------------------------

  function startDrawing(replaces) {
    if (!current || drawing) return;
    const tool = LikenessBoxDraw.start(el.img, el.layer, function (box) {
      el.drawSave.disabled = el.drawSaveOther.disabled =
        !(box && box.width > 0.01 && box.height > 0.01);
    });
    drawing = { tool: tool, replaces: replaces, imageId: current.image_id };
    el.drawControls.hidden = false;
    el.drawSave.disabled = el.drawSaveOther.disabled = true;
    root.dataset.drawing = "1";
    el.frame.classList.add("is-drawing");
  }

  function stopDrawing() {
    if (!drawing) return;
    drawing.tool.stop();
    drawing = null;
    el.drawControls.hidden = true;
    root.dataset.drawing = "";
    el.frame.classList.remove("is-drawing");
  }

  // answer: "yes" (the drawer says it is the person) or "no" (someone else's face).
  function saveDrawing(answer) {
    if (!drawing) return;
    const box = drawing.tool.box();
    if (!box || box.width <= 0.01 || box.height <= 0.01) { say(msgs.box_too_small); return; }
    const body = { image_id: drawing.imageId, box: box, answer: answer };
    if (drawing.replaces) body.replaces = drawing.replaces;
    const replaced = drawing.replaces;
    stopDrawing();
    enqueue({ kind: "box", url: urls.box, token: token(), body: body });
    history.push({ drawnBox: true });
    if (replaced && current && current.id === replaced) { advance(); return; }
    // Keep the saved box on the image, so the drawer sees what was recorded.
    const shown = document.createElement("div");
    shown.className = "drawn-box saved-box";
    shown.dataset.answer = answer;
    LikenessBoxDraw.place(shown, box);
    el.others.append(shown);
    say(answer === "yes" ? msgs.box_saved : msgs.box_saved_other);
  }

  // --- input -----------------------------------------------------------------------------

  const KEYS = {
    y: "yes", arrowleft: "yes", n: "no", arrowright: "no", s: "skip", arrowdown: "skip",
    x: "not_face",
  };

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || (ev.altKey && !drawing)) return;
    const target = ev.target;
    if (target && (target.isContentEditable ||
        /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName))) return;
    const key = ev.key.toLowerCase();
    if (drawing) {
      if (key === "escape") { ev.preventDefault(); stopDrawing(); }
      else if (key === "enter") { ev.preventDefault(); saveDrawing("yes"); }
      else if (/^arrow/.test(key)) {
        ev.preventDefault();
        drawing.tool.nudge(ev.key, ev.shiftKey, ev.altKey);
      }
      return;
    }
    if (KEYS[key]) { ev.preventDefault(); answer(KEYS[key]); }
    else if (key === "u" || key === "z") { ev.preventDefault(); undo(); }
    else if (key === "d") { ev.preventDefault(); startDrawing(null); }
    else if (key === "e") { ev.preventDefault(); if (current) startDrawing(current.id); }
  });

  root.querySelectorAll("button[data-answer]").forEach(function (b) {
    b.addEventListener("click", function () { answer(b.dataset.answer); });
  });
  root.querySelectorAll("button[data-action]").forEach(function (b) {
    b.addEventListener("click", function () {
      const action = b.dataset.action;
      if (action === "undo") undo();
      else if (action === "draw") startDrawing(null);
      else if (action === "redraw" && current) startDrawing(current.id);
    });
  });
  el.drawSave.addEventListener("click", function () { saveDrawing("yes"); });
  el.drawSaveOther.addEventListener("click", function () { saveDrawing("no"); });
  el.drawCancel.addEventListener("click", stopDrawing);

  if (el.reference) {
    el.reference.addEventListener("error", function once() {
      el.reference.removeEventListener("error", once);
      if (el.reference.dataset.fallback) el.reference.src = el.reference.dataset.fallback;
    });
  }

  // Keep my reservations while the page is open; give them back when it closes.
  window.setInterval(function () {
    if (heldIds().length) post(urls.next, { k: 0, held: heldIds() }).catch(function () {});
  }, RENEW_MS);
  window.addEventListener("pagehide", function () {
    const ids = heldIds();
    if (ids.length) post(urls.release, { ids: ids }, true).catch(function () {});
  });
  window.addEventListener("online", flush);

  saveOutbox();
  flush();
  if (root.dataset.paused) {
    root.dataset.state = "paused";     // the page says why; no faces are asked for
  } else {
    say(msgs.loading);
    prefetch(true);
  }
})();
