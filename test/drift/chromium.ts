/**
 * Opens a page in Debian's headless Chromium (`make browser` installs it): the DOM after load, and a
 * screenshot. Asynchronous, so a page served by this same process can answer.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'];

async function chromium(args: string[], timeoutMs = 60_000): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'drift-chromium-'));
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn('chromium', [...FLAGS, `--user-data-dir=${profile}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`chromium did not run (make browser installs it): ${e.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`chromium exited ${code ?? signal}: ${err}`));
      });
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The serialized DOM once the page has loaded and its load handlers ran. */
export function dumpDom(url: string): Promise<string> {
  return chromium(['--virtual-time-budget=5000', '--dump-dom', url]);
}

export async function screenshot(url: string, file: string, size = '1400,4200'): Promise<void> {
  await chromium([`--window-size=${size}`, '--virtual-time-budget=5000', `--screenshot=${file}`, url]);
}
