/* The edits page, built only on the JSON API (webapp/blueprints/api_edits.py), the same calls a
 * script would make:
 *   GET  .../edits            counts, rights, what 'Send' would do and how long, progress
 *   GET  .../edits/preview    the statements 'Send' would write (paged, with thumbnails)
 *   GET  .../edits/list       one group of edits (paged with a cursor)
 *   GET  .../edits/batches    batches; GET/POST .../batches/<id>/undo  plan, then undo
 *   POST .../edits/send | cancel | retry
 * While edits are queued it polls every two seconds and updates itself without a reload.
 */
(function () {
  "use strict";

  const root = document.getElementById("edits");
  if (!root) return;
  const urls = JSON.parse(root.dataset.urls);
  const msgs = JSON.parse(document.getElementById("edits-messages").textContent);
  const locale = root.dataset.locale || "en";
  const GROUPS = ["open", "failed", "written", "skipped", "removed", "cancelled"];
  const SVG = "http://www.w3.org/2000/svg";
  const FAST_MS = 2000, SLOW_MS = 15000;

  const $ = function (id) { return document.getElementById(id); };
  let summary = null;
  let signature = "";           // counts last rendered: reload the lists when they change
  let previewCursor = null;
  let batchCursor = null;
  let pollTimer = null;
  let undoing = null;           // the plan shown in the dialog

  // --- small helpers ---------------------------------------------------------------------

  function fill(template, values) {
    return Object.keys(values).reduce(function (text, key) {
      return text.split(key).join(String(values[key]));
    }, template);
  }

  function duration(seconds) {
    if (seconds < 90) return fill(msgs.seconds, { "%n": Math.max(1, Math.round(seconds)) });
    if (seconds < 5400) return fill(msgs.minutes, { "%n": Math.round(seconds / 60) });
    return fill(msgs.hours, { "%n": (seconds / 3600).toFixed(1) });
  }

  function when(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function link(href, text) {
    const a = el("a", null, text);
    a.href = href;
    a.rel = "noopener";
    return a;
  }

  function get(url, params) {
    const query = params ? "?" + new URLSearchParams(params).toString() : "";
    return Likeness.api("GET", url + query).then(function (r) {
      return r.ok ? r.data : Promise.reject(r);
    });
  }

  function refused(r) {
    const error = r && r.data && r.data.error;
    return fill(msgs.error, { "%s": (error && error.message) || (r && r.status) || "?" });
  }

  function say(text) { $("progress-text").textContent = text; }

  /* A thumbnail with the face region drawn on it (an SVG: no inline style needed). */
  function thumb(item, title) {
    const w = item.thumb_width || 100, h = item.thumb_height || 100;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("class", "thumb");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title);
    if (item.thumb_url) {
      const image = document.createElementNS(SVG, "image");
      image.setAttribute("href", item.thumb_url);
      image.setAttribute("width", String(w));
      image.setAttribute("height", String(h));
      svg.append(image);
    }
    if (item.box) {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(item.box.left * w));
      rect.setAttribute("y", String(item.box.top * h));
      rect.setAttribute("width", String(item.box.width * w));
      rect.setAttribute("height", String(item.box.height * h));
      rect.setAttribute("class", "region");
      rect.setAttribute("stroke-width", String(Math.max(w, h) / 80));
      svg.append(rect);
    }
    return svg;
  }

  // --- the send box ----------------------------------------------------------------------

  function renderSendBox(data) {
    const p = data.preview;
    $("send-summary").textContent = p.count ? fill(msgs.summary, { "%n": p.count }) : "";
    const covered = [];
    if (p.already) covered.push(fill(msgs.covered, { "%n": p.already }));
    if (p.undone) covered.push(fill(msgs.undone, { "%n": p.undone }));
    $("send-covered").textContent = covered.join(" ");
    $("send-covered").hidden = !covered.length;
    const blocked = data.rights.state === "blocked" || data.rights.state === "no_grant";
    $("send-refused").hidden = !(p.count && (blocked || !data.can_send));
    $("send-refused").textContent = !data.can_send ? msgs.not_allowed
      : (blocked ? data.rights.message : "");
    $("send-action").hidden = !(p.count && data.can_send && !blocked);
    $("send-button").textContent = fill(msgs.send, { "%n": p.count });
    let estimate = fill(msgs.estimate, { "%t": duration(p.estimate_seconds),
                                         "%s": data.per_edit_seconds });
    if (data.sending.ahead) estimate += " " + fill(msgs.ahead, { "%n": data.sending.ahead });
    $("send-estimate").textContent = estimate;
    $("send-nothing").hidden = p.count > 0;
    $("send-nothing").textContent = (p.already || p.undone) ? msgs.nothing : msgs.nothing_yet;
  }

  function loadPreview(more) {
    const params = { limit: "24" };
    if (more && previewCursor) params.cursor = previewCursor;
    return get(urls.preview, params).then(function (data) {
      const nodes = data.items.map(function (item) {
        const li = el("li", "thumb-card");
        li.append(thumb(item, item.title));
        const caption = el("span", "thumb-caption");
        caption.append(link(item.file_url, item.title.replace(/^File:/, "")));
        li.append(caption);
        return li;
      });
      if (more) $("preview-grid").append.apply($("preview-grid"), nodes);
      else $("preview-grid").replaceChildren.apply($("preview-grid"), nodes);
      previewCursor = data.next_cursor;
      $("preview-more").hidden = !previewCursor;
    });
  }

  // --- progress --------------------------------------------------------------------------

  function renderProgress(data) {
    const s = data.sending, c = data.counts;
    const sending = s.open > 0;
    $("progress-box").hidden = !sending;
    root.dataset.sending = sending ? "1" : "";
    if (!sending) return;
    // Progress of what is queued now against what this project finished.
    const finished = c.done + c.skipped + c.failed;
    const total = finished + s.open;
    $("send-progress").max = total || 1;
    $("send-progress").value = finished;
    say(fill(msgs.progress, { "%d": finished, "%n": total,
                              "%t": duration(s.estimate_seconds) }));
    $("progress-now").textContent = s.now ? fill(msgs.now, { "%f": s.now.title })
      : msgs.waiting;
    const cancellable = c.pending;
    $("cancel-button").hidden = !(data.can_send && cancellable);
    $("cancel-button").textContent = fill(msgs.cancel, { "%n": cancellable });
  }

  // --- results, grouped ------------------------------------------------------------------

  function editItem(edit) {
    const li = el("li", "edit-item edit-" + edit.state);
    li.dataset.edit = String(edit.id);
    li.append(thumb(edit, edit.title));
    const body = el("div", "edit-body");
    const head = el("p", "edit-head");
    head.append(link(edit.file_url, edit.title.replace(/^File:/, "")));
    body.append(head);
    const what = el("p", "edit-what");
    if (edit.state === "done") {
      what.append(document.createTextNode(msgs["action_" + edit.action] + " · "));
      what.append(link(edit.diff_url, msgs.view_diff));
    } else if (edit.state === "skipped" && edit.diff_url) {
      what.append(link(edit.diff_url, msgs.view_diff));
    }
    if (what.childNodes.length) body.append(what);
    if (edit.reason && edit.state !== "done") {
      body.append(el("p", "edit-reason", edit.reason.text));
      if (edit.state === "failed" || edit.state === "cancelled") {
        body.append(el("p", "edit-todo", fill(msgs.todo, { "%s": edit.reason.todo })));
      }
      if (edit.reason.detail && edit.reason.detail !== edit.reason.text) {
        body.append(el("p", "edit-detail muted", edit.reason.detail));
      }
    }
    const meta = el("p", "edit-meta muted",
                    fill(msgs.by, { "%u": edit.sender || "?", "%w": when(edit.updated_at) }));
    if (!edit.queued_here && edit.project_id) {
      meta.textContent += " · " + fill(msgs.by_other_project, { "%p": edit.project_id });
    }
    body.append(meta);
    li.append(body);
    return li;
  }

  function groupSection(name) {
    let section = $("group-" + name);
    if (section) return section;
    section = el("section", "edit-group");
    section.id = "group-" + name;
    section.setAttribute("aria-labelledby", "group-" + name + "-title");
    const h = el("h4", null);
    h.id = "group-" + name + "-title";
    section.append(h, el("ul", "edit-list"));
    const more = el("button", "secondary", msgs.more);
    more.type = "button";
    more.hidden = true;
    more.addEventListener("click", function () { loadGroup(name, true); });
    section.append(more);
    $("groups").append(section);
    return section;
  }

  function loadGroup(name, more) {
    const section = groupSection(name);
    const params = { group: name, limit: "50" };
    if (more && section.dataset.cursor) params.cursor = section.dataset.cursor;
    return get(urls.list, params).then(function (data) {
      const list = section.querySelector("ul");
      const items = data.edits.map(editItem);
      if (more) list.append.apply(list, items);
      else list.replaceChildren.apply(list, items);
      section.dataset.cursor = data.next_cursor || "";
      section.querySelector("button").hidden = !data.next_cursor;
    });
  }

  function renderGroups(data) {
    const c = data.counts;
    const count = { open: c.pending + c.sending, written: c.done - c.removed,
                    skipped: c.skipped, failed: c.failed, cancelled: c.cancelled,
                    removed: c.removed };
    const loads = [];
    GROUPS.forEach(function (name) {
      const n = count[name];
      const existing = $("group-" + name);
      if (!n) { if (existing) existing.remove(); return; }
      const section = groupSection(name);
      section.querySelector("h4").textContent = msgs["group_" + name] + " (" + n + ")";
      loads.push(loadGroup(name, false));
    });
    // Keep the groups in a fixed order whatever order they appeared in.
    GROUPS.forEach(function (name) {
      const s = $("group-" + name);
      if (s) $("groups").append(s);
    });
    const total = GROUPS.reduce(function (sum, name) { return sum + count[name]; }, 0);
    $("results-note").hidden = false;
    $("results-note").textContent = !total ? msgs.none
      : (c.elsewhere ? fill(msgs.elsewhere, { "%n": c.elsewhere }) : "");
    $("results-note").hidden = !$("results-note").textContent;
    $("retry-button").hidden = !(c.failed && data.can_send);
    return Promise.all(loads);
  }

  // --- batches and their undo ------------------------------------------------------------

  function batchItem(batch) {
    const li = el("li", "batch");
    li.dataset.batch = batch.batch_id;
    const c = batch.counts;
    li.append(el("p", "batch-head", fill(msgs.batch, {
      "%b": batch.batch_id, "%u": batch.sender || "?", "%w": when(batch.last_change) })));
    const parts = GROUPS.filter(function (name) { return c[name]; }).map(function (name) {
      return fill(msgs["count_" + name], { "%n": c[name] });
    });
    const counts = el("p", "batch-counts muted", parts.join(", "));
    counts.append(document.createTextNode(" · "));
    counts.append(link(batch.editgroups_url, msgs.batch_editgroups));
    li.append(counts);
    const undoable = (c.written || 0) + (c.open || 0) + (c.failed || 0);
    if (summary && summary.can_undo && undoable) {
      const button = el("button", "secondary undo-batch", msgs.undo_batch);
      button.type = "button";
      button.addEventListener("click", function () { openUndo(batch.batch_id); });
      li.append(button);
    }
    return li;
  }

  function loadBatches(more) {
    const params = { limit: "10" };
    if (more && batchCursor) params.cursor = batchCursor;
    return get(urls.batches, params).then(function (data) {
      const items = data.batches.map(batchItem);
      if (more) $("batch-list").append.apply($("batch-list"), items);
      else $("batch-list").replaceChildren.apply($("batch-list"), items);
      batchCursor = data.next_cursor;
      $("batches-more").hidden = !batchCursor;
      $("batches-box").hidden = !$("batch-list").children.length;
    });
  }

  function undoUrl(batchId) { return urls.batches + "/" + batchId + "/undo"; }

  function showPlan(plan) {
    undoing = plan;
    $("undo-title").textContent = fill(msgs.undo_title, { "%b": plan.batch_id });
    $("undo-text").textContent = plan.remove ? fill(msgs.undo_text, { "%n": plan.remove })
      : (plan.cancel ? "" : msgs.undo_nothing);
    $("undo-files").replaceChildren.apply($("undo-files"), plan.files.map(function (edit) {
      const li = el("li");
      li.append(link(edit.file_url, edit.title.replace(/^File:/, "")));
      if (edit.region) li.append(document.createTextNode(" (" + edit.region + ")"));
      return li;
    }));
    $("undo-more").textContent = plan.more ? fill(msgs.undo_more, { "%n": plan.more }) : "";
    const extra = [];
    if (plan.cancel) extra.push(fill(msgs.undo_cancel, { "%n": plan.cancel }));
    if (plan.in_flight) extra.push(fill(msgs.undo_in_flight, { "%n": plan.in_flight }));
    if (plan.kept) extra.push(fill(msgs.undo_kept, { "%n": plan.kept }));
    $("undo-extra").textContent = extra.join(" ");
    $("undo-confirm").hidden = !(plan.remove || plan.cancel);
    $("undo-confirm").textContent = plan.remove
      ? fill(msgs.undo_confirm, { "%n": plan.remove })
      : fill(msgs.undo_confirm_cancel, { "%n": plan.cancel });
  }

  function openUndo(batchId) {
    $("undo-error").textContent = "";
    get(undoUrl(batchId)).then(function (plan) {
      showPlan(plan);
      $("undo-dialog").showModal();
      $("undo-keep").focus();
    }).catch(function (r) { say(refused(r)); });
  }

  function confirmUndo() {
    const plan = undoing;
    if (!plan) return;
    $("undo-confirm").disabled = true;
    Likeness.api("POST", undoUrl(plan.batch_id),
                 { expect_remove: plan.remove, expect_cancel: plan.cancel })
      .then(function (r) {
        $("undo-confirm").disabled = false;
        if (r.status === 409) {
          $("undo-error").textContent = refused(r);
          return get(undoUrl(plan.batch_id)).then(showPlan);
        }
        if (!r.ok) { $("undo-error").textContent = refused(r); return; }
        $("undo-dialog").close();
        undoing = null;
        announce(fill(msgs.undo_queued, { "%n": r.data.removals }));
        return refresh(true);
      });
  }

  // --- actions ---------------------------------------------------------------------------

  function announce(text) {
    $("progress-box").hidden = false;
    say(text);
  }

  function post(url, button, done) {
    button.disabled = true;
    return Likeness.api("POST", url, {}).then(function (r) {
      button.disabled = false;
      if (!r.ok) { announce(refused(r)); return; }
      announce(done(r.data));
      return refresh(true);
    }).catch(function () { button.disabled = false; });
  }

  $("send-button").addEventListener("click", function () {
    post(urls.send, $("send-button"), function (data) {
      return data.queued ? fill(msgs.queued, { "%n": data.queued }) : msgs.queued_none;
    });
  });
  $("cancel-button").addEventListener("click", function () {
    post(urls.cancel, $("cancel-button"), function (data) {
      return fill(msgs.cancelled, { "%n": data.cancelled });
    });
  });
  $("retry-button").addEventListener("click", function () {
    post(urls.retry, $("retry-button"), function (data) {
      return fill(msgs.retried, { "%n": data.queued });
    });
  });
  $("preview-more").addEventListener("click", function () { loadPreview(true); });
  $("batches-more").addEventListener("click", function () { loadBatches(true); });
  $("undo-confirm").addEventListener("click", confirmUndo);
  $("undo-keep").addEventListener("click", function () { $("undo-dialog").close(); });

  // --- polling ---------------------------------------------------------------------------

  function refresh(force) {
    return get(urls.summary).then(function (data) {
      summary = data;
      $("load-error").hidden = true;
      renderSendBox(data);
      renderProgress(data);
      const sig = JSON.stringify([data.counts, data.preview]);
      if (force || sig !== signature) {
        signature = sig;
        return Promise.all([loadPreview(false), renderGroups(data), loadBatches(false)]);
      }
    }).then(function () {
      root.dataset.state = "ready";
      root.dataset.updated = String(Date.now());
    }).catch(function () {
      $("load-error").hidden = false;
    }).finally(schedule);
  }

  // Every refresh (polled, or after an action) sets the next one: fast while sending.
  function schedule() {
    window.clearTimeout(pollTimer);
    const wait = summary && summary.sending.open > 0 ? FAST_MS : SLOW_MS;
    pollTimer = window.setTimeout(function () {
      if (document.hidden) schedule();
      else refresh(false);
    }, wait);
  }

  refresh(true);
})();
