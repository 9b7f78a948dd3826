// New project form: item autocomplete (wbsearchentities via /api/items/search), item preview
// (label, description, P18 thumbnail, not-a-human warning) and the category size preview.
// Text from the wikis is only ever inserted with textContent.
(function () {
  "use strict";
  var form = document.getElementById("new-project");
  if (!form) { return; }
  var item = document.getElementById("item");
  var list = document.getElementById("item-suggestions");
  var preview = document.getElementById("item-preview");
  var category = document.getElementById("category");
  var categoryPreview = document.getElementById("category-preview");
  var searchTimer = null;
  var searchController = null;
  var active = -1;

  function getJSON(url, signal) {
    return Likeness.api("GET", url, undefined, {signal: signal});
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function closeList() {
    list.hidden = true;
    list.textContent = "";
    item.setAttribute("aria-expanded", "false");
    item.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(hit) {
    item.value = hit.qid;
    closeList();
    showItem(hit.qid);
    item.dispatchEvent(new Event("change"));  // sources.js shows what each source would add
  }

  function renderHits(hits) {
    list.textContent = "";
    if (!hits.length) { closeList(); return; }
    hits.forEach(function (hit, i) {
      var li = el("li", "suggestion");
      li.id = "item-option-" + i;
      li.setAttribute("role", "option");
      li.appendChild(el("strong", null, hit.label || hit.qid));
      li.appendChild(el("span", "muted", " (" + hit.qid + ") "));
      li.appendChild(el("span", null, hit.description || ""));
      li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(hit); });
      li.hit = hit;
      list.appendChild(li);
    });
    list.hidden = false;
    item.setAttribute("aria-expanded", "true");
  }

  function search() {
    var text = item.value.trim();
    if (text.length < 2 || /^[Qq]\d+$/.test(text) || text.indexOf("wikidata.org") !== -1) {
      closeList();
      if (/^[Qq]\d+$/.test(text)) { showItem(text.toUpperCase()); }
      return;
    }
    if (searchController) { searchController.abort(); }
    searchController = new AbortController();
    getJSON("/api/items/search?q=" + encodeURIComponent(text), searchController.signal)
      .then(function (r) { if (r.status === 200) { renderHits(r.data.items); } })
      .catch(function () { /* aborted or offline: keep typing */ });
  }

  function showItem(qid) {
    preview.textContent = "";
    getJSON("/api/items/" + encodeURIComponent(qid)).then(function (r) {
      preview.textContent = "";
      if (r.status !== 200) {
        preview.appendChild(el("p", "field-error", r.data && r.data.error ? r.data.error.message : ""));
        return;
      }
      var it = r.data.item;
      if (it.image_url) {
        var img = el("img", "item-image");
        img.src = it.image_url;
        img.alt = "";
        preview.appendChild(img);
      }
      preview.appendChild(el("p", "item-label", it.label + " (" + it.qid + ")"));
      preview.appendChild(el("p", "muted", it.description));
      if (!it.is_human) {
        preview.appendChild(el("p", "warning", preview.dataset.notHuman));
      }
    }).catch(function () {});
  }

  function showCategory() {
    var title = category.value.trim();
    categoryPreview.textContent = "";
    if (!title) { return; }
    getJSON("/api/categories/preview?title=" + encodeURIComponent(title)).then(function (r) {
      if (r.status !== 200) {
        categoryPreview.textContent = r.data && r.data.error ? r.data.error.message : "";
        return;
      }
      var c = r.data.category;
      if (c.exists === null) {
        categoryPreview.textContent = categoryPreview.dataset.unknown;
      } else if (!c.exists) {
        categoryPreview.textContent = categoryPreview.dataset.missing;
      } else {
        categoryPreview.textContent = categoryPreview.dataset.size
          .replace("{files}", String(c.files)).replace("{subcats}", String(c.subcats));
      }
    }).catch(function () {});
  }

  item.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  });
  item.addEventListener("keydown", function (event) {
    var options = list.querySelectorAll("li");
    if (list.hidden || !options.length) { return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
      options.forEach(function (o, i) { o.classList.toggle("active", i === active); });
      item.setAttribute("aria-activedescendant", options[active].id);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(options[active].hit);
    } else if (event.key === "Escape") {
      closeList();
    }
  });
  item.addEventListener("blur", function () { setTimeout(closeList, 100); });
  category.addEventListener("change", showCategory);
}());
