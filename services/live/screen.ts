/**
 * Where `make start`'s view goes. On a terminal: the story (one line per event, oldest first, as many of the
 * latest as fit) above the status area, redrawn every second, nothing wider than the terminal (its current
 * `columns`; 120 when it does not say). With `--no-tty` (or when stdout is not a terminal: logs, CI): each
 * story line printed once as it happens, and one status line every `statusEveryMs`, cut to the terminal's
 * width if there is one, whole otherwise.
 */
import { fit, STATUS_WIDTH } from './story.ts';

export interface ScreenOut {
  write(s: string): unknown;
  readonly rows?: number;
  /** The terminal's width (process.stdout.columns; follows resizes). */
  readonly columns?: number;
}

export class LiveScreen {
  private readonly story: string[] = [];
  private lastStatus = -Infinity;

  constructor(
    private readonly out: ScreenOut,
    readonly tty: boolean,
    private readonly statusEveryMs = 5000,
  ) {}

  /** Columns a line may take: the terminal's; 120 on a terminal that does not say; unlimited without one. */
  width(): number {
    const c = this.out.columns;
    if (c !== undefined && c >= 20) return c;
    return this.tty ? STATUS_WIDTH : Infinity;
  }

  /** `told`: story lines since the last frame; `status`: the status area; `summary`: its one-line form (plain mode). */
  frame(told: readonly string[], status: readonly string[], summary: string, now = Date.now()): void {
    this.story.push(...told);
    if (this.story.length > 500) this.story.splice(0, this.story.length - 500);
    const w = this.width();
    if (this.tty) {
      const area = status.map((l) => fit(l, w));
      const room = Math.max(3, (this.out.rows ?? 50) - area.length - 2);
      const head = ['  events', ...this.story.slice(-room).map((l) => fit(`  ${l}`, w)), ''];
      this.out.write(`\x1b[H\x1b[2J${[...head, ...area].join('\n')}\n`);
      return;
    }
    for (const l of told) this.out.write(`${fit(l, w)}\n`);
    if (now - this.lastStatus >= this.statusEveryMs) {
      this.lastStatus = now;
      this.out.write(`${fit(`status: ${summary}`, w)}\n`);
    }
  }
}
