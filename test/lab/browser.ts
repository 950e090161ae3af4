// A real headless Chromium for the page tests and benches: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download), with a fresh profile and nothing running in the
// background, so it talks to nobody but the page under test. Screenshots are test artefacts:
// written under TANDEM_ARTEFACTS, else the system temp dir's tandem-test-artefacts/ (a lab's own
// temp dir is removed with the lab), and their paths are printed as diagnostics.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Errors the page's scripts threw. */
  errors: string[];
  /** Writes a full-page screenshot; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** The folder of one run's artefacts. */
export async function artefactDir(run: string): Promise<string> {
  const dir = join(process.env.TANDEM_ARTEFACTS ?? join(tmpdir(), 'tandem-test-artefacts'), run);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function openBrowser(run: string, opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'tandem-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const dir = await artefactDir(run);
  return {
    context,
    page,
    errors,
    screenshot: async (name) => {
      const path = join(dir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
