/* Keeps the progress panel live: polls the progress API and updates the bars (native
 * <progress> elements), the stop signal, the score histogram (SVG rects) and the 'no worker'
 * banner. */
(function () {
  "use strict";

  const root = document.getElementById("progress");
  if (!root) return;
  const POLL_MS = 5000;
  const SVG = "http://www.w3.org/2000/svg";
  const SERIES = [["positive", "hist-pos"], ["negative", "hist-neg"], ["unlabelled", "hist-unl"]];
  const msgs = JSON.parse(document.getElementById("progress-messages").textContent);

  function update(data) {
    data.bars.forEach(function (bar) {
      const el = document.getElementById("bar-" + bar.key);
      const count = document.getElementById("bar-" + bar.key + "-count");
      if (!el) return;
      el.max = bar.max > 0 ? bar.max : 1;
      el.value = bar.value;
      count.textContent = bar.value + " / " + bar.max;
    });
    document.getElementById("worker-banner").hidden = data.worker.alive;
    updateModel(data.model, data.progress.faces_proposed);
    updateStop(data.stop);
    drawHistogram(data.histogram, data.progress.threshold);
    root.dataset.updated = String(Date.now());
  }

  function updateModel(model, proposed) {
    document.getElementById("model-summary").hidden = !model;
    document.getElementById("model-none").hidden = Boolean(model);
    if (!model) return;
    // A precision estimate means something only when the model proposes faces.
    const estimated = model.precision !== null && proposed > 0;
    document.getElementById("model-estimates").hidden = !estimated;
    document.getElementById("model-no-proposals").hidden = estimated;
    const percent = function (x) { return ((x || 0) * 100).toFixed(1); };
    document.getElementById("model-positives").textContent = model.positives;
    document.getElementById("model-negatives").textContent = model.negatives;
    document.getElementById("model-shared").textContent = model.shared;
    document.getElementById("model-precision").textContent = percent(model.precision);
    document.getElementById("model-recall").textContent = percent(model.recall);
  }

  function updateStop(stop) {
    const box = document.getElementById("stop-signal");
    box.hidden = !stop || stop.uncertain === null;
    if (box.hidden) return;
    const text = Likeness.stopText(stop, msgs);
    const open = document.getElementById("stop-open");
    open.hidden = stop.done;
    open.textContent = text.open;
    document.getElementById("stop-done").hidden = !stop.done;
    document.getElementById("stop-done-text").textContent = text.done;
  }

  function drawHistogram(histogram, threshold) {
    const group = document.getElementById("histogram-bars");
    const rects = [];
    SERIES.forEach(function (pair, row) {
      const counts = histogram[pair[0]];
      const top = Math.max.apply(null, counts) || 1;
      const base = document.createElementNS(SVG, "line");
      base.setAttribute("class", "row-base");
      base.setAttribute("x1", "0");
      base.setAttribute("x2", "400");
      base.setAttribute("y1", String(row * 45 + 40));
      base.setAttribute("y2", String(row * 45 + 40));
      rects.push(base);
      counts.forEach(function (n, i) {
        const h = 38 * n / top;
        const r = document.createElementNS(SVG, "rect");
        r.setAttribute("class", pair[1]);
        r.setAttribute("x", String(i * 20 + 1));
        r.setAttribute("y", String(row * 45 + 40 - h));
        r.setAttribute("width", "18");
        r.setAttribute("height", String(h));
        const title = document.createElementNS(SVG, "title");
        title.textContent = pair[0] + " " + (i / 20).toFixed(2) + "–" +
          ((i + 1) / 20).toFixed(2) + ": " + n;
        r.append(title);
        rects.push(r);
      });
    });
    group.replaceChildren.apply(group, rects);
    const line = document.getElementById("threshold-line");
    line.setAttribute("x1", String(400 * threshold));
    line.setAttribute("x2", String(400 * threshold));
    document.getElementById("threshold-value").textContent = threshold.toFixed(2);
  }

  function poll() {
    if (document.hidden) { window.setTimeout(poll, POLL_MS); return; }
    Likeness.api("GET", root.dataset.url)
      .then(function (r) { return r.ok ? r.data : Promise.reject(r); })
      .then(update)
      .catch(function () { /* try again at the next tick */ })
      .finally(function () { window.setTimeout(poll, POLL_MS); });
  }

  window.setTimeout(poll, POLL_MS);
})();
