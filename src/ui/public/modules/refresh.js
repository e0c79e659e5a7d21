// The page polls: one round now and every REFRESH_MS while the tab is visible. A hidden tab asks
// nothing and catches up when shown again.

export const REFRESH_MS = 5000;

export class RefreshLoop {
  #busy = false;
  #again = false;

  /** @param {() => Promise<void>} round one refresh of everything on the page */
  constructor(round) {
    this.round = round;
  }

  /** A round now, or, when one is under way, right after it (a selection is drawn at once). */
  async now() {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      await this.round();
    } finally {
      this.#busy = false;
    }
    if (this.#again) {
      this.#again = false;
      void this.now();
    }
  }

  start() {
    const tick = () => {
      const run = document.hidden ? Promise.resolve() : this.now();
      void run.finally(() => setTimeout(tick, REFRESH_MS));
    };
    tick();
  }
}
