/* Vision Inspector: upload an image to POST /api/v1/inspect/, draw the returned boxes on a canvas,
 * re-filter them with the confidence slider (no new upload), download the annotated JPEG. */
(function () {
  "use strict";
  var root, canvas, ctx, slider, state = { image: null, result: null, name: "image" };

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function showError(message) {
    var box = $("inspect-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function visibleBoxes() {
    var conf = parseFloat(slider.value);
    return state.result.boxes.filter(function (b) { return b.score >= conf; });
  }

  function draw() {
    if (!state.image || !state.result) return;
    var img = state.image, res = state.result;
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    ctx.drawImage(img, 0, 0);
    // Boxes come in original-image pixels; the browser shows the image upright (EXIF) like the server.
    var sx = canvas.width / res.image_width, sy = canvas.height / res.image_height;
    var line = Math.max(2, Math.round(Math.max(canvas.width, canvas.height) / 400));
    var font = Math.max(12, Math.round(Math.max(canvas.width, canvas.height) / 60));
    ctx.font = "600 " + font + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    var boxes = visibleBoxes();
    boxes.forEach(function (b) {
      var x = b.x1 * sx, y = b.y1 * sy, w = (b.x2 - b.x1) * sx, h = (b.y2 - b.y1) * sy;
      var strong = b.score >= res.serving_confidence;
      ctx.lineWidth = line;
      ctx.strokeStyle = strong ? "#10b981" : "#f59e0b";
      ctx.setLineDash(strong ? [] : [line * 3, line * 2]);
      ctx.strokeRect(x, y, w, h);
      var label = b.score.toFixed(2);
      var tw = ctx.measureText(label).width + 8;
      var ty = y - font - 6 < 0 ? y : y - font - 6;
      ctx.setLineDash([]);
      ctx.fillStyle = strong ? "#10b981" : "#f59e0b";
      ctx.fillRect(x, ty, tw, font + 6);
      ctx.fillStyle = "#020617";
      ctx.fillText(label, x + 4, ty + 3);
    });
    $("shown-count").textContent = String(boxes.length);
    canvas.dataset.boxes = String(boxes.length);
    $("conf-value").textContent = parseFloat(slider.value).toFixed(2);
  }

  function showResult(result) {
    state.result = result;
    $("serving-count").textContent = String(result.count);
    $("inference-ms").textContent = result.inference_ms.toFixed(1) + " ms";
    $("image-size").textContent = result.image_width + " × " + result.image_height;
    $("model-label").textContent = result.model_name + " v" + result.model_version + " · " + result.input_size + " px";
    slider.min = String(result.min_confidence);
    slider.value = String(result.serving_confidence);
    slider.disabled = false;
    $("conf-reset").disabled = false;
    $("download").disabled = false;
    $("result-figure").hidden = false;
    draw();
  }

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error("The browser cannot display this file.")); };
      img.src = URL.createObjectURL(file);
    });
  }

  async function inspect(file) {
    showError("");
    state.result = null;
    $("result-figure").hidden = true;
    $("download").disabled = true;
    var max = parseInt(root.dataset.maxBytes, 10);
    if (file.size > max) {
      showError("The file is " + file.size.toLocaleString() + " bytes; the limit is " + max.toLocaleString() + " bytes.");
      return;
    }
    state.name = (file.name || "image").replace(/\.[^.]+$/, "");
    var body = new FormData();
    body.append("image", file);
    $("inspect-busy").hidden = false;
    try {
      var response = await fetch(root.dataset.endpoint, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      });
      var data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (!response.ok) {
        var detail = data && data.detail ? data.detail : "The server answered " + response.status + ".";
        if (response.status === 413) detail = "Too large: " + detail;
        showError(detail);
        return;
      }
      try {
        state.image = await loadImage(file);
      } catch (e) {
        showError(e.message);
        return;
      }
      showResult(data);
    } catch (e) {
      showError("The server could not be reached (" + e.message + ").");
    } finally {
      $("inspect-busy").hidden = true;
    }
  }

  function download() {
    canvas.toBlob(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = state.name + "-annotated.jpg";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    }, "image/jpeg", 0.92);
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("inspector");
    if (!root) return;
    canvas = $("result-canvas");
    ctx = canvas.getContext("2d");
    slider = $("conf-slider");
    var zone = $("dropzone"), input = $("file-input");
    input.addEventListener("change", function () { if (input.files[0]) inspect(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.dataset.over = ""; });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); delete zone.dataset.over; });
    });
    zone.addEventListener("drop", function (e) {
      var file = e.dataTransfer && e.dataTransfer.files[0];
      if (file) inspect(file);
    });
    slider.addEventListener("input", draw);
    $("conf-reset").addEventListener("click", function () {
      if (state.result) { slider.value = String(state.result.serving_confidence); draw(); }
    });
    $("download").addEventListener("click", download);
  });
})();
