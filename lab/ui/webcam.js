// The square camera (see webcam.py): a live camera or a still picture with a crop square that the person drags
// and sizes. In camera mode it takes one snapshot or a burst of them, each the square's pixels as a PNG, and hands
// them to Python in the state "shots" until Python lists their ids in data.acked. Its square is the state "square"
// {x, y, side}, in the picture's own pixels. Every word comes from Python (data.words).

const views = new WeakMap();

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".sq-root");
  let view = views.get(parentElement);
  if (!view) {
    view = createView(data);
    views.set(parentElement, view);
  }
  if (!root.contains(view.element)) {
    root.appendChild(view.element);
    view.resume();
  }
  view.update(data, setStateValue);
  return () => {
    const current = views.get(parentElement);
    if (current) {
      current.destroy();
      views.delete(parentElement);
    }
  };
}

function make(tag, className, parent) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (parent) parent.appendChild(element);
  return element;
}

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function stamp() {
  const now = new Date();
  const two = (n) => String(n).padStart(2, "0");
  const day = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}`;
  const time = `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  const random = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, "0");
  return `${day}-${time}-${random}`;
}

function createView(firstData) {
  const camera = firstData.mode === "camera";
  const element = make("div", "sq");
  const stage = make("div", "stage", element);
  const media = make(camera ? "video" : "img", "media", stage);
  if (camera) {
    media.muted = true;
    media.playsInline = true;
    media.autoplay = true;
  } else {
    media.alt = "";
    media.draggable = false;
  }
  const square = make("div", "square", stage);
  square.tabIndex = 0;
  square.setAttribute("role", "slider");
  const handle = make("div", "handle", square);
  const size = make("span", "size", square);
  const flash = make("div", "flash", stage);
  const bar = make("div", "bar", element);
  const photo = camera ? make("button", "photo", bar) : null;
  const burst = camera ? make("button", "burst", bar) : null;
  const stop = camera ? make("button", "stop", bar) : null;
  const status = make("span", "status", bar);
  const hint = make("div", "hint", element);
  if (stop) stop.hidden = true;

  const state = {
    data: firstData,
    send: null,
    natural: null, // [width, height] of the picture in its own pixels
    box: null, // {x, y, side} in those pixels
    stream: null,
    queue: [], // shots not yet acknowledged by Python
    timers: [],
    bursting: false,
    squareTimer: null,
    destroyed: false,
  };

  function words() {
    return state.data.words || {};
  }

  function minSide() {
    const [w, h] = state.natural;
    return Math.min(state.data.min_side || 32, w, h);
  }

  function clampBox(box) {
    const [w, h] = state.natural;
    const side = Math.max(minSide(), Math.min(Math.round(box.side), w, h));
    const x = Math.max(0, Math.min(Math.round(box.x), w - side));
    const y = Math.max(0, Math.min(Math.round(box.y), h - side));
    return { x, y, side };
  }

  function defaultBox() {
    const [w, h] = state.natural;
    const side = Math.round(Math.min(w, h) * (state.data.fraction || 0.8));
    return { x: Math.round((w - side) / 2), y: Math.round((h - side) / 2), side };
  }

  function usable(box) {
    return box && ["x", "y", "side"].every((k) => Number.isFinite(box[k]));
  }

  function place() {
    if (!state.natural || !state.box) {
      square.hidden = true;
      return;
    }
    square.hidden = false;
    const scale = media.clientWidth / state.natural[0];
    square.style.left = `${state.box.x * scale}px`;
    square.style.top = `${state.box.y * scale}px`;
    square.style.width = square.style.height = `${state.box.side * scale}px`;
    size.textContent = fill(words().size, { side: state.box.side });
    square.setAttribute("aria-label", words().square || "");
    square.setAttribute("aria-valuetext", size.textContent);
    element.dataset.square = `${state.box.x},${state.box.y},${state.box.side}`;
  }

  function known(naturalWidth, naturalHeight) {
    if (!naturalWidth || !naturalHeight) return;
    const changed = !state.natural || state.natural[0] !== naturalWidth || state.natural[1] !== naturalHeight;
    state.natural = [naturalWidth, naturalHeight];
    if (changed || !state.box) {
      state.box = clampBox(usable(state.data.square) ? state.data.square : defaultBox());
      if (!usable(state.data.square)) sendSquare();
    }
    place();
  }

  function sendSquare(delay = 0) {
    clearTimeout(state.squareTimer);
    state.squareTimer = setTimeout(() => {
      if (state.send && state.box && !state.destroyed) state.send("square", { ...state.box });
    }, delay);
  }

  // --- dragging and sizing -----------------------------------------------------------------------------------------
  let drag = null;
  square.addEventListener("pointerdown", (event) => {
    if (!state.box) return;
    event.preventDefault();
    square.focus();
    square.setPointerCapture(event.pointerId);
    drag = { resize: event.target === handle, x: event.clientX, y: event.clientY, box: { ...state.box } };
    square.classList.add("moving");
  });
  square.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const scale = media.clientWidth / state.natural[0];
    const dx = (event.clientX - drag.x) / scale;
    const dy = (event.clientY - drag.y) / scale;
    if (drag.resize) {
      state.box = clampBox({ ...drag.box, side: drag.box.side + Math.max(dx, dy) });
    } else {
      state.box = clampBox({ ...drag.box, x: drag.box.x + dx, y: drag.box.y + dy });
    }
    place();
  });
  const endDrag = () => {
    if (!drag) return;
    drag = null;
    square.classList.remove("moving");
    sendSquare();
  };
  square.addEventListener("pointerup", endDrag);
  square.addEventListener("pointercancel", endDrag);
  square.addEventListener("keydown", (event) => {
    if (!state.box) return;
    const step = Math.max(2, Math.round(Math.min(...state.natural) / 50));
    const moves = { ArrowLeft: [-step, 0, 0], ArrowRight: [step, 0, 0], ArrowUp: [0, -step, 0],
                    ArrowDown: [0, step, 0], "+": [-step / 2, -step / 2, step], "=": [-step / 2, -step / 2, step],
                    "-": [step / 2, step / 2, -step] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    state.box = clampBox({ x: state.box.x + move[0], y: state.box.y + move[1], side: state.box.side + move[2] });
    place();
    sendSquare(400);
  });

  // --- the camera --------------------------------------------------------------------------------------------------
  async function startCamera() {
    hint.textContent = words().starting || "";
    const devices = navigator.mediaDevices;
    if (!devices || !devices.getUserMedia) {
      hint.textContent = words().insecure || "";
      element.dataset.problem = "insecure";
      return;
    }
    try {
      const stream = await devices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } },
                                                  audio: false });
      if (state.destroyed) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      state.stream = stream;
      media.srcObject = stream;
      await media.play().catch(() => {});
    } catch (error) {
      const name = (error && error.name) || "Error";
      const word = name === "NotAllowedError" || name === "SecurityError" ? "denied"
        : name === "NotFoundError" || name === "OverconstrainedError" ? "no_camera" : "failed";
      hint.textContent = fill(words()[word], { error: name });
      element.dataset.problem = word;
    }
  }

  if (camera) {
    media.addEventListener("loadeddata", () => {
      known(media.videoWidth, media.videoHeight);
      element.dataset.ready = "true";
      showHint();
      setButtons();
    });
    media.addEventListener("resize", () => known(media.videoWidth, media.videoHeight));
    startCamera();
  } else {
    media.addEventListener("load", () => {
      const natural = state.data.natural || [media.naturalWidth, media.naturalHeight];
      known(natural[0], natural[1]);
      element.dataset.ready = "true";
    });
  }
  const resizeObserver = new ResizeObserver(() => place());
  resizeObserver.observe(stage);

  function snapshot(target, position) {
    if (!state.box || media.readyState < 2) return null;
    const { x, y, side } = state.box;
    const out = Math.min(side, state.data.max_side || 512);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = out;
    canvas.getContext("2d").drawImage(media, x, y, side, side, 0, 0, out, out);
    flash.classList.remove("on");
    void flash.offsetWidth; // restart the flash animation
    flash.classList.add("on");
    return { id: stamp(), url: canvas.toDataURL("image/png"), side, target, ...position };
  }

  function sendShots() {
    if (state.send) state.send("shots", state.queue.slice());
  }

  function takePhoto() {
    const shot = snapshot(null, {});
    if (!shot) return;
    state.queue.push(shot);
    sendShots();
  }

  function startBurst() {
    const target = state.data.target;
    const total = state.data.burst || 1;
    const every = state.data.interval_ms || 1000;
    if (!target || state.bursting) return;
    state.bursting = true;
    const burstId = stamp();
    let done = 0;
    setButtons();
    const tick = (index) => {
      const shot = snapshot(target, { burst: burstId, index: index + 1, total });
      if (shot) {
        state.queue.push(shot);
        sendShots();
        done += 1;
      }
      status.textContent = fill(words().progress, { done, total });
      if (index + 1 >= total) finishBurst();
    };
    status.textContent = fill(words().progress, { done: 0, total });
    for (let index = 0; index < total; index += 1) {
      state.timers.push(setTimeout(() => tick(index), index * every));
    }
  }

  function finishBurst() {
    state.timers.forEach(clearTimeout);
    state.timers = [];
    state.bursting = false;
    setButtons();
  }

  function setButtons() {
    if (!camera) return;
    const ready = element.dataset.ready === "true";
    const w = words();
    photo.textContent = w.photo || "";
    burst.textContent = w.burst || "";
    stop.textContent = w.stop || "";
    photo.disabled = !ready || state.bursting;
    burst.disabled = !ready || state.bursting || !state.data.target;
    burst.title = state.data.target ? (w.burst_into || "") : (w.needs_target || "");
    stop.hidden = !state.bursting;
  }

  function showHint() {
    if (element.dataset.problem) return;
    hint.textContent = words().help || "";
  }

  if (camera) {
    photo.addEventListener("click", takePhoto);
    burst.addEventListener("click", startBurst);
    stop.addEventListener("click", () => {
      finishBurst();
      status.textContent = "";
    });
  }

  return {
    element,
    resume() {
      if (camera && media.paused && state.stream) media.play().catch(() => {});
    },
    update(data, setStateValue) {
      state.data = data || {};
      state.send = setStateValue;
      if (!camera && media.getAttribute("src") !== state.data.image) {
        media.setAttribute("src", state.data.image || "");
      }
      const acked = new Set(state.data.acked || []);
      state.queue = state.queue.filter((shot) => !acked.has(shot.id)); // the next send leaves them out
      if (state.natural) place();
      setButtons();
      showHint();
    },
    destroy() {
      state.destroyed = true;
      finishBurst();
      clearTimeout(state.squareTimer);
      resizeObserver.disconnect();
      if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
      element.remove();
    },
  };
}
