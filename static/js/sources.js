// Candidate sources on the new-project and settings pages: what each would add, from
// GET /api/sources/preview, shown next to its checkbox before the owner opts in. On the new
// page the item and category come from the form as the person fills it in.
// Text from the wikis is only ever inserted with textContent.
(function () {
  "use strict";
  var box = document.getElementById("sources");
  if (!box) { return; }
  var itemInput = document.getElementById("item");
  var categoryInput = document.getElementById("category");
  var timer = null;
  var controller = null;
  var last = "";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function qid() {
    var text = itemInput ? itemInput.value : box.dataset.item;
    var match = /(?:^|\/|wd:)(Q[1-9][0-9]*)\s*$/i.exec((text || "").trim());
    return match ? match[1].toUpperCase() : "";
  }

  function category() {
    return (categoryInput ? categoryInput.value : box.dataset.category || "").trim();
  }

  function line(kind) { return document.getElementById("source-" + kind); }

  function describe(source, cap) {
    var d = box.dataset;
    var text;
    if (source.kind === "commons_category") {
      if (!source.available) { return d.noCategory; }
      if (source.same_as_project) { return d.sameCategory; }
      return fill(d.categorySize, {name: source.category, files: source.files,
                                   subcats: source.subcats});
    }
    if (source.kind === "search") {
      text = fill(d.searchCount, {count: source.count,
                                  terms: source.terms.map(function (t) { return "“" + t + "”"; })
                                    .join(", ")});
    } else {
      if (!source.available) { return d.noRelated; }
      text = fill(d.relatedCount, {count: source.count, items: source.items.map(function (i) {
        return i.label + " (" + i.files + ")";
      }).join(", ")});
    }
    return source.capped ? text + " " + fill(d.capped, {total: source.total, cap: cap}) : text;
  }

  function show() {
    var item = qid();
    var key = item + "|" + category();
    if (!item || key === last) { return; }
    last = key;
    box.querySelectorAll(".source-count").forEach(function (p) {
      p.textContent = box.dataset.loading;
    });
    if (controller) { controller.abort(); }
    controller = new AbortController();
    var url = "/api/sources/preview?item=" + encodeURIComponent(item) +
      (category() ? "&category=" + encodeURIComponent(category()) : "");
    Likeness.api("GET", url, undefined, {signal: controller.signal}).then(function (r) {
      if (r.status !== 200) {
        box.querySelectorAll(".source-count").forEach(function (p) {
          p.textContent = r.data && r.data.error ? r.data.error.message : box.dataset.unknown;
        });
        return;
      }
      r.data.sources.forEach(function (source) {
        var p = line(source.kind);
        if (p) { p.textContent = describe(source, r.data.cap); }
      });
    }).catch(function () { /* aborted: a newer preview is on its way */ });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(show, 400);
  }

  [itemInput, categoryInput].forEach(function (input) {
    if (input) {
      input.addEventListener("change", soon);
      input.addEventListener("input", soon);
    }
  });
  show();
}());
