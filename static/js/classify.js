/* Classify: one face at a time, keyboard first.
 *
 * - Prefetch: a few faces are reserved ahead (POST queue/next) and their images preloaded, so a
 *   key press shows the next face from memory, without waiting for the network.
 * - Outbox: every answer, undo and drawn box gets a random token and goes into an outbox kept
 *   in sessionStorage; one sender posts them in order and retries until the server answers.
 *   The server records a token once, so a retry never doubles an answer and a reload loses none.
 * - Undo (U/Z) re-shows the last face at once from local history and queues an undo; the server
 *   takes back this user's newest answer, in the same order.
 * - Grid pages (static/js/grid.js): when the model finds faces likely (its proposals among
 *   them), up to 12 are reserved (POST grid/next) and shown at once, "Are these all <person>?".
 *   Clicking a face (or its key) marks it "not <person>"; Enter/Y sends the page as one outbox
 *   item (POST grid); Backspace/Z undoes the last page (the server takes back every answer of
 *   the page in one undo). A grid is shown at the start, right after a full page, and when
 *   nothing else is left to ask (even of one face); every third answer and every progress
 *   poll look for one of at least 3 faces (grid/next reserves nothing otherwise), shown at
 *   the next answer. The "Show pages of likely faces" box turns them off for this browser.
 * - Stop signal: the progress API's `stop` says how many faces are still uncertain and about
 *   how many are not found yet; once the model is done the page says so, and only after
 *   "Keep asking anyway" (here, or ?more=1 from the project page) does it ask for unlikely
 *   faces too (`more: true`).
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
  const PROGRESS_POLL_MS = 15000;
  const GRID_K = 12;       // faces on a grid page
  const GRID_MIN = 3;      // a grid with fewer only when nothing else is left to ask

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
    single: document.getElementById("single-view"),
    grid: document.getElementById("grid"),
    gridFaces: document.getElementById("grid-faces"),
    stop: document.getElementById("stop-signal"),
    stopOpen: document.getElementById("stop-open"),
    stopDone: document.getElementById("stop-done"),
    stopDoneText: document.getElementById("stop-done-text"),
    keepAsking: document.getElementById("keep-asking"),
    stopMore: document.getElementById("stop-more"),
    gridEnabled: document.getElementById("grid-enabled"),
  };
  const GRID_KEY = "likeness.grid";   // "off": this browser asks one face at a time

  let current = null;          // the face shown
  let queue = [];              // prefetched faces, reserved for me
  let history = [];            // faces answered on this page, newest last (for instant undo)
  let fetching = false;
  let answered = 0;
  let drawing = null;          // {tool, replaces}
  let outbox = loadOutbox();
  let sending = false;
  const preloaded = new Map(); // url -> Image
  const gridView = LikenessGrid.create(el.gridFaces, msgs);
  let gridShown = null;        // the faces of the grid page on screen
  let nextGrid = null;         // a grid page reserved in the background, shown at the next answer
  let gridFetching = false;
  let gridAfter = 0;           // no grid before this many answers ("Ask me one at a time")
  let sinceGridCheck = 0;      // single answers since the last look for a grid page
  let stop = null;             // the progress API's stop signal
  // "Keep asking anyway": also faces the model finds unlikely once it is done.
  let more = new URLSearchParams(window.location.search).get("more") === "1";

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

  function ids(faces) { return faces.map(function (f) { return f.id; }); }

  function heldIds() {
    const held = ids(queue);
    if (current) held.push(current.id);
    if (gridShown) held.push.apply(held, ids(gridShown));
    if (nextGrid) held.push.apply(held, ids(nextGrid));
    return held;
  }

  // Faces answered here whose answer the server may not have yet: never take them back from
  // a prefetch (they are still unlabelled and reserved for me until the answer lands).
  function pendingIds() {
    const pending = [];
    outbox.forEach(function (x) {
      if (x.kind === "answer") pending.push(x.body.face_id);
      else if (x.kind === "grid") pending.push.apply(pending, x.body.confirm.concat(x.body.reject));
    });
    return pending;
  }

  // --- the queue -------------------------------------------------------------------------

  // Requests that reserve faces run one after another, each sending what the page holds at
  // its start: the server hands out faces already reserved for me, so two at once could
  // return the same face for a single question and for a grid page.
  let reserving = Promise.resolve();
  function serially(task) {
    const run = reserving.then(task, task);
    reserving = run.catch(function () {});
    return run;
  }

  function prefetch(force) {
    if (fetching || (!force && PREFETCH - queue.length <= 0)) return;
    fetching = true;
    serially(function () {
      const held = heldIds().concat(pendingIds()).slice(0, 40);
      const body = { k: Math.max(0, PREFETCH - queue.length), held: held };
      if (more) body.more = true;
      return post(urls.next, body);
    })
      .then(function (r) { return r.ok ? r.data : Promise.reject(r); })
      .then(function (data) {
        const known = new Set(heldIds().concat(pendingIds()));
        data.faces.forEach(function (f) {
          if (!known.has(f.id)) { queue.push(f); preload(f); }
        });
        showQueued();
        if (gridShown) return;
        if (!current && queue.length) advance();
        else if (!current) showEmpty();
      })
      .catch(function () {
        if (!current) showEmpty();
        else window.setTimeout(function () { prefetch(false); }, 1000);   // try again
      })
      .finally(function () { fetching = false; });
  }

  function showEmpty() {
    if (gridShown) return;
    if (el.status.textContent === msgs.loading) say("");
    // Done for now: the stop signal says so (with "Keep asking anyway") instead.
    el.empty.hidden = Boolean(stop && stop.done && !more);
    root.dataset.state = "empty";
    window.setTimeout(function () {
      if (current || gridShown) return;
      // Nothing else to ask: a grid of even one likely face.
      fetchGrid(1).then(function (faces) {
        if (faces.length && !current && !gridShown) showGrid(faces, []);
        else prefetch(true);
      });
    }, EMPTY_POLL_MS);
  }

  function advance() {
    if (nextGrid && !drawing) {
      // A grid page was reserved meanwhile: it is the next question.
      const faces = nextGrid;
      nextGrid = null;
      if (current) queue.unshift(current);
      current = null;
      showGrid(faces, []);
      return;
    }
    current = queue.shift() || null;
    render();
    prefetch(false);
  }

  // --- grid pages --------------------------------------------------------------------------

  let gridChoice = null;        // the checkbox, when this browser cannot store it
  function gridOn() {
    if (gridChoice !== null) return gridChoice;
    try { return localStorage.getItem(GRID_KEY) !== "off"; } catch (e) { return true; }
  }

  // Reserve up to GRID_K likely faces (none if fewer than `min` are free for me).
  function fetchGrid(min) {
    if (gridFetching || gridShown || nextGrid || root.dataset.paused || !gridOn()) {
      return Promise.resolve([]);
    }
    gridFetching = true;
    return serially(function () {
      const held = heldIds().concat(pendingIds()).slice(0, 40);
      return post(urls.grid_next, { k: GRID_K, min: min, held: held });
    })
      .then(function (r) { return r.ok ? r.data.faces : []; })
      .catch(function () { return []; })
      .then(function (faces) {
        gridFetching = false;
        const known = new Set(heldIds().concat(pendingIds()));
        const fresh = faces.filter(function (f) { return !known.has(f.id); });
        // Fewer than asked for, or a page came back meanwhile (an undo): not wanted after all.
        if (fresh.length < min || gridShown || nextGrid) {
          if (fresh.length) post(urls.release, { ids: ids(fresh) }).catch(function () {});
          return [];
        }
        fresh.forEach(preload);
        return fresh;
      });
  }

  function showGrid(faces, rejected) {
    gridShown = faces;
    gridView.show(faces, rejected);
    el.single.hidden = true;
    el.empty.hidden = true;
    el.grid.hidden = false;
    root.dataset.state = "grid";
    root.dataset.grid = ids(faces).join(",");
    root.dataset.face = "";
    el.gridFaces.focus();
  }

  function hideGrid() {
    gridShown = null;
    el.grid.hidden = true;
    el.single.hidden = false;
    root.dataset.grid = "";
  }

  // Back to one face at a time: the face I was shown before, or the next one.
  function backToSingle() {
    hideGrid();
    if (current) render();
    else advance();
  }

  function confirmGrid() {
    if (!gridShown) return;
    const faces = gridView.faces();
    const page = gridView.answers();
    enqueue({ kind: "grid", url: urls.grid, token: token(),
              body: { confirm: page.confirm, reject: page.reject } });
    history.push({ grid: faces, rejected: page.reject });
    answered += faces.length;
    el.answered.textContent = String(answered);
    root.dataset.answered = String(answered);
    say(msgs.grid_saved.replace("%y", String(page.confirm.length))
      .replace("%n", String(page.reject.length)));
    hideGrid();
    el.single.hidden = true;
    if (faces.length < GRID_K) { backToSingle(); return; }
    // A full page: there may well be more proposals right away.
    fetchGrid(GRID_MIN).then(function (next) {
      if (next.length && !gridShown) showGrid(next, []);
      else if (!gridShown) backToSingle();
    });
  }

  // "Ask me one at a time": the page's faces become the next single questions.
  function gridToSingle() {
    if (!gridShown) return;
    const faces = gridView.faces();
    hideGrid();
    if (current) queue.unshift(current);
    current = null;
    queue = faces.concat(queue);
    gridAfter = answered + faces.length;
    advance();
  }

  // Reserve a grid page in the background when at least GRID_MIN faces are likely; it is
  // shown at the next answer (never under a key press meant for the face on screen).
  function wantGrid() {
    if (gridShown || nextGrid || drawing || answered < gridAfter) return;
    fetchGrid(GRID_MIN).then(function (faces) {
      if (!faces.length) return;
      if (!current && !gridShown && root.dataset.state !== "face") showGrid(faces, []);
      else nextGrid = faces;
    });
  }

  // --- the stop signal ---------------------------------------------------------------------

  function showStop(signal) {
    stop = signal;
    if (!signal || signal.uncertain === null || signal.uncertain === undefined) {
      el.stop.hidden = true;
      root.dataset.done = "";
      return;
    }
    const text = Likeness.stopText(signal, msgs);
    el.stop.hidden = false;
    el.stopOpen.hidden = signal.done;
    el.stopOpen.textContent = text.open;
    el.stopDone.hidden = !signal.done;
    el.stopDoneText.textContent = text.done;
    el.keepAsking.hidden = more;
    el.stopMore.hidden = !more;
    root.dataset.done = signal.done ? "1" : "";
    if (root.dataset.state === "empty") el.empty.hidden = signal.done && !more;
  }

  function pollProgress() {
    if (document.hidden) { window.setTimeout(pollProgress, PROGRESS_POLL_MS); return; }
    Likeness.api("GET", urls.progress)
      .then(function (r) { return r.ok ? r.data : Promise.reject(r); })
      .then(function (data) {
        showStop(data.stop);
        wantGrid();
      })
      .catch(function () { /* the next poll */ })
      .finally(function () { window.setTimeout(pollProgress, PROGRESS_POLL_MS); });
  }

  el.gridEnabled.checked = gridOn();
  el.gridEnabled.addEventListener("change", function () {
    gridChoice = el.gridEnabled.checked;
    try { localStorage.setItem(GRID_KEY, gridChoice ? "on" : "off"); }
    catch (e) { /* not stored: for this page only */ }
    if (el.gridEnabled.checked) { wantGrid(); return; }
    if (nextGrid) { queue = nextGrid.concat(queue); nextGrid = null; }
    if (gridShown) gridToSingle();
    else if (!current && queue.length) advance();
  });

  el.keepAsking.addEventListener("click", function () {
    more = true;
    showStop(stop);
    el.stopMore.tabIndex = -1;
    el.stopMore.focus();
    if (!current && !gridShown) prefetch(true);
  });

  function showQueued() { root.dataset.queued = String(queue.length); }

  // --- rendering -------------------------------------------------------------------------

  function render() {
    showQueued();
    if (!current) {
      el.img.removeAttribute("src");
      el.box.hidden = true;
      el.others.replaceChildren();
      el.link.textContent = "";
      el.link.removeAttribute("href");      // no face, no link
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
    if (!current || drawing || gridShown) return;
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
    // A retrain follows every few answers: look for a grid page as often (it shows at the
    // next answer; nothing is reserved while fewer than GRID_MIN faces are likely).
    sinceGridCheck += 1;
    if (sinceGridCheck >= 3) { sinceGridCheck = 0; wantGrid(); }
  }

  function undo() {
    if (drawing) return;
    enqueue({ kind: "undo", url: urls.undo, token: token(), body: {} });
    const face = history.pop();
    if (face && face.grid) {
      // The whole page comes back as it was sent; a page on screen is asked one at a time.
      if (gridShown) queue = gridView.faces().concat(queue);
      if (current) queue.unshift(current);
      current = null;
      answered = Math.max(0, answered - face.grid.length);
      el.answered.textContent = String(answered);
      root.dataset.answered = String(answered);
      showGrid(face.grid, face.rejected);
      say(msgs.grid_undone);
      return;
    }
    if (face && gridShown) {
      queue = gridView.faces().concat(queue);
      hideGrid();
    }
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
      else if (data.page) {
        const back = ids(data.page.faces);
        if (gridShown) {
          // Faces somebody else has on screen now (an undone skip) leave the page.
          const shown = new Set(ids(gridShown));
          if (back.some(function (id) { return shown.has(id); })) gridView.keep(back);
          gridShown = gridView.faces();
          root.dataset.grid = ids(gridShown).join(",");
        } else if (!history.length && data.page.faces.length) {
          // After a reload there is no local history: show the page the server brought back.
          if (current) queue.unshift(current);
          current = null;
          showGrid(data.page.faces, []);
        }
      } else if (!data.undone.held) {
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
    } else if (item.kind !== "box" && item.kind !== "grid" && !outbox.length) {
      say(msgs.saved);
    }
  }

  // --- drawing a missed face or fixing a box -----------------------------------------------

  function startDrawing(replaces) {
    if (!current || drawing || gridShown) return;
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
    // Typing goes to text fields; a checkbox (the grid option) keeps the shortcuts.
    const box = target && target.tagName === "INPUT" && /^(checkbox|radio)$/.test(target.type);
    if (target && !box && (target.isContentEditable ||
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
    if (gridShown) {
      // Enter on one of the page's own buttons (Undo, one at a time) does what it says.
      const ownButton = target && target.tagName === "BUTTON" &&
        !target.classList.contains("grid-face") && el.grid.contains(target);
      if (key === "y" || (key === "enter" && !ownButton)) { ev.preventDefault(); confirmGrid(); }
      else if (key === "backspace" || key === "u" || key === "z") { ev.preventDefault(); undo(); }
      else if (gridView.keyIndex(ev.key) >= 0) {
        ev.preventDefault();
        gridView.toggle(gridView.keyIndex(ev.key));
      }
      return;
    }
    if (KEYS[key]) { ev.preventDefault(); answer(KEYS[key]); }
    else if (key === "u" || key === "z" || key === "backspace") { ev.preventDefault(); undo(); }
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
  document.getElementById("grid-confirm").addEventListener("click", confirmGrid);
  document.getElementById("grid-undo").addEventListener("click", undo);
  document.getElementById("grid-single").addEventListener("click", gridToSingle);

  if (el.reference) {
    el.reference.addEventListener("error", function once() {
      el.reference.removeEventListener("error", once);
      if (el.reference.dataset.fallback) el.reference.src = el.reference.dataset.fallback;
    });
  }

  // Keep my reservations while the page is open; give them back when it closes. (A grid page
  // and the single questions behind it may hold more than one request takes: 40 at a time.)
  function inChunks(list, send) {
    for (let i = 0; i < list.length; i += 40) send(list.slice(i, i + 40));
  }
  window.setInterval(function () {
    inChunks(heldIds(), function (held) {
      post(urls.next, { k: 0, held: held }).catch(function () {});
    });
  }, RENEW_MS);
  window.addEventListener("pagehide", function () {
    inChunks(heldIds(), function (held) {
      post(urls.release, { ids: held }, true).catch(function () {});
    });
  });
  window.addEventListener("online", flush);

  saveOutbox();
  flush();
  if (root.dataset.paused) {
    root.dataset.state = "paused";     // the page says why; no faces are asked for
  } else {
    say(msgs.loading);
    // A grid page first when the model has enough proposals; then single questions behind it.
    fetchGrid(GRID_MIN).then(function (faces) {
      if (faces.length) { say(""); showGrid(faces, []); }
      prefetch(true);
    });
    pollProgress();
  }
})();
