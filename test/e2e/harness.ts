import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';

/** Screenshots land here; CI keeps the folder as the e2e artifacts. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'e2e');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export interface Served {
  /** The URL `svw serve` printed, token included. */
  url: string;
  origin: string;
  token: string;
  home: string;
  stop(): Promise<void>;
}

/** Starts the built `svw serve` on a free port over a fresh SVW_HOME, empty unless `seed` fills it. */
export async function startServe(seed?: (home: string) => void): Promise<Served> {
  const home = tempDir('svw-e2e-home-');
  seed?.(home.dir);
  const { child, done } = svwSpawn(['serve', '--port', '0', '--backend', 'wasm'], {
    SVW_HOME: home.dir,
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const url = await waitFor(
    () => /https?:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(stdout)?.[0],
    60_000,
    'svw serve to print its URL',
  );
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    home: home.dir,
    async stop() {
      child.kill('SIGTERM');
      await done;
      home.cleanup();
    },
  };
}

/** Debian's headless Chromium through playwright-core (no browser download needed). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** Saves a full-page screenshot as a test artifact. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
