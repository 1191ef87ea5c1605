// A phone as a camera (dashboard/templates/dashboard/capture.html): the rear camera's picture every
// N seconds, shrunk to at most max-side px, posted to /api/v1/frames/ with the phone's own device key
// and an Idempotency-Key (a retry of the same frame is answered once); back-off while the network is
// down; the screen kept awake where the browser allows (Wake Lock API).
(() => {
  "use strict";
  const root = document.getElementById("capture");
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  const STORE = "inventory-device-key";
  const params = new URLSearchParams(location.search);
  const every = Math.max(2, Number(params.get("every")) || Number(root.dataset.interval) || 10);
  const maxSide = Number(root.dataset.maxSide) || 1920;
  field("every").textContent = every;

  // Freshly paired: keep the key on this phone only, and drop the one-time URL from the history.
  if (root.dataset.key) {
    localStorage.setItem(STORE, JSON.stringify({ key: root.dataset.key, camera: root.dataset.camera }));
    root.dataset.key = "";
    history.replaceState(null, "", root.dataset.captureUrl);
  }
  const saved = JSON.parse(localStorage.getItem(STORE) || "null");
  const say = (text) => { field("message").textContent = text; };
  if (!saved) { say("This phone is not paired: scan a pairing QR code from the dashboard."); field("status").textContent = "not paired"; return; }
  field("camera").textContent = saved.camera;

  let sent = 0, failures = 0, stopped = false, wakeLock = null;
  const video = document.getElementById("preview");
  const canvas = document.createElement("canvas");

  async function keepAwake() {
    try { if ("wakeLock" in navigator && document.visibilityState === "visible") wakeLock = await navigator.wakeLock.request("screen"); }
    catch (e) { /* not allowed here (battery saver, old browser): the page still works */ }
  }
  document.addEventListener("visibilitychange", keepAwake);

  function grab() {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const scale = Math.min(1, maxSide / Math.max(w, h));
    canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  async function post(blob, key) {
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    form.append("captured_at", new Date().toISOString());
    return fetch(root.dataset.framesUrl, { method: "POST", body: form,
      headers: { Authorization: `Bearer ${saved.key}`, "Idempotency-Key": key } });
  }

  async function sendOne() {
    const blob = await grab();
    if (!blob) return every * 1000;
    const key = (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random()}`;
    for (;;) {  // the same frame, the same key, until it is stored or refused for good
      if (stopped) return null;
      let response;
      try { response = await post(blob, key); }
      catch (e) { response = null; }
      if (response && response.status === 201) {
        const body = await response.json();
        failures = 0; sent += 1;
        field("sent").textContent = sent;
        field("count").textContent = body.count;
        field("status").textContent = body.status;
        say(body.fault ? `Cannot count: ${body.fault}` : `Last frame at ${new Date().toLocaleTimeString()}`);
        return every * 1000;
      }
      if (response && response.status === 401) {
        stopped = true; field("status").textContent = "revoked";
        localStorage.removeItem(STORE);
        say("This phone's key was revoked or the camera removed: pair it again with a new QR code.");
        return null;
      }
      if (response && [400, 413, 415, 422].includes(response.status)) {
        const body = await response.json().catch(() => ({}));
        say(`Frame refused: ${body.detail || response.status}`);
        return every * 1000;
      }
      failures += 1;
      const retryAfter = response && Number(response.headers.get("Retry-After"));
      const wait = retryAfter ? retryAfter * 1000 : Math.min(60000, 1000 * 2 ** Math.min(failures, 6));
      say(response ? `Server busy (${response.status}); trying again in ${Math.round(wait / 1000)} s` :
                     `No connection; trying again in ${Math.round(wait / 1000)} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async function loop() {
    const wait = await sendOne();
    if (wait !== null) setTimeout(loop, wait);
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("This browser does not give web pages the camera here: open the page over https:// (see README)."); return;
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 }, height: { ideal: 1080 } } });
    } catch (e) { say(`The camera could not be opened: ${e.name}. Allow it in the browser's settings.`); return; }
    await video.play().catch(() => {});
    await new Promise((r) => (video.videoWidth ? r() : video.addEventListener("loadeddata", r, { once: true })));
    field("status").textContent = "sending";
    keepAwake();
    loop();
  }
  start();
})();
