/** make start's view: lines as wide as the terminal, and rates that do not count what came before the view. */
import { describe, expect, it } from 'vitest';
import { LiveScreen, type ScreenOut } from './screen.ts';
import { RateMeter } from './view.ts';

function out(columns?: number): ScreenOut & { text: string } {
  const o = { text: '', rows: 40, ...(columns !== undefined ? { columns } : {}), write: (s: string) => ((o.text += s), true) };
  return o;
}
const long = `scorer 1,234 scored ${'x'.repeat(150)} latency p50 3 ms p99 9 ms`;

describe('LiveScreen width', () => {
  it('uses the whole width of a wide terminal: the status line keeps its end (latency p99)', () => {
    const o = out(240);
    new LiveScreen(o, true).frame([], [long], 'summary', 0);
    expect(o.text).toContain('p99 9 ms');
  });

  it('cuts to a narrow terminal and to 120 columns when the terminal does not say', () => {
    const narrow = out(80);
    new LiveScreen(narrow, true).frame([], [long], 'summary', 0);
    const CLEAR = '\u001b[H\u001b[2J';
    expect(narrow.text.split('\n').every((l) => l.replace(CLEAR, '').length <= 80)).toBe(true);
    const unknown = out();
    new LiveScreen(unknown, true).frame([], [long], 'summary', 0);
    expect(unknown.text).toContain('…');
    expect(unknown.text).not.toContain('p99 9 ms');
  });

  it('plain mode without a terminal prints the status line whole', () => {
    const o = out();
    new LiveScreen(o, false).frame([], [], long, 0);
    expect(o.text).toContain('p99 9 ms');
  });
});

describe('RateMeter', () => {
  it('does not count a backlog scored before the view started as the first interval', () => {
    const m = new RateMeter(0, { scored: 143_131, produced: 0 });
    expect(m.next(1000, { scored: 143_131 + 300, produced: 300 })).toEqual({ scored: 300, produced: 300 });
    expect(m.next(3000, { scored: 143_131 + 900, produced: 900 })).toEqual({ scored: 300, produced: 300 });
  });
});
