/* Drawing a box on an image with the mouse, pen or finger (pointer events).
 *
 * The result is fractions of the image: the displayed image is the natural image scaled
 * uniformly, so a fraction of the displayed size is the same fraction of the natural size (and
 * of any other rendering of that file). There is no pixel space to confuse, by construction.
 *
 *   const drawing = LikenessBoxDraw.start(frame, img, layer, onChange);
 *   drawing.box()   -> {left, top, width, height} in 0..1, or null
 *   drawing.nudge("ArrowLeft", shift, big)   keyboard: move (or with shift resize) the box
 *   drawing.stop()
 */
(function () {
  "use strict";

  function clamp(v) { return Math.min(1, Math.max(0, v)); }

  function fractionsOf(img, clientX, clientY) {
    const rect = img.getBoundingClientRect();
    return {
      x: clamp((clientX - rect.left) / rect.width),
      y: clamp((clientY - rect.top) / rect.height),
    };
  }

  function toBox(a, b) {
    return {
      left: Math.min(a.x, b.x), top: Math.min(a.y, b.y),
      width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y),
    };
  }

  function place(el, box) {
    // CSSOM assignments are allowed by the CSP (it governs style attributes in markup).
    el.style.left = (box.left * 100) + "%";
    el.style.top = (box.top * 100) + "%";
    el.style.width = (box.width * 100) + "%";
    el.style.height = (box.height * 100) + "%";
  }

  function start(img, layer, onChange) {
    let anchor = null;
    let current = null;
    const rectEl = document.createElement("div");
    rectEl.className = "drawn-box";
    rectEl.hidden = true;
    layer.replaceChildren(rectEl);
    layer.hidden = false;

    function down(ev) {
      if (ev.button !== undefined && ev.button !== 0) return;
      ev.preventDefault();
      layer.setPointerCapture(ev.pointerId);
      anchor = fractionsOf(img, ev.clientX, ev.clientY);
      current = toBox(anchor, anchor);
      place(rectEl, current);
      rectEl.hidden = false;
    }
    function move(ev) {
      if (!anchor) return;
      current = toBox(anchor, fractionsOf(img, ev.clientX, ev.clientY));
      place(rectEl, current);
    }
    function up(ev) {
      if (!anchor) return;
      current = toBox(anchor, fractionsOf(img, ev.clientX, ev.clientY));
      place(rectEl, current);
      anchor = null;
      onChange(current);
    }
    layer.addEventListener("pointerdown", down);
    layer.addEventListener("pointermove", move);
    layer.addEventListener("pointerup", up);
    layer.addEventListener("pointercancel", up);

    // Keyboard drawing: arrows move the box (a default one appears at the centre), Shift +
    // arrows resize it; steps are 1 % of the image (Alt: 5 %).
    function nudge(key, shift, big) {
      const step = big ? 0.05 : 0.01;
      if (!current) current = { left: 0.4, top: 0.35, width: 0.2, height: 0.3 };
      const b = Object.assign({}, current);
      const dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
      const dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
      if (shift) {
        b.width = Math.max(0.02, Math.min(1 - b.left, b.width + dx));
        b.height = Math.max(0.02, Math.min(1 - b.top, b.height + dy));
      } else {
        b.left = Math.max(0, Math.min(1 - b.width, b.left + dx));
        b.top = Math.max(0, Math.min(1 - b.height, b.top + dy));
      }
      current = b;
      place(rectEl, current);
      rectEl.hidden = false;
      onChange(current);
    }

    return {
      box: function () { return current; },
      nudge: nudge,
      stop: function () {
        layer.removeEventListener("pointerdown", down);
        layer.removeEventListener("pointermove", move);
        layer.removeEventListener("pointerup", up);
        layer.removeEventListener("pointercancel", up);
        layer.replaceChildren();
        layer.hidden = true;
      },
    };
  }

  window.LikenessBoxDraw = { start: start, place: place };
})();
