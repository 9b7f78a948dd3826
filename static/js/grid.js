/* The grid page of the classify page: "Are these all <person>?" over up to 20 face crops.
 *
 *   LikenessGrid.create(list, msgs) -> grid
 *     grid.show(faces, rejected)  draw the faces (QueuedFace JSON from POST grid/next) as toggle
 *                                 buttons; `rejected` are ids shown already pressed (an undone
 *                                 page comes back as it was sent)
 *     grid.toggle(index)          press or release the face at that position
 *     grid.keyIndex(key)          the position a key toggles (1-9, 0, -, =), or -1
 *     grid.answers()              {confirm: [ids], reject: [ids]}
 *     grid.faces()                the faces shown, in order
 *     grid.keep(ids)              keep only these faces (the others are somebody else's now)
 *
 * A pressed face means "not <person>"; its button says so (aria-pressed and a visible mark).
 * Each button's name is its visible text (its key) plus which file the face is on, so speech
 * input and screen readers name it the same way. classify.js owns the keys and the network.
 */
(function () {
  "use strict";

  const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "-", "="];
  const CROP = 160;

  function create(list, msgs) {
    let shown = [];
    const images = new Map();   // thumb_url -> Image (faces of one photo share it)

    function image(url, onLoad) {
      let img = images.get(url);
      if (!img) {
        img = new Image();
        img.decoding = "async";
        img.src = url;
        images.set(url, img);
        if (images.size > 60) images.delete(images.keys().next().value);
      }
      if (img.complete && img.naturalWidth) onLoad(img);
      else img.addEventListener("load", function () { onLoad(img); }, { once: true });
    }

    function tile(face, index, pressed) {
      const caption = document.createElement("span");
      const key = KEYS[index];
      if (key) {
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        caption.append(kbd);
      }
      const made = Likeness.faceCard(face, CROP, caption, msgs.grid_face
        .replace("%n", String(index + 1)).replace("%f", face.title), msgs.grid_not);
      const button = made.button;
      button.classList.add("grid-face");
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      if (key) button.setAttribute("aria-keyshortcuts", key);
      if (face.thumb_url) {
        image(face.thumb_url, function (img) {
          Likeness.drawCrop(made.canvas, img, face.box, 1.6);
          button.dataset.drawn = "1";
        });
      }
      button.addEventListener("click", function () { toggle(index); });
      return made.li;
    }

    function buttons() { return list.querySelectorAll("button.grid-face"); }

    function show(faces, rejected) {
      const out = new Set(rejected || []);
      shown = faces.slice();
      list.replaceChildren.apply(list, shown.map(function (f, i) {
        return tile(f, i, out.has(f.id));
      }));
    }

    function toggle(index) {
      const button = buttons()[index];
      if (!button) return;
      const pressed = button.getAttribute("aria-pressed") === "true";
      button.setAttribute("aria-pressed", pressed ? "false" : "true");
    }

    function answers() {
      const confirm = [], reject = [];
      buttons().forEach(function (b) {
        (b.getAttribute("aria-pressed") === "true" ? reject : confirm).push(Number(b.dataset.face));
      });
      return { confirm: confirm, reject: reject };
    }

    function keep(ids) {
      const wanted = new Set(ids);
      const rejected = answers().reject;
      show(shown.filter(function (f) { return wanted.has(f.id); }), rejected);
    }

    return {
      show: show, toggle: toggle, answers: answers, keep: keep,
      faces: function () { return shown.slice(); },
      keyIndex: function (key) { return KEYS.indexOf(key); },
    };
  }

  window.LikenessGrid = { create: create, KEYS: KEYS };
}());
