/**
 * Where `make start`'s view goes. On a terminal: the story (one line per event, oldest first, as many of the
 * latest as fit) above the status area, redrawn every second, nothing wider than 120 columns. With `--no-tty`
 * (or when stdout is not a terminal: logs, CI): each story line printed once as it happens, and one status
 * line every `statusEveryMs`.
 */
import { fit } from './story.ts';

export interface ScreenOut {
  write(s: string): unknown;
  readonly rows?: number;
}

export class LiveScreen {
  private readonly story: string[] = [];
  private lastStatus = -Infinity;

  constructor(
    private readonly out: ScreenOut,
    readonly tty: boolean,
    private readonly statusEveryMs = 5000,
  ) {}

  /** `told`: story lines since the last frame; `status`: the status area; `summary`: its one-line form (plain mode). */
  frame(told: readonly string[], status: readonly string[], summary: string, now = Date.now()): void {
    this.story.push(...told);
    if (this.story.length > 500) this.story.splice(0, this.story.length - 500);
    if (this.tty) {
      const area = status.map((l) => fit(l));
      const room = Math.max(3, (this.out.rows ?? 50) - area.length - 2);
      const head = ['  events', ...this.story.slice(-room).map((l) => fit(`  ${l}`)), ''];
      this.out.write(`\x1b[H\x1b[2J${[...head, ...area].join('\n')}\n`);
      return;
    }
    for (const l of told) this.out.write(`${fit(l)}\n`);
    if (now - this.lastStatus >= this.statusEveryMs) {
      this.lastStatus = now;
      this.out.write(`${fit(`status: ${summary}`)}\n`);
    }
  }
}
