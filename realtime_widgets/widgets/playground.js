// The playground's view controls (playground.py, FullScreenButton): a "Full screen" toggle that
// makes the whole playground fill the screen (the same DOM, so the microphone, the speaker and
// every other widget keep running; Escape or the button returns), and, once per playground, a
// scroll that brings it into view when it is first shown (Run All leaves the notebook at its
// last cell, below the playground).

/** The synced state (playground.py). @typedef {{ scroll_on_show: boolean }} ViewModel */

const STYLE_ID = "rw-playground-style";
// In full screen the console takes all the height below the connection line; the tabs' panel
// keeps a small padding.
const CSS = `
.rw-playground:fullscreen {
  background: var(--jp-layout-color0, #fff); color: var(--jp-ui-font-color1, #000);
  padding: 6px 10px; box-sizing: border-box; display: flex; flex-direction: column;
  overflow: hidden;
}
.rw-playground:fullscreen > .rw-body { flex: 1 1 0 !important; min-height: 0 !important; }
.rw-playground:fullscreen .rw-console-body { height: 100% !important; }
/* The tabs are short (~142 px at 1366x768): ipywidgets' 15 px padding took a fifth of it. */
.jupyter-widgets.jupyter-widget-tab.rw-tabs > .widget-tab-contents { padding: 3px 2px 2px 6px; }
`;

/** @type {WeakSet<object>} the models whose playground has been scrolled into view */
const SCROLLED = new WeakSet();

function addStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.appendChild(style);
}

/** The nearest ancestor that scrolls vertically (the notebook's scroller in JupyterLab).
 * @param {HTMLElement} node */
export function scrollParent(node) {
  for (let p = node.parentElement; p; p = p.parentElement) {
    const y = getComputedStyle(p).overflowY;
    if ((y === "auto" || y === "scroll") && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
}

/** How far to scroll `scroller` so that a box whose top is at `top` starts at the scroller's
 * top (0 when that top is already in the upper part of the visible area).
 * @param {number} top @param {number} viewTop @param {number} viewHeight */
export function scrollBy(top, viewTop, viewHeight) {
  const offset = top - viewTop;
  return offset >= 0 && offset <= viewHeight / 3 ? 0 : offset;
}

/** Scroll the playground to the top of its scroller once it is in the page with a body (or
 * after ~5 s). @param {() => HTMLElement | null} find */
function scrollIntoViewOnce(find) {
  const started = performance.now();
  const step = () => {
    const playground = find();
    const laidOut = !!playground && playground.getBoundingClientRect().height >= 300;
    if (!laidOut && performance.now() - started < 5000) return void requestAnimationFrame(step);
    if (!playground) return;
    const scroller = scrollParent(playground);
    if (!scroller) return;
    const view = scroller.getBoundingClientRect();
    const by = scrollBy(playground.getBoundingClientRect().top, view.top, scroller.clientHeight);
    if (by) scroller.scrollTop += by;
  };
  requestAnimationFrame(step);
}

/** @param {import("@anywidget/types").RenderProps<ViewModel>} props */
function render({ model, el }) {
  addStyle();
  const button = document.createElement("button");
  button.className = "rw-full-screen jupyter-button";
  button.style.cssText = "white-space:nowrap;font:12px system-ui,sans-serif;padding:2px 8px";
  el.appendChild(button);
  // (looked up when needed: a child view is put in its box after it renders)
  const find = () => /** @type {HTMLElement | null} */ (el.closest(".rw-playground"));
  const full = () => !!document.fullscreenElement && document.fullscreenElement === find();
  const sync = () => {
    button.textContent = full() ? "Exit full screen" : "Full screen";
    button.title = full()
      ? "back to the notebook (Esc)"
      : "fill the screen with the playground (Esc returns)";
    if (!document.fullscreenEnabled) {
      button.disabled = true;
      button.title = "full screen is not allowed in this page (an iframe without allowfullscreen?)";
    }
  };
  sync();
  const onClick = () => {
    const playground = find();
    if (!playground) return;
    if (full()) void document.exitFullscreen();
    else
      playground.requestFullscreen().catch((/** @type {Error} */ err) => {
        button.title = `full screen refused: ${err.message}`;
      });
  };
  // The browser's own Escape leaves full screen; this one covers browsers that hand it to the page.
  const onKey = (/** @type {KeyboardEvent} */ e) => {
    if (e.key === "Escape" && full()) void document.exitFullscreen();
  };
  button.addEventListener("click", onClick);
  document.addEventListener("fullscreenchange", sync);
  document.addEventListener("keydown", onKey, true);
  if (model.get("scroll_on_show") && !SCROLLED.has(model)) {
    SCROLLED.add(model);
    scrollIntoViewOnce(find);
  }
  return () => {
    if (full()) void document.exitFullscreen();
    button.removeEventListener("click", onClick);
    document.removeEventListener("fullscreenchange", sync);
    document.removeEventListener("keydown", onKey, true);
    button.remove();
  };
}

export default { render };
